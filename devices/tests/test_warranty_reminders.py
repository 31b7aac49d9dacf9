"""Warranty-expiry reminders: each shop hears once, before a terminal's warranty ends.

The e-mails go through the outbox: `run` lets the commit send them (Celery is eager)
and the tests read what arrived in `mail.outbox`."""

from __future__ import annotations

import smtplib
import threading
from datetime import date, timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import IntegrityError, connection, connections, transaction
from django.test import TestCase
from django.utils import timezone, translation

from conftest import World
from devices import tasks
from devices.models import Device, Merchant, WarrantyReminder
from devices.reminders import send_warranty_reminders
from mail import services as outbox
from mail.models import OutboundEmail
from tests.factories import DeviceFactory, MerchantFactory, UserFactory, member_of

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def terminal(merchant: Merchant, *, ends_in: int | None, **fields: object) -> Device:
    """A terminal of `merchant` whose warranty ends `ends_in` days from TODAY."""
    fields.setdefault("purchase_date", TODAY - timedelta(days=400))
    return DeviceFactory(
        merchant=merchant,
        warranty_end=None if ends_in is None else TODAY + timedelta(days=ends_in),
        **fields,
    )


def run(today: date = TODAY) -> int:
    """One daily run, its transactions committed (and so its e-mails sent)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return send_warranty_reminders(today=today)


def mails_to(user: object) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if message.to == [user.email]]


class RefusingBackend(EmailBackend):
    """A mail server that refuses bob's address and takes everyone else's."""

    refused = {"bob@example.com"}

    def send_messages(self, messages: list[mail.EmailMessage]) -> int:
        for message in messages:
            if set(message.to) & self.refused:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"No such user")})
        return super().send_messages(messages)


class DownBackend(EmailBackend):
    def send_messages(self, messages: list[mail.EmailMessage]) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_it_reminds_a_shop_once(world: World) -> None:
    terminal(world.merchant_a, ends_in=20)

    assert run() == 1
    assert run() == 0
    assert run(TODAY + timedelta(days=1)) == 0

    assert len(mail.outbox) == 1
    assert WarrantyReminder.objects.count() == 1


def test_it_sends_one_email_per_shop_listing_only_its_due_terminals(world: World) -> None:
    terminal(world.merchant_a, ends_in=3, serial_number="A-SOON")
    terminal(world.merchant_a, ends_in=30, serial_number="A-LATER")
    terminal(world.merchant_b, ends_in=3, serial_number="B-SOON")

    assert run() == 2

    [to_alice] = mails_to(world.alice)
    assert "A-SOON" in to_alice.body
    assert "A-LATER" in to_alice.body
    assert "B-SOON" not in to_alice.body
    # Merchant A's terminal of the shared world ends in 265 days: not yet.
    assert world.device_a.serial_number not in to_alice.body
    [to_bob] = mails_to(world.bob)
    assert "B-SOON" in to_bob.body
    assert "A-SOON" not in to_bob.body


def test_it_mails_the_shops_active_members_with_an_address_only(world: World) -> None:
    colleague = member_of(UserFactory(username="alice2"), merchant=world.merchant_a)
    member_of(UserFactory(username="gone", is_active=False), merchant=world.merchant_a)
    member_of(UserFactory(username="noaddress", email=""), merchant=world.merchant_a)
    terminal(world.merchant_a, ends_in=20, provider=world.provider_x)

    assert run() == 2

    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.alice.email, colleague.email])


VOID = {"warranty_void": True, "warranty_void_reason": "Liquid damage", "warranty_voided_on": TODAY}
REJECTED = {"warranty_check": "rejected", "warranty_check_note": "Receipt of another terminal"}


@pytest.mark.parametrize(
    ("ends_in", "fields", "due"),
    [
        pytest.param(0, {}, True, id="ends-today"),
        pytest.param(30, {}, True, id="ends-in-30-days"),
        pytest.param(12, {}, True, id="window-entered-days-ago"),
        pytest.param(31, {}, False, id="ends-in-31-days"),
        pytest.param(-1, {}, False, id="ended-yesterday"),
        pytest.param(None, {"purchase_date": None}, False, id="no-warranty-data"),
        pytest.param(12, {"status": Device.Status.IN_REPAIR}, True, id="in-repair"),
        pytest.param(12, {"status": Device.Status.RETIRED}, False, id="retired"),
        pytest.param(12, {"status": Device.Status.REPLACED}, False, id="replaced"),
        pytest.param(12, VOID, False, id="void"),
        pytest.param(12, REJECTED, False, id="claim-rejected"),
        pytest.param(12, {"warranty_check": "claimed"}, True, id="claimed"),
    ],
)
def test_it_reminds_only_terminals_whose_warranty_ends_soon(
    world: World, ends_in: int | None, fields: dict, due: bool
) -> None:
    device = terminal(world.merchant_a, ends_in=ends_in, **fields)

    assert run() == int(due)

    assert WarrantyReminder.objects.filter(device=device).exists() is due


def test_the_window_follows_the_setting(world: World, settings) -> None:  # noqa: ANN001
    settings.WARRANTY_REMINDER_DAYS = 7
    terminal(world.merchant_a, ends_in=8)

    assert run() == 0
    assert run(TODAY + timedelta(days=1)) == 1


def test_an_extended_warranty_gets_a_reminder_for_its_new_end(world: World) -> None:
    device = terminal(world.merchant_a, ends_in=10)
    assert run() == 1

    device.warranty_end = TODAY + timedelta(days=100)
    device.save()
    assert run() == 0
    # Thirty days before the new end, the shop hears again.
    assert run(TODAY + timedelta(days=70)) == 1

    assert len(mails_to(world.alice)) == 2
    assert set(device.warranty_reminders.values_list("warranty_end", flat=True)) == {
        TODAY + timedelta(days=10),
        TODAY + timedelta(days=100),
    }


def test_a_failed_send_is_retried_by_the_outbox_not_by_the_next_run(
    world: World,
    settings,  # noqa: ANN001
) -> None:
    terminal(world.merchant_a, ends_in=20)
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.DownBackend"}}

    assert run() == 1
    [email] = OutboundEmail.objects.all()
    assert email.status == OutboundEmail.Status.PENDING
    assert email.attempts == 1
    assert mail.outbox == []

    settings.MAILERS = LOCMEM
    assert run(TODAY + timedelta(days=1)) == 0  # recorded: the next run writes none
    assert outbox.sweep(now=email.next_attempt_at)["sent"] == 1
    assert len(mails_to(world.alice)) == 1


def test_one_shops_refused_address_does_not_keep_the_others_waiting(
    world: World,
    settings,  # noqa: ANN001
) -> None:
    terminal(world.merchant_a, ends_in=20)
    terminal(world.merchant_b, ends_in=20)
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingBackend"}}

    assert run() == 2

    assert len(mails_to(world.alice)) == 1
    # No such mailbox: failed at once, for an admin to see, not retried for a day.
    refused = OutboundEmail.objects.get(recipient=world.bob.email)
    assert refused.status == OutboundEmail.Status.FAILED
    assert "No such user" in refused.last_error


def test_a_shop_with_no_one_to_tell_is_reminded_once_someone_joins(world: World) -> None:
    shop = MerchantFactory(name="Shop C")
    terminal(shop, ends_in=20)
    assert run() == 0
    assert not WarrantyReminder.objects.exists()

    carol = member_of(UserFactory(username="carol"), merchant=shop)
    assert run(TODAY + timedelta(days=1)) == 1
    assert len(mails_to(carol)) == 1


def test_the_email_names_the_terminals_their_end_date_and_what_changes(world: World) -> None:
    device = terminal(world.merchant_a, ends_in=20, provider=world.provider_x, location="Till 2")
    end = device.warranty_end.isoformat()

    run()

    [message] = mails_to(world.alice)
    assert end in message.subject
    assert "Shop A" in message.subject
    assert message.body.startswith("Hello alice,")
    link = f"http://127.0.0.1:8000/devices/{device.pk}/"
    html = message.alternatives[0].content
    for part in (message.body, html):
        assert str(device.model) in part  # brand and model
        assert device.serial_number in part
        assert "Till 2" in part
        assert end in part
        assert link in part
        assert "Provider X" in part
        assert "400-800-0000" in part
        assert "first sends you a quote" in part
        assert "warranty can be extended" in part
    assert f'<a href="{link}">' in html
    assert "http://127.0.0.1:8000/devices/" in message.body


def test_the_email_is_written_in_the_sites_language(world: World) -> None:
    terminal(world.merchant_a, ends_in=20)

    # The worker thread may have another language active (a Chinese request before).
    with translation.override("zh-hans"):
        run()

    [message] = mails_to(world.alice)
    assert message.body.startswith("Hello alice,")


def test_a_terminal_has_one_reminder_per_end_date(world: World) -> None:
    end = TODAY + timedelta(days=20)
    WarrantyReminder.objects.create(
        device=world.device_a, warranty_end=end, merchant=world.merchant_a
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        WarrantyReminder.objects.create(
            device=world.device_a, warranty_end=end, merchant=world.merchant_a
        )
    WarrantyReminder.objects.create(
        device=world.device_a, warranty_end=end + timedelta(days=365), merchant=world.merchant_a
    )


def test_the_beat_runs_the_task_daily_on_the_email_queue(world: World) -> None:
    [entry] = [
        entry
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == tasks.send_warranty_reminders.name
    ]
    assert entry["schedule"] == timedelta(days=1)
    assert django_settings.CELERY_TASK_ROUTES[tasks.send_warranty_reminders.name] == {
        "queue": "email"
    }
    terminal(world.merchant_a, ends_in=20)

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert tasks.send_warranty_reminders.apply().get() == 1
    assert len(mails_to(world.alice)) == 1


def test_the_email_has_one_idempotency_key_per_shop_end_date_and_recipient(world: World) -> None:
    colleague = member_of(UserFactory(username="alice2"), merchant=world.merchant_a)
    device = terminal(world.merchant_a, ends_in=20)
    run()
    # A terminal registered later with the same end date gets its own e-mail.
    terminal(world.merchant_a, ends_in=20)
    run()

    keys = sorted(OutboundEmail.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 4
    prefix = f"warranty-reminder:{world.merchant_a.pk}:{device.warranty_end}:"
    assert all(key.startswith(prefix) for key in keys)
    assert {key.rsplit(":", 1)[1] for key in keys} == {str(world.alice.pk), str(colleague.pk)}
    assert len(mail.outbox) == 4


# Two beat runs at once ---------------------------------------------------------------


class Stall:
    """Holds the first run inside its transaction (the shop locked), its e-mails being
    written to the outbox."""

    writing = threading.Event()
    release = threading.Event()
    real_queue = staticmethod(outbox.queue)

    @classmethod
    def queue(cls, emails: list[OutboundEmail]) -> list[int]:
        cls.writing.set()
        cls.release.wait(timeout=5)
        return cls.real_queue(emails)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_email(world: World, monkeypatch) -> None:  # noqa: ANN001
    terminal(world.merchant_a, ends_in=20)
    monkeypatch.setattr(outbox, "queue", Stall.queue)
    Stall.writing.clear()
    Stall.release.clear()
    results: dict[str, object] = {}

    def first_run() -> None:
        try:
            results["first"] = send_warranty_reminders(today=TODAY)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results["first"] = error
        finally:
            connections.close_all()  # this thread's connection, not the test's

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert Stall.writing.wait(timeout=10)
        results["second"] = send_warranty_reminders(today=TODAY)
    finally:
        Stall.release.set()
        thread.join(timeout=30)

    assert results == {"first": 1, "second": 0}
    assert len(mail.outbox) == 1
    assert WarrantyReminder.objects.count() == 1
    assert OutboundEmail.objects.get().status == OutboundEmail.Status.SENT
