from __future__ import annotations

from decimal import Decimal

from conftest import World
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Queue, Quote, Ticket


def test_cancelling_declines_a_pending_quote(world: World) -> None:
    ticket = queued_ticket(world.device_a, kind=Queue.Kind.PAID_REPAIR, billable=True)
    quote = workflow.send_quote(ticket, world.xavier, Decimal("300.00"), "New printer head")

    workflow.cancel(ticket, world.alice, "A restart fixed it")

    quote.refresh_from_db()
    assert quote.status == Quote.Status.DECLINED
    assert quote.decided_by == world.alice
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.CANCELLED
