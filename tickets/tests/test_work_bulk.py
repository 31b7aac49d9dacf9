"""`/work/bulk/`: one action on the tickets ticked on a list, each through the workflow with
its own events, refusals said ticket by ticket, and scope checked ticket by ticket."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import World
from tests.factories import DeviceFactory, MerchantFactory, queued_ticket
from tickets import workflow
from tickets.models import Queue, Ticket, TicketEvent

S = Ticket.Status
K = TicketEvent.Kind
BULK = reverse("tickets:work_bulk")


def queue_url(world: World) -> str:
    queue = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR)
    return reverse("tickets:queue", args=[queue.pk])


def said(response) -> list[str]:  # noqa: ANN001
    return [str(m) for m in get_messages(response.wsgi_request)]


def post(client, world: World, action: str, tickets: list[Ticket], **fields: object):  # noqa: ANN001, ANN201
    return client.post(
        BULK,
        {
            "action": action,
            "tickets": [str(t.pk) for t in tickets],
            "next": queue_url(world),
            **fields,
        },
    )


def block(response, name: str):  # noqa: ANN001, ANN201
    return next(b for b in response.context["bulk"].blocks if b.action.name == name)


def kinds(ticket: Ticket) -> list[str]:
    return list(ticket.events.order_by("id").values_list("kind", flat=True))


@pytest.fixture
def three(world: World) -> list[Ticket]:
    return [queued_ticket(world.device_a, reporter=world.alice) for _ in range(3)]


def test_bulk_claim_claims_each_and_names_the_one_refused(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    first, second, taken = three
    workflow.claim(taken, world.xena)
    response = post(as_user(world.xavier), world, "claim", three)

    assert response.status_code == 302
    assert response.url == queue_url(world)
    for ticket in (first, second):
        ticket.refresh_from_db()
        assert ticket.assigned_to == world.xavier
        assert ticket.events.get(kind=K.CLAIMED).actor == world.xavier
    taken.refresh_from_db()
    assert taken.assigned_to == world.xena
    assert said(response) == [
        f"Claim: done for {', '.join(sorted([first.reference, second.reference]))}.",
        f"{taken.reference} was left as it was: xena has already claimed this ticket.",
    ]


def test_bulk_assign_gives_each_to_the_colleague(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    closed = queued_ticket(world.device_a, status=S.CLOSED)
    response = post(
        as_user(world.xavier),
        world,
        "assign",
        [*three, closed],
        **{"assign-assignee": world.xena.pk},
    )
    for ticket in three:
        ticket.refresh_from_db()
        assert ticket.assigned_to == world.xena
        event = ticket.events.get(kind=K.ASSIGNED)
        assert (event.actor, event.public) == (world.xavier, False)
    assert not closed.events.exists()
    assert f"{closed.reference} was left as it was: “Assign” is not possible" in said(response)[1]


def test_bulk_transfer_moves_each_and_refuses_the_one_already_there(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    remote = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.REMOTE_SUPPORT)
    movers = [queued_ticket(world.device_a) for _ in range(2)]
    there = queued_ticket(world.device_a, kind=Queue.Kind.REMOTE_SUPPORT)
    response = post(
        as_user(world.xavier),
        world,
        "transfer",
        [*movers, there],
        **{"transfer-queue": remote.pk, "transfer-reason": "Software, not hardware"},
    )
    for ticket in movers:
        ticket.refresh_from_db()
        assert ticket.queue == remote
        assert ticket.events.get(kind=K.TRANSFERRED).body == "Software, not hardware"
    assert not there.events.exists()
    assert said(response)[1] == (
        f"{there.reference} was left as it was: The ticket is already in that queue."
    )


def test_bulk_transfer_offers_only_queues_every_ticket_may_go_to(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    response = as_user(world.xavier).get(queue_url(world))
    offered = set(block(response, "transfer").form.fields["queue"].queryset)
    platform = Queue.objects.get(provider=None, kind=Queue.Kind.TRIAGE)
    assert offered == {*Queue.objects.filter(provider=world.provider_x), platform}
    # Another provider's repair queue is the ticket page's to offer, for one terminal.
    theirs = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.PAID_REPAIR)
    response = post(
        as_user(world.xavier),
        world,
        "transfer",
        three,
        **{"transfer-queue": theirs.pk, "transfer-reason": "Theirs"},
    )
    assert response.status_code == 200
    assert block(response, "transfer").form.errors["queue"]
    assert not TicketEvent.objects.filter(kind=K.TRANSFERRED).exists()


def test_bulk_note_writes_one_internal_note_on_each(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    post(as_user(world.xavier), world, "note", three, **{"note-body": "Same batch of printers"})
    for ticket in three:
        note = ticket.events.get(kind=K.NOTE)
        assert (note.body, note.public, note.actor) == (
            "Same batch of printers",
            False,
            world.xavier,
        )


def test_bulk_duplicate_closes_each_and_refuses_the_original_itself(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    original, *copies = three
    response = post(
        as_user(world.xavier),
        world,
        "resolve_duplicate",
        three,
        **{"duplicate-original": original.reference},
    )
    for ticket in copies:
        ticket.refresh_from_db()
        assert ticket.status == S.CLOSED
        event = ticket.events.get(kind=K.DUPLICATE)
        assert event.data == {"original": original.reference}
    original.refresh_from_db()
    assert original.status == S.QUEUED
    assert kinds(original) == []
    assert said(response)[1] == (
        f"{original.reference} was left as it was: A ticket cannot duplicate itself."
    )


def test_a_form_error_shows_the_form_again_with_the_selection_and_the_text(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    response = post(
        as_user(world.xavier),
        world,
        "transfer",
        three,
        **{"transfer-queue": "", "transfer-reason": "Typed with care"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Typed with care" in text
    assert 'id="bulk-transfer" open>' in text
    assert "invalid-feedback" in text
    for ticket in three:
        assert f'<input type="hidden" name="tickets" value="{ticket.pk}">' in text
        assert not ticket.events.exists()


def test_another_providers_ticket_in_a_crafted_post_is_not_touched_nor_named(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    theirs = queued_ticket(world.device_b, reporter=world.bob)
    response = post(as_user(world.xavier), world, "note", [theirs, three[0]], **{"note-body": "x"})
    assert not theirs.events.exists()
    assert three[0].events.filter(kind=K.NOTE).exists()
    messages = said(response)
    assert messages[-1] == "1 selected ticket is not in your queues: nothing was done to it."
    assert not any(theirs.reference in m for m in messages)
    # The same words for an id that does not exist at all.
    response = post(as_user(world.xavier), world, "claim", [Ticket(pk=theirs.pk + 1000)], **{})
    assert said(response) == ["1 selected ticket is not in your queues: nothing was done to it."]


def test_a_foreign_original_is_as_unknown_as_a_missing_one(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    theirs = queued_ticket(world.device_b, reporter=world.bob)
    client = as_user(world.xavier)
    errors = []
    for reference in (theirs.reference, "PD-999999"):
        response = post(
            client, world, "resolve_duplicate", three, **{"duplicate-original": reference}
        )
        assert response.status_code == 200
        errors.append(block(response, "resolve_duplicate").form.errors["original"])
    assert errors[0] == errors[1]
    assert not TicketEvent.objects.filter(kind=K.DUPLICATE).exists()


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_people_who_are_not_technicians_get_404(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
    who: str,
) -> None:
    response = post(as_user(getattr(world, who)), world, "claim", three)
    assert response.status_code == 404
    assert not TicketEvent.objects.exists()


def test_another_providers_technician_changes_nothing_and_learns_nothing(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    response = post(as_user(world.yuri), world, "note", three, **{"note-body": "Mine now"})
    assert response.status_code == 302
    assert not TicketEvent.objects.exists()
    assert said(response) == [
        "3 selected tickets are not in your queues: nothing was done to them."
    ]


def test_it_answers_405_to_get(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.xavier).get(BULK).status_code == 405


@pytest.mark.parametrize("action", ["", "resolve", "reply", "quote", "delete"])
def test_only_the_bulk_actions_are_taken(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
    action: str,
) -> None:
    response = post(
        as_user(world.xavier),
        world,
        action,
        three,
        **{"resolve-code": "remote_fix", "resolve-note": "x", "reply-body": "x"},
    )
    assert response.status_code == 302
    assert said(response) == ["Choose what to do with the selected tickets."]
    assert not TicketEvent.objects.exists()


def test_a_next_elsewhere_is_not_followed(world: World, as_user, three: list[Ticket]) -> None:  # noqa: ANN001
    response = as_user(world.xavier).post(
        BULK, {"action": "claim", "tickets": [three[0].pk], "next": "https://evil.example/"}
    )
    assert response.url == reverse("tickets:work")


def test_the_queue_page_ticks_rows_into_the_bulk_form(
    world: World,
    as_user,  # noqa: ANN001
    three: list[Ticket],
) -> None:
    text = as_user(world.xavier).get(queue_url(world)).content.decode()
    assert f'action="{BULK}" id="bulk"' in text
    for ticket in three:
        assert f'name="tickets" value="{ticket.pk}" form="bulk"' in text


def test_the_queue_page_with_the_bulk_form_keeps_a_constant_query_count(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    client = as_user(world.xavier)
    target = queue_url(world)
    queued_ticket(world.device_a, assigned_to=world.xena, status=S.IN_PROGRESS)
    client.get(target)
    with CaptureQueriesContext(connection) as one:
        response = client.get(target)
    assert response.context["bulk"] is not None
    for n in range(30):
        device = DeviceFactory(merchant=MerchantFactory(), provider=world.provider_x)
        queued_ticket(device, assigned_to=world.xena if n % 2 else None)
    with CaptureQueriesContext(connection) as many:
        response = client.get(target)
    assert response.content.decode().count('form="bulk"') == 25
    assert len(many) == len(one)


def test_search_results_and_my_tickets_offer_the_bulk_form(world: World, as_user) -> None:  # noqa: ANN001
    tickets = [queued_ticket(world.device_a, reporter=world.alice) for _ in range(2)]
    client = as_user(world.xavier)
    search_url = reverse("tickets:work_search") + "?q=" + tickets[0].device.serial_number
    page = client.get(search_url).content.decode()
    assert 'id="bulk"' in page
    assert f'name="tickets" value="{tickets[0].pk}" form="bulk"' in page
    response = client.post(
        BULK,
        {"action": "claim", "tickets": [str(t.pk) for t in tickets], "next": search_url},
    )
    assert response.url == search_url
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.assigned_to == world.xavier
    mine = client.get(reverse("tickets:work_mine")).content.decode()
    assert 'id="bulk"' in mine
