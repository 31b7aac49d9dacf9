"""`workflow.resolve_duplicate`: a technician closes a ticket as a duplicate of the same
shop's ticket in their own queues, and nothing else."""

from __future__ import annotations

import pytest

from conftest import World
from tests.factories import DeviceFactory, queued_ticket
from tickets import workflow
from tickets.models import Queue, Ticket, TicketEvent

S = Ticket.Status


def test_it_closes_the_copy_pointing_to_the_original(world: World) -> None:
    original = queued_ticket(world.device_a, reporter=world.alice)
    copy = queued_ticket(world.device_a, reporter=world.alice)
    workflow.resolve_duplicate(copy, world.xavier, original)
    copy.refresh_from_db()
    assert copy.status == S.CLOSED
    assert copy.closed_at is not None
    event = copy.events.get()
    assert (event.kind, event.actor, event.public, event.data) == (
        TicketEvent.Kind.DUPLICATE,
        world.xavier,
        True,
        {"original": original.reference},
    )
    assert original.events.count() == 0


def test_the_original_may_be_in_another_queue_of_the_same_provider(world: World) -> None:
    original = queued_ticket(world.device_a, kind=Queue.Kind.REMOTE_SUPPORT)
    copy = queued_ticket(world.device_a)
    workflow.resolve_duplicate(copy, world.xavier, original)
    assert Ticket.objects.get(pk=copy.pk).status == S.CLOSED


def test_a_ticket_is_not_its_own_duplicate(world: World) -> None:
    ticket = queued_ticket(world.device_a)
    with pytest.raises(workflow.NotAllowed, match="cannot duplicate itself"):
        workflow.resolve_duplicate(ticket, world.xavier, ticket)


def test_the_original_must_be_the_same_shops(world: World) -> None:
    # Merchant B's terminal serviced by X: visible to xavier, but another shop's fault.
    other_shop = DeviceFactory(merchant=world.merchant_b, provider=world.provider_x)
    original = queued_ticket(other_shop)
    copy = queued_ticket(world.device_a)
    with pytest.raises(workflow.NotAllowed, match="same merchant"):
        workflow.resolve_duplicate(copy, world.xavier, original)
    assert Ticket.objects.get(pk=copy.pk).status == S.QUEUED


def test_an_original_outside_the_technicians_queues_reads_as_unknown(world: World) -> None:
    # The same shop's ticket, in provider Y's queue: Y's business, not X's to point at.
    original = queued_ticket(world.device_a, provider=world.provider_y)
    copy = queued_ticket(world.device_a)
    with pytest.raises(workflow.NotAllowed) as refused:
        workflow.resolve_duplicate(copy, world.xavier, original)
    assert str(refused.value) == "No ticket has this reference."
    assert original.reference not in str(refused.value)
    assert not copy.events.exists()


def test_another_providers_technician_cannot_close_it(world: World) -> None:
    original = queued_ticket(world.device_a)
    copy = queued_ticket(world.device_a)
    with pytest.raises(workflow.NotAllowed):
        workflow.resolve_duplicate(copy, world.yuri, original)
    assert Ticket.objects.get(pk=copy.pk).status == S.QUEUED


@pytest.mark.parametrize("status", [S.WAITING_MERCHANT, S.RESOLVED, S.CLOSED, S.CANCELLED])
def test_only_a_ticket_being_worked_on_can_be_closed_so(world: World, status: str) -> None:
    original = queued_ticket(world.device_a)
    copy = queued_ticket(world.device_a, status=status)
    with pytest.raises(workflow.NotAllowed, match="not possible while"):
        workflow.resolve_duplicate(copy, world.xavier, original)
