"""E-mail when the mail server or the broker is down: every e-mail arrives once both are
back, none twice, and the outbox shows the retries.

A real worker and beat (`celery -A tests.faults.worker_app`, settings
tests.faults.settings_mail) on a private `redis-server`, sending to a local SMTP server
in this process (tests/faults/smtp.py). The merchant files through the web form and
the technician and merchant work the tickets here, publishing to that Redis. The
production windows (a five-minute SMTP outage, a 30 s sweep, backoff from 30 s, a
worker reconnecting every 5 s) are shortened through the settings production reads:
EMAIL_OUTBOX_SWEEP_SECONDS, ..., BROKER_RECONNECT_SECONDS.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from mail.models import OutboundEmail
from tests.factories import DeviceFactory
from tests.faults.services import CeleryProcess, PrivateRedis, start_together
from tests.faults.smtp import SmtpSink
from tests.integration.conftest import publishing_to
from tests.waiting import wait_until
from tickets import workflow
from tickets.models import Ticket
from tickets.tests.filing_helpers import filing_data

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# The outbox's periods here: a sweep every second (30 s in production), a failed send
# retried after 1 s, then 2 s at most (30 s, 60 s, ... at most an hour).
SWEEP_SECONDS = 1
BACKOFF_BASE_SECONDS = 1
BACKOFF_MAX_SECONDS = 2
# The SMTP outage: five minutes in production (where the old task gave up after about
# 2.5), in which each e-mail is refused four times (at 0, 30, 90 and 210 s). Here it
# lasts until every e-mail has been refused as often, after waits that grew to the
# backoff's ceiling (1, 2, 2 s); FAULTS_SMTP_DOWN_SECONDS makes it last at least that
# many seconds from the first filing.
REFUSALS_WHILE_DOWN = 4
SMTP_DOWN_SECONDS = float(os.environ.get("FAULTS_SMTP_DOWN_SECONDS", "0"))
TICKETS = 20
# After the server or the broker is back: a sweep period plus the longest backoff,
# with room for a loaded machine.
DELIVERED_WITHIN = 45
# A copy sent twice would come from a sweep or from a late task, queued before the
# sweeps: it has had its chance once this many more sweeps have run.
SWEEPS_FOR_A_DUPLICATE = 2


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.stop()


def outbox_env(sink: SmtpSink, **extra: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "tests.faults.settings_mail",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_TIMEOUT": "5",
        "EMAIL_OUTBOX_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "EMAIL_OUTBOX_BACKOFF_BASE_SECONDS": str(BACKOFF_BASE_SECONDS),
        "EMAIL_OUTBOX_BACKOFF_MAX_SECONDS": str(BACKOFF_MAX_SECONDS),
        # A worker and beat that lost the broker try it again every second (5 s).
        "BROKER_RECONNECT_SECONDS": "1",
        **extra,
    }


@pytest.fixture
def merchant(world, settings) -> Client:  # noqa: ANN001
    """Alice, logged in, free to file many tickets: the rate limits are another test's."""
    settings.RATE_LIMIT_FILING = None
    client = Client()
    client.force_login(world.alice)
    return client


def file_tickets(client: Client, world, count: int) -> list[int]:  # noqa: ANN001
    """One ticket per terminal (one open ticket per terminal and fault is the rule)."""
    ids = []
    for n in range(count):
        device = DeviceFactory(
            merchant=world.merchant_a, provider=world.provider_x, acquirer=world.provider_x
        )
        response = client.post("/tickets/new/", filing_data(device, description=f"fault {n}"))
        assert response.status_code == 302, response.content[:500]
        ids.append(Ticket.objects.latest("id").pk)
    return ids


def routed(ids: list[int]) -> bool:
    return Ticket.objects.filter(pk__in=ids, status=Ticket.Status.QUEUED).count() == len(ids)


def not_routed(ids: list[int], worker: CeleryProcess) -> str:
    from django.db import connection

    from portal.celery import app

    tickets = list(Ticket.objects.filter(pk__in=ids).values_list("pk", "status", "created_at"))
    state = (
        f"in_atomic_block={connection.in_atomic_block} autocommit={connection.get_autocommit()}"
        f" eager={app.conf.task_always_eager} broker={app.conf.broker_url}"
    )
    return f"{tickets}\n{state}\n{worker.log()[-3000:]}"


def work(world, ids: list[int]) -> None:  # noqa: ANN001
    """The technician claims and answers each ticket, the merchant answers back."""
    for ticket in Ticket.objects.filter(pk__in=ids).order_by("pk"):
        workflow.claim(ticket, world.xavier)
        workflow.reply(ticket, world.xavier, f"Tech reply on {ticket.reference}")
        workflow.merchant_reply(ticket, world.alice, f"Merchant reply on {ticket.reference}")


def all_sent() -> bool:
    rows = OutboundEmail.objects.all()
    return rows.exists() and not rows.exclude(status=OutboundEmail.Status.SENT).exists()


def sweeps_run(worker: CeleryProcess) -> int:
    """How many outbox sweeps this worker has finished (its log says each one)."""
    return sum(
        1
        for line in worker.log().splitlines()
        if "mail.tasks.sweep_outbox[" in line and " succeeded in " in line
    )


def wait_for_late_copies(worker: CeleryProcess) -> None:
    """Until SWEEPS_FOR_A_DUPLICATE more sweeps have run: then any sweep or task that
    could send an e-mail twice has run (instead of sleeping a few seconds)."""
    target = sweeps_run(worker) + SWEEPS_FOR_A_DUPLICATE
    assert wait_until(lambda: sweeps_run(worker) >= target, timeout=30), worker.log()[-4000:]


def body(message) -> str:  # noqa: ANN001
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""


def assert_each_email_arrived_once(sink: SmtpSink, world, ids: list[int]) -> None:  # noqa: ANN001
    messages = sink.copy()
    # None twice: by Message-ID, and by what it says to whom (a copy with a new
    # Message-ID would be a duplicate as well).
    by_id = sink.message_ids()
    assert max(by_id.values()) == 1, [mid for mid, n in by_id.items() if n > 1]
    by_content = Counter((m["To"], m["Subject"], body(m)) for m in messages)
    assert max(by_content.values()) == 1, [key for key, n in by_content.items() if n > 1]
    # Every one: each ticket's routing (merchant and both technicians), the technician's
    # reply to the merchant and the merchant's reply to the assigned technician.
    for ticket in Ticket.objects.filter(pk__in=ids):
        subjects = {(m["To"], m["Subject"]) for m in messages if ticket.reference in m["Subject"]}
        assert (
            world.alice.email,
            f"[{ticket.reference}] Routed: {ticket.device.model}",
        ) in subjects
        for technician in (world.xavier, world.xena):
            assert any(
                to == technician.email and "A ticket arrived" in subject for to, subject in subjects
            ), (ticket.reference, technician)
        texts = [(m["To"], body(m)) for m in messages if ticket.reference in m["Subject"]]
        assert any(
            to == world.alice.email and f"Tech reply on {ticket.reference}" in text
            for to, text in texts
        ), ticket.reference
        assert any(
            to == world.xavier.email and f"Merchant reply on {ticket.reference}" in text
            for to, text in texts
        ), ticket.reference
    # And the outbox agrees: each row arrived, under its own Message-ID.
    assert set(by_id) == set(OutboundEmail.objects.values_list("message_id", flat=True))


def test_emails_written_while_smtp_refuses_connections_all_arrive_once_it_is_back(
    world,  # noqa: ANN001
    merchant: Client,
    sink: SmtpSink,
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
) -> None:
    env = outbox_env(sink)
    worker, _ = start_together(
        celery_process, ("worker", "beat"), broker_url=private_redis.url, env=env
    )
    # The sink is not started: its port refuses connections.
    outage_started = time.monotonic()
    with publishing_to(private_redis.url):
        ids = file_tickets(merchant, world, TICKETS)
        assert wait_until(lambda: routed(ids), timeout=60), not_routed(ids, worker)
        work(world, ids)

    rows = OutboundEmail.objects.all()
    assert rows.count() >= TICKETS * 5
    # Every e-mail has been tried and refused at least once; none is lost or given up.
    assert wait_until(lambda: not rows.filter(attempts=0).exists(), timeout=60), worker.log()[
        -4000:
    ]
    # The outage goes on until each has been refused as often as in five minutes of
    # production, its backoff grown to the ceiling.
    assert wait_until(
        lambda: not rows.filter(attempts__lt=REFUSALS_WHILE_DOWN).exists(), timeout=60
    ), (Counter(rows.values_list("attempts", flat=True)), worker.log()[-4000:])
    time.sleep(max(0.0, SMTP_DOWN_SECONDS - (time.monotonic() - outage_started)))
    # Waiting (or being tried again right now), none given up.
    assert not rows.filter(status__in=["sent", "failed"]).exists()
    assert sink.count() == 0

    sink.start()
    back = time.monotonic()
    assert wait_until(all_sent, timeout=DELIVERED_WITHIN), (
        Counter(rows.values_list("status", flat=True)),
        worker.log()[-4000:],
    )
    print(
        f"all {rows.count()} e-mails delivered {time.monotonic() - back:.1f} s after SMTP is back"
    )
    wait_for_late_copies(worker)  # a duplicate would come now: a sweep or a late task

    assert sink.count() == rows.count()
    assert_each_email_arrived_once(sink, world, ids)
    # The outbox shows the retries.
    assert not rows.filter(attempts__lt=2).exists()
    assert all(
        "ConnectionRefusedError" in error for error in rows.values_list("last_error", flat=True)
    )


def test_emails_of_events_while_the_broker_is_down_are_all_sent_once_it_is_back(
    world,  # noqa: ANN001
    merchant: Client,
    sink: SmtpSink,
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
) -> None:
    sink.start()
    env = outbox_env(sink)
    worker, _ = start_together(
        celery_process, ("worker", "beat"), broker_url=private_redis.url, env=env
    )
    with publishing_to(private_redis.url):
        ids = file_tickets(merchant, world, 5)
        assert wait_until(lambda: routed(ids), timeout=60), not_routed(ids, worker)
        assert wait_until(all_sent, timeout=DELIVERED_WITHIN), worker.log()[-4000:]
        before = sink.count()

        private_redis.stop()
        work(world, ids)  # saved, e-mails written; no task can be queued for them
        waiting = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING)
        assert waiting.count() >= 5 * 2
        time.sleep(2 * SWEEP_SECONDS)  # two sweeps' time
        assert sink.count() == before  # nothing could send them meanwhile

        private_redis.start()
        back = time.monotonic()
        assert wait_until(all_sent, timeout=DELIVERED_WITHIN), worker.log()[-4000:]
        print(f"sent {time.monotonic() - back:.1f} s after the broker is back")
    wait_for_late_copies(worker)  # a duplicate would come now

    assert sink.count() == OutboundEmail.objects.count()
    assert_each_email_arrived_once(sink, world, ids)


def test_a_worker_killed_after_the_data_sends_one_copy_the_admin_can_see(
    world,  # noqa: ANN001
    sink: SmtpSink,
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
) -> None:
    """The mail server has the message, the worker dies before its answer: the row is
    sent again once its lease ends, once, with the same Message-ID and two attempts."""
    from tests.factories import queued_ticket

    sink.hold_replies = 60  # keeps the message, answers a minute later
    sink.start()
    env = outbox_env(sink, EMAIL_TIMEOUT="90", EMAIL_OUTBOX_LEASE_SECONDS="5")
    doomed = celery_process("worker", broker_url=private_redis.url, env=env)
    ticket = queued_ticket(world.device_a)
    with publishing_to(private_redis.url):
        workflow.reply(ticket, world.xavier, "Please restart it once more.")
    assert sink.received.wait(timeout=30), doomed.log()[-4000:]
    doomed.kill()
    sink.hold_replies = 0
    [row] = OutboundEmail.objects.all()
    assert row.status == OutboundEmail.Status.SENDING

    survivor, _ = start_together(
        celery_process, ("worker", "beat"), broker_url=private_redis.url, env=env
    )
    assert wait_until(all_sent, timeout=DELIVERED_WITHIN), survivor.log()[-4000:]
    wait_for_late_copies(survivor)  # a third copy would come now

    row.refresh_from_db()
    assert row.attempts == 2
    assert "stopped before recording" in row.last_error
    assert sink.message_ids() == Counter({row.message_id: 2})
