"""The outbox's sending: claims, one connection per batch, backoff, giving up, and the
copies a dead worker can leave (at most one, visible)."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import IntegrityError, connection, connections, transaction
from django.test import TestCase
from django.utils import timezone
from kombu.exceptions import OperationalError

from mail import services
from mail.models import OutboundEmail, message_id_for
from mail.tests.helpers import CountingBackend, backend, email

pytestmark = pytest.mark.django_db

Status = OutboundEmail.Status


def unsaved(key: str = "k:1") -> OutboundEmail:
    return services.new_email(key=key, kind="t", recipient="a@example.com", subject="S", text="T")


def fresh(row: OutboundEmail) -> OutboundEmail:
    row.refresh_from_db()
    return row


@pytest.fixture(autouse=True)
def _backoff(settings) -> None:  # noqa: ANN001
    settings.EMAIL_OUTBOX_BACKOFF_BASE_SECONDS = 30
    settings.EMAIL_OUTBOX_BACKOFF_MAX_SECONDS = 3600
    settings.EMAIL_OUTBOX_GIVE_UP = timedelta(hours=24)
    settings.EMAIL_OUTBOX_LEASE_SECONDS = 180


# Writing ------------------------------------------------------------------------------------


def test_queue_writes_the_rows_and_sends_them_after_the_commit(world) -> None:  # noqa: ANN001
    rows = [unsaved()]
    with TestCase.captureOnCommitCallbacks(execute=True):
        [pk] = services.queue(rows)
        assert mail.outbox == []  # not before the commit
    [message] = mail.outbox
    assert message.to == ["a@example.com"]
    row = OutboundEmail.objects.get(pk=pk)
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert row.sent_at is not None


def test_a_rolled_back_transaction_leaves_no_row_and_sends_nothing(db) -> None:  # noqa: ANN001
    def write_then_fail() -> None:
        with transaction.atomic():
            services.queue([unsaved()])
            raise RuntimeError("rolled back")

    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            write_then_fail()
    assert callbacks == []
    assert not OutboundEmail.objects.exists()
    assert mail.outbox == []


def test_a_broker_outage_leaves_the_rows_for_the_sweep(db, caplog) -> None:  # noqa: ANN001
    rows = [unsaved()]
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        mock.patch("mail.tasks.send_emails.apply_async", side_effect=refused),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        services.queue(rows)
    assert mail.outbox == []
    assert OutboundEmail.objects.get().status == Status.PENDING
    # No error and no traceback: the outage is expected, nothing is lost, and it is
    # logged once per outage by portal.broker (tested there), not once per e-mail.
    assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]

    assert services.sweep() == {"sent": 1, "retrying": 0, "failed": 0}
    assert len(mail.outbox) == 1


def test_one_row_per_idempotency_key(db) -> None:  # noqa: ANN001
    email(key="event:1:2")
    with pytest.raises(IntegrityError), transaction.atomic():
        email(key="event:1:2")


def test_the_message_id_comes_from_the_key(settings) -> None:  # noqa: ANN001
    settings.DEFAULT_FROM_EMAIL = "PosDesk <noreply@posdesk.example.cn>"
    first = message_id_for("event:1:2")
    assert first == message_id_for("event:1:2")
    assert first != message_id_for("event:1:3")
    assert first.startswith("<")
    assert first.endswith("@posdesk.example.cn>")


def test_every_attempt_carries_the_rows_message_id(db) -> None:  # noqa: ANN001
    row = email()
    services.deliver([row.pk])
    [message] = mail.outbox
    assert message.message()["Message-ID"] == row.message_id
    assert message.alternatives[0].content == row.html


# Claiming -----------------------------------------------------------------------------------


def test_a_claimed_row_is_not_claimed_again(db) -> None:  # noqa: ANN001
    rows = [email() for _ in range(3)]
    now = timezone.now()
    first = services.claim(now, limit=2)
    second = services.claim(now, limit=10)
    assert len(first) == 2
    assert [row.pk for row in second] == [rows[2].pk]
    assert services.claim(now, limit=10) == []
    assert all(row.status == Status.SENDING and row.attempts == 1 for row in first + second)


def test_a_claim_of_given_ids_takes_only_those(db) -> None:  # noqa: ANN001
    wanted, other = email(), email()
    assert [row.pk for row in services.claim(timezone.now(), ids=[wanted.pk], limit=5)] == [
        wanted.pk
    ]
    assert fresh(other).status == Status.PENDING


def test_a_row_not_yet_due_is_not_claimed(db) -> None:  # noqa: ANN001
    now = timezone.now()
    email(next_attempt_at=now + timedelta(seconds=30))
    email(status=Status.SENT, sent_at=now)
    email(status=Status.FAILED)
    assert services.claim(now, limit=10) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_workers_sending_at_once_send_each_email_once(settings) -> None:  # noqa: ANN001
    """Four sweeps at the same time over 120 rows: each row sent by exactly one."""
    settings.EMAIL_OUTBOX_BACKOFF_BASE_SECONDS = 30
    rows = [email() for _ in range(120)]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            start.wait(timeout=10)
            while services.deliver(limit=7).claimed:
                pass
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    sent_ids = sorted(message.extra_headers["Message-ID"] for message in mail.outbox)
    assert sent_ids == sorted(row.message_id for row in rows)
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


# Sending ------------------------------------------------------------------------------------


def test_a_batch_is_sent_over_one_connection(db, settings) -> None:  # noqa: ANN001
    settings.MAILERS = backend("CountingBackend")
    CountingBackend.opened = 0
    for _ in range(5):
        email()
    result = services.deliver()
    assert (result.claimed, result.sent) == (5, 5)
    assert CountingBackend.opened == 1
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_refused_connection_is_retried_with_backoff(db, settings) -> None:  # noqa: ANN001
    settings.MAILERS = backend("RefusedBackend")
    row = email()
    t0 = timezone.now()

    result = services.deliver(now=t0)

    assert (result.sent, result.retrying) == (0, 1)
    assert "Connection refused" in result.server_error
    fresh(row)
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert row.first_failure_at == t0
    assert row.next_attempt_at == t0 + timedelta(seconds=30)
    assert "ConnectionRefusedError" in row.last_error

    # Not due before its time; then twice as long each time.
    assert services.deliver(now=t0 + timedelta(seconds=29)).claimed == 0
    services.deliver(now=t0 + timedelta(seconds=30))
    fresh(row)
    assert row.attempts == 2
    assert row.next_attempt_at == t0 + timedelta(seconds=30 + 60)
    assert row.first_failure_at == t0  # failing since the first failure

    settings.MAILERS = backend("CountingBackend")
    services.deliver(now=row.next_attempt_at)
    fresh(row)
    assert (row.status, row.attempts) == (Status.SENT, 3)
    assert len(mail.outbox) == 1


def test_the_backoff_doubles_up_to_its_maximum(settings) -> None:  # noqa: ANN001
    settings.EMAIL_OUTBOX_BACKOFF_BASE_SECONDS = 30
    settings.EMAIL_OUTBOX_BACKOFF_MAX_SECONDS = 3600
    waits = [services.backoff(n).total_seconds() for n in (1, 2, 3, 4, 8, 9, 500)]
    assert waits == [30, 60, 120, 240, 3600, 3600, 3600]


def test_it_gives_up_after_failing_for_the_give_up_period(db, settings) -> None:  # noqa: ANN001
    settings.MAILERS = backend("RefusedBackend")
    settings.EMAIL_OUTBOX_GIVE_UP = timedelta(hours=24)
    row = email()
    t0 = timezone.now()
    services.deliver(now=t0)
    services.deliver(now=t0 + timedelta(hours=23, minutes=59))
    assert fresh(row).status == Status.PENDING

    services.deliver(now=t0 + timedelta(hours=24))

    fresh(row)
    assert (row.status, row.attempts) == (Status.FAILED, 3)
    assert "Connection refused" in row.last_error
    # Kept for the admin, and never tried again by the sweep.
    settings.MAILERS = backend("CountingBackend")
    assert services.sweep(now=t0 + timedelta(days=3))["sent"] == 0
    assert fresh(row).status == Status.FAILED


def test_a_refused_address_fails_at_once_and_the_batch_goes_on(db, settings) -> None:  # noqa: ANN001
    settings.MAILERS = backend("RefusesSomeBackend")
    nobody = email(recipient="nobody@example.com")
    busy = email(recipient="busy@example.com")
    fine = email(recipient="fine@example.com")

    result = services.deliver()

    assert (result.sent, result.retrying, result.failed) == (1, 1, 1)
    assert fresh(nobody).status == Status.FAILED
    assert "No such user" in nobody.last_error
    assert fresh(busy).status == Status.PENDING  # 4xx: try again later
    assert fresh(fine).status == Status.SENT
    assert [m.to for m in mail.outbox] == [["fine@example.com"]]


def test_a_connection_lost_mid_batch_keeps_what_was_sent(db, settings) -> None:  # noqa: ANN001
    settings.MAILERS = backend("DropsAfterOneBackend")
    first, second, third = email(), email(), email()

    result = services.deliver()

    assert (result.sent, result.retrying) == (1, 2)
    assert fresh(first).status == Status.SENT
    assert fresh(second).status == fresh(third).status == Status.PENDING
    assert "SMTPServerDisconnected" in second.last_error


def test_a_task_cut_short_gives_back_what_it_never_tried(db) -> None:  # noqa: ANN001
    first, second, third = email(), email(), email()
    calls = {"n": 0}
    real = LocmemBackend.send_messages

    def slow(self, messages):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise SoftTimeLimitExceeded()
        return real(self, messages)

    with (
        mock.patch.object(LocmemBackend, "send_messages", slow),
        pytest.raises(SoftTimeLimitExceeded),
    ):
        services.deliver()

    assert fresh(first).status == Status.SENT
    # In flight: it may have arrived. Its lease brings it back.
    assert (fresh(second).status, second.attempts) == (Status.SENDING, 1)
    # Never tried: waiting again at once, the attempt not counted.
    assert (fresh(third).status, third.attempts) == (Status.PENDING, 0)


def test_a_worker_killed_after_the_data_sends_one_copy_that_the_admin_sees(db) -> None:  # noqa: ANN001
    """The worker claimed the row and the server took the message, then the worker died
    before recording it. After its lease the row is sent once more, with the same
    Message-ID, and shows two attempts."""
    row = email()
    t0 = timezone.now()
    [claimed] = services.claim(t0, limit=1)
    claimed.as_message().send()  # the message the dead worker got out

    assert services.sweep(now=t0 + timedelta(seconds=179))["sent"] == 0  # its lease holds
    assert services.sweep(now=t0 + timedelta(seconds=180))["sent"] == 1
    assert services.sweep(now=t0 + timedelta(seconds=600))["sent"] == 0

    fresh(row)
    assert (row.status, row.attempts) == (Status.SENT, 2)
    assert row.last_error == services.LOST_WORKER
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [row.message_id] * 2


def test_a_row_that_keeps_killing_workers_is_given_up(db) -> None:  # noqa: ANN001
    row = email()
    t0 = timezone.now()
    services.claim(t0, limit=1)
    services.claim(t0 + timedelta(seconds=180), limit=1)  # taken back once: failing since
    assert fresh(row).first_failure_at == t0 + timedelta(seconds=180)

    services.sweep(now=t0 + timedelta(hours=25))

    assert fresh(row).status == Status.FAILED


# The sweep ----------------------------------------------------------------------------------


def test_the_sweep_sends_batch_after_batch(db, settings) -> None:  # noqa: ANN001
    settings.MAILERS = backend("CountingBackend")
    CountingBackend.opened = 0
    for _ in range(services.BATCH_SIZE * 2 + 3):
        email()
    assert services.sweep()["sent"] == services.BATCH_SIZE * 2 + 3
    assert CountingBackend.opened == 3


def test_the_sweep_stops_at_a_server_that_is_down(db, settings) -> None:  # noqa: ANN001
    settings.MAILERS = backend("RefusedBackend")
    for _ in range(services.BATCH_SIZE + 10):
        email()
    assert services.sweep() == {"sent": 0, "retrying": services.BATCH_SIZE, "failed": 0}
    assert OutboundEmail.objects.filter(attempts=0).count() == 10


def test_the_sweep_stops_when_its_time_is_up(db, settings) -> None:  # noqa: ANN001
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 90
    for _ in range(services.BATCH_SIZE + 1):
        email()
    ticks = iter([0, 0, 46])  # started, first batch, second batch: past half the limit
    assert services.sweep(clock=lambda: next(ticks))["sent"] == services.BATCH_SIZE
    assert OutboundEmail.objects.filter(status=Status.PENDING).count() == 1
