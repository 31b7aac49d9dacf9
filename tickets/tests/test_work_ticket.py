"""`/work/tickets/<ref>/`: what a technician sees of one ticket, and in how many queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import World
from tests.factories import DeviceFactory, queued_ticket
from tickets import workflow
from tickets.models import Attachment, Queue, Ticket, TicketEvent

S = Ticket.Status


def page_url(ticket: Ticket) -> str:
    return reverse("tickets:work_ticket", args=[ticket.reference])


def test_it_shows_device_merchant_and_the_full_timeline(world: World, as_user) -> None:  # noqa: ANN001
    world.merchant_a.address = "12 Nanjing Road"
    world.merchant_a.save()
    ticket = queued_ticket(world.device_a, reporter=world.alice, callback_phone="+86 139 1111 2222")
    workflow.claim(ticket, world.xavier)
    workflow.note(ticket, world.xavier, "Host logs show timeouts")
    workflow.reply(ticket, world.xavier, "Please restart the router")

    response = as_user(world.xavier).get(page_url(ticket))

    assert response.status_code == 200
    text = response.content.decode()
    device = world.device_a
    for shown in (
        device.serial_number,
        device.model.name,
        device.model.brand.name,
        "Shop A",
        "12 Nanjing Road",
        "Shanghai",
        "+86 139 1111 2222",
        world.merchant_a.contact_phone,
        "Host logs show timeouts",
        "Please restart the router",
        "In warranty",
    ):
        assert shown in text, shown
    # The internal note is there, marked as such.
    assert 'class="timeline-internal' in text
    kinds = [e.kind for e in response.context["events"]]
    assert kinds == [TicketEvent.Kind.CLAIMED, TicketEvent.Kind.NOTE, TicketEvent.Kind.REPLY]


def test_it_shows_warranty_at_filing_and_now(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    device = world.device_a
    device.warranty_end = timezone.localdate() - timedelta(days=1)
    device.save()
    response = as_user(world.xavier).get(page_url(ticket))
    text = response.content.decode()
    assert "badge-warranty-in" in text  # at filing
    assert "badge-warranty-out" in text  # now
    assert response.context["warranty_now"] == "out"


def test_repair_history_lists_this_terminals_other_tickets_of_the_provider(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    earlier = queued_ticket(world.device_a, status=S.CLOSED)
    ticket = queued_ticket(world.device_a)
    queued_ticket(DeviceFactory(merchant=world.merchant_a, provider=world.provider_x))
    elsewhere = queued_ticket(world.device_a, provider=world.provider_y, kind="triage")

    response = as_user(world.xavier).get(page_url(ticket))

    assert response.context["history"] == [earlier]
    assert earlier.reference in response.content.decode()
    assert elsewhere.reference not in response.content.decode()


def test_attachments_link_to_the_scoped_download(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    attachment = Attachment(
        ticket=ticket, original_name="screen.png", content_type="image/png", size=4
    )
    attachment.file.save("screen.png", ContentFile(b"\x89PNG"), save=True)

    response = as_user(world.xavier).get(page_url(ticket))

    assert reverse("tickets:attachment", args=[ticket.reference, attachment.pk]).encode() in (
        response.content
    )


def test_it_offers_the_forms_of_the_actions_allowed_now(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, billable=True)
    client = as_user(world.xavier)

    forms = client.get(page_url(ticket)).context["forms"]
    assert set(forms) == {
        "claim",
        "assign",
        "reply",
        "note",
        "ask",
        "quote",
        "transfer",
        "loaner_issue",
        "resolve",
        "resolve_duplicate",
    }
    workflow.send_quote(ticket, world.xavier, Decimal("90"), "Printer")
    forms = client.get(page_url(ticket)).context["forms"]
    assert set(forms) == {"assign", "reply", "note", "loaner_issue"}

    ticket.refresh_from_db()
    ticket.status = S.CLOSED
    ticket.save()
    assert set(client.get(page_url(ticket)).context["forms"]) == {"note"}


def test_the_assign_list_holds_only_the_providers_people(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    form = as_user(world.xavier).get(page_url(ticket)).context["forms"]["assign"]
    assert set(form.fields["assignee"].queryset) == {world.xavier, world.xena}


def test_the_transfer_list_holds_other_active_queues_of_the_terminals_providers(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    # Y acquires the terminal's payments: its repair and payment desks are offered
    # (tickets/tests/test_transfer_targets.py has the whole rule).
    world.device_a.acquirer = world.provider_y
    world.device_a.save()
    ticket = queued_ticket(world.device_a)
    inactive = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.PAID_REPAIR)
    inactive.active = False
    inactive.save()
    form = as_user(world.xavier).get(page_url(ticket)).context["forms"]["transfer"]
    choices = set(form.fields["queue"].queryset)
    assert ticket.queue not in choices
    assert inactive not in choices
    assert Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.WARRANTY_REPAIR) in choices


def test_the_quote_gate_is_explained_on_a_billable_ticket(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, billable=True)
    response = as_user(world.xavier).get(page_url(ticket))
    assert b'id="quote-gate"' in response.content


def test_the_sla_box_shows_due_times_and_breaches(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(
        world.device_a,
        now=timezone.now() - timedelta(days=2),
        resolution_breached_at=timezone.now(),
    )
    response = as_user(world.xavier).get(page_url(ticket))
    assert response.context["clock"].overdue
    assert b"breached" in response.content


def test_the_query_count_does_not_grow_with_the_timeline(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, reporter=world.alice, billable=True)
    client = as_user(world.xavier)
    workflow.claim(ticket, world.xavier)
    client.get(page_url(ticket))
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(page_url(ticket)).context["events"]) == 1
    for n in range(49):
        actor = [world.xavier, world.xena][n % 2]
        event = workflow.note(ticket, actor, f"Note {n}")
        attachment = Attachment(
            ticket=ticket, event=event, original_name=f"{n}.txt", content_type="text/plain", size=1
        )
        attachment.file.save(f"{n}.txt", ContentFile(b"x"), save=True)
    queued_ticket(world.device_a, status=S.CLOSED)  # some history too
    with CaptureQueriesContext(connection) as fifty:
        assert len(client.get(page_url(ticket)).context["events"]) == 50
    assert len(fifty) == len(one)


def test_another_providers_technician_gets_404(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    assert as_user(world.yuri).get(page_url(ticket)).status_code == 404


def test_merchants_get_404_even_on_their_own_ticket(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    assert as_user(world.alice).get(page_url(ticket)).status_code == 404


def test_an_unrouted_ticket_is_404(world: World, as_user) -> None:  # noqa: ANN001
    from tests.factories import TicketFactory

    ticket = TicketFactory(device=world.device_a)
    assert as_user(world.xavier).get(page_url(ticket)).status_code == 404


def test_it_names_the_checks_the_merchant_tried_in_words(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, checks_tried=["restart", "paper"])

    text = as_user(world.xavier).get(page_url(ticket)).content.decode()

    assert "Restarted the terminal; Paper roll loaded the right way round" in text
