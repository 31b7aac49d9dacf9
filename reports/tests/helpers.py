"""A little hand-made world of tickets on fixed past days, for the report tests."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from devices.models import Provider
from outages.models import Downtime
from tests.factories import TicketFactory
from tickets.models import Queue, Quote, Ticket, TicketEvent
from tickets.queues import ensure_default_queues


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def queue_of(provider: Provider, kind: str = Queue.Kind.REMOTE_SUPPORT) -> Queue:
    ensure_default_queues(provider)
    return Queue.objects.get(provider=provider, kind=kind)


def ticket(world, queue: Queue, filed: datetime, **fields: object) -> Ticket:  # noqa: ANN001
    """A routed ticket filed at `filed` (routed at once), then `fields` as stored."""
    defaults = {
        "queue": queue,
        "status": Ticket.Status.IN_PROGRESS,
        "routed_at": filed,
        "first_response_due": filed + timedelta(hours=1),
        "resolution_due": filed + timedelta(hours=8),
        "created_at": filed,
    }
    defaults.update(fields)
    device = defaults.pop("device", world.device_a)
    made = TicketFactory(device=device, reporter=world.alice)
    Ticket.objects.filter(pk=made.pk).update(**defaults)
    made.refresh_from_db()
    return made


def hand_made(world) -> dict:  # noqa: ANN001
    """Four tickets of provider X filed on D1 and two self-help successes (see
    test_metrics for what each is there to count)."""
    from tickets.models import SelfHelpSuccess

    d1 = timezone.localdate() - timedelta(days=10)
    d2 = d1 + timedelta(days=1)
    world.merchant_a.city = "Shanghai"
    world.merchant_a.save()
    q = queue_of(world.provider_x)
    t1 = ticket(
        world,
        q,
        at(d1, 10),
        category="hardware",
        can_take_payments=Ticket.Payments.NO,
        warranty_status="in",
        billable=False,
        assigned_to=world.xavier,
        first_responded_at=at(d1, 10, 10),
        resolved_at=at(d1, 11, 50),
        closed_at=at(d2, 10),
        status=Ticket.Status.CLOSED,
        rating=5,
    )
    t2 = ticket(
        world,
        q,
        at(d1, 11),
        category="hardware",
        can_take_payments=Ticket.Payments.YES,
        warranty_status="out",
        billable=True,
        assigned_to=world.xavier,
        first_responded_at=at(d1, 11, 30),
        resolved_at=at(d2, 11),
        status=Ticket.Status.RESOLVED,
        rating=3,
    )
    TicketEvent.objects.create(ticket=t2, kind=TicketEvent.Kind.REOPENED, created_at=at(d2, 9))
    Quote.objects.create(
        ticket=t2,
        amount=Decimal("200"),
        covers="screen",
        status="accepted",
        created_by=world.xavier,
    )
    Quote.objects.create(
        ticket=t2, amount=Decimal("50"), covers="cable", status="declined", created_by=world.xavier
    )
    t3 = ticket(
        world,
        q,
        at(d1, 12),
        category="transaction",
        can_take_payments=Ticket.Payments.NO,
        warranty_status="out",
        billable=False,
        assigned_to=world.xena,
        first_responded_at=at(d1, 12, 20),
    )
    t4 = ticket(
        world,
        q,
        at(d1, 13),
        category="software",
        can_take_payments=Ticket.Payments.NO,
        warranty_status="in",
        billable=None,
        closed_at=at(d1, 14),
        status=Ticket.Status.CANCELLED,
    )
    Downtime.objects.create(
        ticket=t4,
        merchant=world.merchant_a,
        provider=world.provider_x,
        device_model=world.device_a.model,
        city="Shanghai",
        started_at=at(d1, 13),
        ended_at=at(d1, 13, 45),
    )
    for minute in (5, 6):
        SelfHelpSuccess.objects.create(
            merchant=world.merchant_a,
            device=world.device_a,
            category="network",
            created_at=at(d1, 9, minute),
        )
    return {"d1": d1, "d2": d2, "queue": q, "tickets": (t1, t2, t3, t4)}
