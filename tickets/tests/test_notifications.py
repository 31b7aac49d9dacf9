"""E-mail about ticket events: who hears of what, and internal notes never reach a merchant.

The e-mails are outbox rows written with the event; `run_on_commit` lets the commit
send them (Celery is eager), and the tests read what arrived in `mail.outbox`."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core import mail
from kombu.exceptions import OperationalError

from devices.models import Membership
from mail import services as outbox
from mail.models import OutboundEmail
from tests.factories import ProviderFactory, TicketFactory, UserFactory, member_of, queued_ticket
from tickets import notifications, routing, services, workflow
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):  # noqa: ANN001, ANN201
    """Run what announce_event schedules, as a real commit would (Celery is eager)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _recipients() -> set[str]:
    return {address for message in mail.outbox for address in message.to}


def test_routed_mails_the_merchant_and_the_providers_technicians(world, run_on_commit) -> None:
    colleague = member_of(UserFactory(username="alice2"), merchant=world.merchant_a)
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    with run_on_commit():
        routing.route(ticket.pk)
    assert _recipients() == {
        world.alice.email,
        colleague.email,
        world.xavier.email,
        world.xena.email,
    }
    # One e-mail per person: no one sees another's address.
    assert all(len(message.to) == 1 for message in mail.outbox)
    merchant_mail = next(m for m in mail.outbox if m.to == [world.alice.email])
    ticket.refresh_from_db()
    assert ticket.reference in merchant_mail.subject
    assert ticket.routing_note in merchant_mail.body
    assert f"http://127.0.0.1:8000/tickets/{ticket.reference}/" in merchant_mail.body
    html = merchant_mail.alternatives[0]
    assert html[1] == "text/html"
    assert ticket.reference in html[0]
    tech_mail = next(m for m in mail.outbox if m.to == [world.xavier.email])
    assert "arrived" in tech_mail.subject
    assert "Shop A" in tech_mail.body
    assert f"http://127.0.0.1:8000/work/tickets/{ticket.reference}/" in tech_mail.body


def test_links_use_the_site_url(world, run_on_commit, settings) -> None:  # noqa: ANN001
    settings.SITE_URL = "https://posdesk.example.cn/"
    ticket = TicketFactory(device=world.device_a)
    with run_on_commit():
        routing.route(ticket.pk)
    ticket.refresh_from_db()
    merchant_mail = next(m for m in mail.outbox if m.to == [world.alice.email])
    assert f"https://posdesk.example.cn/tickets/{ticket.reference}/" in merchant_mail.body


def test_other_providers_technicians_are_not_mailed(world, run_on_commit) -> None:
    ticket = TicketFactory(device=world.device_a)
    with run_on_commit():
        routing.route(ticket.pk)
    assert world.yuri.email not in _recipients()
    assert world.bob.email not in _recipients()


def test_an_internal_note_never_reaches_the_merchant(world, run_on_commit) -> None:
    ticket = queued_ticket(world.device_a)
    with run_on_commit():
        workflow.note(ticket, world.xavier, "Board is dead, do not tell them yet")
    assert world.alice.email not in _recipients()
    assert all("Board is dead" not in m.body for m in mail.outbox if m.to == [world.alice.email])


def test_a_public_reply_reaches_the_merchant_not_its_author(world, run_on_commit) -> None:
    ticket = queued_ticket(world.device_a)
    with run_on_commit():
        workflow.reply(ticket, world.xavier, "Please restart it once more.")
    assert _recipients() == {world.alice.email}
    assert "Please restart it once more." in mail.outbox[0].body


def test_the_merchants_reply_reaches_the_assigned_technician(world, run_on_commit) -> None:
    ticket = queued_ticket(world.device_a)
    workflow.claim(ticket, world.xavier)
    with run_on_commit():
        workflow.merchant_reply(ticket, world.alice, "It shows error 11 now.")
    assert _recipients() == {world.xavier.email}
    assert "It shows error 11 now." in mail.outbox[0].body


def test_a_transfer_mails_the_new_queues_technicians(world, run_on_commit) -> None:
    world.device_a.acquirer = world.provider_y  # a transfer may go to Y's desks
    world.device_a.save()
    ticket = queued_ticket(world.device_a)
    new_queue = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.WARRANTY_REPAIR)
    with run_on_commit():
        workflow.transfer(ticket, world.xavier, new_queue, "Y services this model")
    recipients = _recipients()
    assert world.yuri.email in recipients
    assert world.xena.email not in recipients
    yuri_mail = next(m for m in mail.outbox if m.to == [world.yuri.email])
    assert "Y services this model" in yuri_mail.body


def test_an_sla_breach_mails_the_providers_technicians(world, run_on_commit) -> None:
    ticket = queued_ticket(world.device_a)
    with run_on_commit():
        event = TicketEvent.objects.create(
            ticket=ticket, kind=TicketEvent.Kind.SLA_BREACHED, public=False, body="First reply"
        )
        notifications.announce_event(event)
    assert _recipients() == {world.xavier.email, world.xena.email}
    assert "SLA breached" in mail.outbox[0].subject


def test_the_platform_triage_queue_mails_the_admins(world, run_on_commit) -> None:
    ticket = TicketFactory(device=world.device_a, category="other", symptom="other")
    with run_on_commit():
        routing.route(ticket.pk)
    assert world.admin.email in _recipients()
    assert world.xavier.email not in _recipients()


def test_nothing_is_written_or_sent_when_the_transaction_rolls_back(world, run_on_commit) -> None:
    ticket = queued_ticket(world.device_a)
    with run_on_commit() as callbacks:
        try:
            from django.db import transaction

            with transaction.atomic():
                workflow.reply(ticket, world.xavier, "Never sent")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert mail.outbox == []
    assert not OutboundEmail.objects.exists()


def test_the_emails_are_written_with_the_event_and_sent_after_the_commit(world) -> None:
    ticket = queued_ticket(world.device_a)
    event = workflow.reply(ticket, world.xavier, "Please restart it once more.")
    # Not committed yet (the test's transaction): the row is there, nothing is sent.
    [row] = OutboundEmail.objects.all()
    assert (row.event, row.user, row.recipient) == (event, world.alice, world.alice.email)
    assert row.status == OutboundEmail.Status.PENDING
    assert row.idempotency_key == f"event:{event.pk}:{world.alice.pk}"
    assert "Please restart it once more." in row.text
    assert mail.outbox == []


def test_a_broker_outage_loses_neither_the_action_nor_its_email(world, run_on_commit) -> None:
    ticket = queued_ticket(world.device_a)
    no_broker = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        mock.patch("mail.tasks.send_emails.apply_async", side_effect=no_broker),
        run_on_commit(),
    ):
        workflow.reply(ticket, world.xavier, "Still saved")
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLY, body="Still saved").exists()
    assert mail.outbox == []
    # The sweep (beat) sends it once the broker delivers its task again.
    assert outbox.sweep()["sent"] == 1
    assert _recipients() == {world.alice.email}
    assert "Still saved" in mail.outbox[0].body


def test_users_without_an_email_address_are_skipped(world, run_on_commit) -> None:
    world.alice.email = ""
    world.alice.save()
    ticket = queued_ticket(world.device_a)
    with run_on_commit():
        workflow.reply(ticket, world.xavier, "Hello")
    assert mail.outbox == []


def test_a_deleted_event_sends_nothing(db) -> None:
    assert notifications.send_event_emails(987654) == 0


def test_the_merchants_rating_mails_no_one_at_the_merchant(world, run_on_commit) -> None:
    colleague = member_of(UserFactory(username="alice3"), merchant=world.merchant_a)
    ticket = queued_ticket(world.device_a, status=Ticket.Status.CLOSED)
    with run_on_commit():
        workflow.rate(ticket, world.alice, 5, "Great")
    assert colleague.email not in _recipients()


def test_a_provider_without_technicians_gets_no_mail(world, run_on_commit) -> None:
    lonely = ProviderFactory()
    from tests.factories import DeviceFactory

    device = DeviceFactory(merchant=world.merchant_a, provider=lonely)
    ticket = TicketFactory(device=device)
    with run_on_commit():
        routing.route(ticket.pk)
    assert _recipients() == {world.alice.email}


def test_a_ticket_that_failed_to_route_mails_the_admins(world, run_on_commit) -> None:  # noqa: ANN001
    from tickets import events

    ticket = TicketFactory(device=world.device_a)
    with run_on_commit():
        events.record(ticket, TicketEvent.Kind.ROUTING_FAILED, None, "No rule", public=False)
    assert _recipients() == {world.admin.email}
    assert "needs an admin" in mail.outbox[0].subject
    assert "/admin/tickets/ticket/" in mail.outbox[0].body


def test_each_recipient_is_greeted_by_their_own_name(world, run_on_commit) -> None:
    """The e-mail is rendered once per event; every copy still greets its own reader,
    the HTML part with the name escaped."""
    world.xavier.first_name, world.xavier.last_name = "Xavier", "<b>Wu</b>"
    world.xavier.save()
    world.xena.first_name = world.xena.last_name = ""
    world.xena.save()
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    with run_on_commit():
        routing.route(ticket.pk)
    by_address = {message.to[0]: message for message in mail.outbox}
    xavier, xena = by_address[world.xavier.email], by_address[world.xena.email]
    assert xavier.body.startswith("Hello Xavier <b>Wu</b>,")
    assert "Hello Xavier &lt;b&gt;Wu&lt;/b&gt;," in xavier.alternatives[0][0]
    assert "<b>Wu" not in xavier.alternatives[0][0]
    assert xena.body.startswith(f"Hello {world.xena.username},")
    assert f"Hello {world.xena.username}," in xena.alternatives[0][0]
    for message in mail.outbox:
        assert outbox.NAME_SLOT not in message.body + message.subject
        assert outbox.NAME_SLOT not in message.alternatives[0][0]


def test_an_event_no_one_else_needs_costs_one_query(world, django_assert_num_queries) -> None:
    """A merchant's own reply on an unassigned ticket, with no colleague to tell:
    nothing is loaded, rendered or written beyond finding that out (this runs inside
    the merchant's request)."""
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    event = ticket.events.create(
        kind=TicketEvent.Kind.MERCHANT_REPLY, public=True, actor=world.alice, body="Still dead"
    )
    with django_assert_num_queries(1):
        notifications.announce_event(event)
    assert not OutboundEmail.objects.exists()


def test_the_queries_of_an_arrival_do_not_grow_with_the_technicians(
    world, django_assert_max_num_queries
) -> None:
    """Rendered once per recipient group, written with one INSERT."""
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    routing.route(ticket.pk)
    event = ticket.events.get(kind=TicketEvent.Kind.ROUTED)
    OutboundEmail.objects.all().delete()
    fresh = TicketEvent.objects.get(pk=event.pk)
    with django_assert_max_num_queries(6):
        notifications.announce_event(fresh)
    few = OutboundEmail.objects.count()
    for n in range(10):
        member_of(UserFactory(username=f"tech-extra-{n}"), provider=world.provider_x)
    OutboundEmail.objects.all().delete()
    fresh = TicketEvent.objects.get(pk=event.pk)
    with django_assert_max_num_queries(6):
        notifications.announce_event(fresh)
    assert OutboundEmail.objects.count() == few + 10


def test_sending_an_events_emails_twice_sends_them_once(world) -> None:
    """`send_event_emails` (tasks queued before the outbox, or anyone in a hurry) writes
    what is missing and sends what waits: run again, it sends nothing."""
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    routing.route(ticket.pk)
    event = ticket.events.get(kind=TicketEvent.Kind.ROUTED)
    OutboundEmail.objects.all().delete()  # as if written before the outbox existed

    assert notifications.send_event_emails(event.pk) == 3
    assert notifications.send_event_emails(event.pk) == 0
    assert len(mail.outbox) == 3
    assert OutboundEmail.objects.filter(event=event, status="sent").count() == 3


# People who left ----------------------------------------------------------------------------


def test_a_deactivated_assignee_gets_no_more_mail(world, run_on_commit) -> None:
    """Deactivating someone through the admin also gives their tickets back; a bulk
    update (or a user deactivated by a script) does not, and still mails no one."""
    from portal.models import User

    ticket = queued_ticket(world.device_a)
    workflow.claim(ticket, world.xavier)
    User.objects.filter(pk=world.xavier.pk).update(is_active=False)
    ticket.refresh_from_db()
    assert ticket.assigned_to == world.xavier
    with run_on_commit():
        workflow.merchant_reply(ticket, world.alice, "Anyone there?")
    assert world.xavier.email not in _recipients()
    assert not OutboundEmail.objects.filter(recipient=world.xavier.email).exists()


def test_an_assignee_moved_to_another_provider_gets_no_more_mail(world, run_on_commit) -> None:
    ticket = queued_ticket(world.device_a)
    workflow.claim(ticket, world.xavier)
    Membership.objects.filter(user=world.xavier).update(provider=world.provider_y)
    with run_on_commit():
        workflow.merchant_reply(ticket, world.alice, "Anyone there?")
    assert world.xavier.email not in _recipients()
    assert not OutboundEmail.objects.filter(recipient=world.xavier.email).exists()


def test_an_assignee_whose_ticket_went_to_another_provider_gets_no_more_mail(
    world, run_on_commit
) -> None:
    """The ticket moved (an admin's re-route) while it stayed assigned: the merchant's
    messages are for the provider that holds it now."""
    ticket = queued_ticket(world.device_a)
    workflow.claim(ticket, world.xavier)
    Ticket.objects.filter(pk=ticket.pk).update(
        queue=Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.WARRANTY_REPAIR)
    )
    ticket.refresh_from_db()
    with run_on_commit():
        workflow.merchant_reply(ticket, world.alice, "Anyone there?")
    assert world.xavier.email not in _recipients()


def test_a_deactivated_technician_hears_of_no_new_ticket(world, run_on_commit) -> None:
    world.xena.is_active = False
    world.xena.save()
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    with run_on_commit():
        routing.route(ticket.pk)
    assert world.xena.email not in _recipients()
    assert world.xavier.email in _recipients()


def test_a_technician_moved_away_hears_of_no_new_ticket(world, run_on_commit) -> None:
    Membership.objects.filter(user=world.xena).update(provider=world.provider_y)
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    with run_on_commit():
        routing.route(ticket.pk)
    assert world.xena.email not in _recipients()


def test_a_deactivated_merchant_user_gets_no_more_mail(world, run_on_commit) -> None:
    colleague = member_of(UserFactory(username="alice-gone"), merchant=world.merchant_a)
    colleague.is_active = False
    colleague.save()
    ticket = queued_ticket(world.device_a)
    with run_on_commit():
        workflow.reply(ticket, world.xavier, "Fixed?")
    assert _recipients() == {world.alice.email}


def test_a_filing_is_mailed_once_with_its_routing(world, run_on_commit) -> None:
    """The shop's other members get one e-mail when the ticket is routed, saying who
    handles it, not a second one a second earlier saying it was filed."""
    member_of(UserFactory(username="alice-colleague"), merchant=world.merchant_a)
    with run_on_commit():  # Celery is eager: routing runs when the filing commits
        ticket, created = services.file_ticket(
            merchant=world.merchant_a,
            device=world.device_a,
            reporter=world.alice,
            category="hardware",
            symptom="screen",
            can_take_payments="no",
            description="The screen stays dark.",
            callback_phone="+86 138 0000 0000",
        )
    assert created
    for address in ("alice-colleague@example.com", world.alice.email):
        mails = [m for m in mail.outbox if m.to == [address]]
        assert len(mails) == 1, address
        assert mails[0].subject.startswith(f"[{ticket.reference}] Routed")
        assert "Handled by: Provider X" in mails[0].body


def test_each_recipient_reads_the_email_in_their_own_language(world, run_on_commit) -> None:  # noqa: ANN001
    world.alice.language = "zh-hans"
    world.alice.save()
    ticket = queued_ticket(world.device_a, reporter=world.alice, assigned_to=world.xavier)
    with run_on_commit():
        workflow.reply(ticket, world.xavier, "Please restart it once more.")
    with run_on_commit():
        workflow.merchant_reply(ticket, world.alice, "Done, still dark.")
    to_alice = next(m for m in mail.outbox if m.to == [world.alice.email])
    to_xavier = next(m for m in mail.outbox if m.to == [world.xavier.email])
    assert "回复" in to_alice.subject  # the event's kind, in Chinese
    assert OutboundEmail.objects.get(recipient=world.alice.email).language == "zh-hans"
    assert "回复" not in to_xavier.subject
    assert OutboundEmail.objects.get(recipient=world.xavier.email).language == "en"
