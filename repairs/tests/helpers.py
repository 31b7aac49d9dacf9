"""Tickets whose repair is decided (or not yet), and a visit slot in the future."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from conftest import World
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Ticket


def warranty_ticket(world: World, **fields: object) -> Ticket:
    """Merchant A's terminal, in warranty, in provider X's repair queue, claimed by Xavier:
    a free repair, decided."""
    return queued_ticket(
        world.device_a,
        status=Ticket.Status.IN_PROGRESS,
        billable=False,
        assigned_to=world.xavier,
        **fields,
    )


def billable_ticket(world: World, *, accepted: bool = True) -> Ticket:
    """Out of warranty in X's paid repair queue, with a quote of X sent by Xavier and
    (by default) accepted by Alice, through the workflow."""
    ticket = queued_ticket(
        world.device_a,
        kind="paid_repair",
        status=Ticket.Status.IN_PROGRESS,
        billable=True,
        assigned_to=world.xavier,
    )
    workflow.send_quote(ticket, world.xavier, Decimal("280.00"), "New card reader and labour")
    if accepted:
        workflow.accept_quote(ticket, world.alice)
    ticket.refresh_from_db()
    return ticket


def future_slot(days: int = 3, hour: int = 10) -> tuple[datetime, datetime]:
    day = timezone.localdate() + timedelta(days=days)
    start = timezone.make_aware(datetime(day.year, day.month, day.day, hour, 0))
    return start, start + timedelta(hours=2)


def slot_post(prefix: str, days: int = 3, hour: int = 10) -> dict[str, str]:
    start, end = future_slot(days, hour)
    return {
        f"{prefix}-day": start.date().isoformat(),
        f"{prefix}-start": f"{start:%H:%M}",
        f"{prefix}-end": f"{end:%H:%M}",
    }
