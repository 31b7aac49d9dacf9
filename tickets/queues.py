from __future__ import annotations

from django.utils.translation import gettext as _

from devices.models import Provider
from tickets.models import Queue

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
