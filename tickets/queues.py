from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from devices.models import Provider
from tickets.models import Queue

if TYPE_CHECKING:
    from tickets.models import Ticket

# What another provider may be sent: the terminal's own provider's or acquirer's
# repair and payment desks. Their remote support and triage are theirs to fill.
HANDED_OVER_KINDS = (
    Queue.Kind.TRANSACTION_SUPPORT,
    Queue.Kind.WARRANTY_REPAIR,
    Queue.Kind.PAID_REPAIR,
)

# Per-kind SLA defaults in minutes: (first response P1, P2, P3, resolution P1, P2, P3).
DEFAULT_SLA: dict[str, tuple[int, int, int, int, int, int]] = {
    Queue.Kind.REMOTE_SUPPORT: (30, 120, 240, 4 * 60, 12 * 60, 48 * 60),
    Queue.Kind.TRANSACTION_SUPPORT: (60, 240, 480, 24 * 60, 48 * 60, 72 * 60),
    Queue.Kind.WARRANTY_REPAIR: (60, 240, 480, 24 * 60, 48 * 60, 120 * 60),
    Queue.Kind.PAID_REPAIR: (120, 240, 480, 48 * 60, 72 * 60, 120 * 60),
    Queue.Kind.TRIAGE: (60, 240, 480, 24 * 60, 48 * 60, 72 * 60),
}


def ensure_default_queues(provider: Provider) -> list[Queue]:
    """Create the provider's standard queues that it does not have yet."""
    kinds = [
        Queue.Kind.WARRANTY_REPAIR,
        Queue.Kind.PAID_REPAIR,
        Queue.Kind.REMOTE_SUPPORT,
        Queue.Kind.TRIAGE,
    ]
    if provider.kind in Provider.ACQUIRER_KINDS:
        kinds.append(Queue.Kind.TRANSACTION_SUPPORT)
    queues = []
    for kind in kinds:
        fr1, fr2, fr3, rs1, rs2, rs3 = DEFAULT_SLA[kind]
        queue, _created = Queue.objects.get_or_create(
            provider=provider,
            kind=kind,
            defaults={
                "name": _("%(provider)s %(kind)s")
                % {"provider": provider.name, "kind": Queue.Kind(kind).label.lower()},
                "first_response_p1": fr1,
                "first_response_p2": fr2,
                "first_response_p3": fr3,
                "resolution_p1": rs1,
                "resolution_p2": rs2,
                "resolution_p3": rs3,
            },
        )
        queues.append(queue)
    return queues


def transfer_targets(ticket: Ticket) -> QuerySet[Queue]:
    """The active queues a technician may transfer `ticket` to: their provider's own
    queues; the repair and transaction queues of the terminal's provider and acquirer
    (a payment dispute goes to the acquirer, a repair to whoever services the terminal);
    and the platform triage (PosDesk's admins sort it out). Nothing else: a bank's
    technician cannot push a ticket into an unrelated company's paid-repair queue. An
    admin can still move a ticket anywhere by re-routing it."""
    device = ticket.device
    handlers = [pk for pk in (device.provider_id, device.acquirer_id) if pk is not None]
    own = ticket.queue.provider_id if ticket.queue_id is not None else None
    allowed = Q(provider_id__in=handlers, kind__in=HANDED_OVER_KINDS) | Q(
        provider__isnull=True, kind=Queue.Kind.TRIAGE
    )
    if own is not None:
        allowed |= Q(provider_id=own)
    return Queue.objects.filter(allowed, active=True).exclude(pk=ticket.queue_id)
