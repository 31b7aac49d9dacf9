"""Known problems a shop meets when it files a fault: the open incidents that cover its
terminals, read in a fixed number of queries (the filing pages are the busiest, W1).

The rule is `services.incidents_for`'s, which `services.me_too` applies again when the
shop taps "Me too": an incident under way, handled by the terminal's provider or
acquirer, in the shop's city (or every city) and district (or the whole city). Here it
is read for all of a shop's terminals at once: one query for the incidents of the
shop's area, and one for its terminals only when there is any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from devices.models import Device
from outages.models import Incident
from outages.services import with_shop_counts
from tickets.forms import DEVICE_LABEL_COLUMNS, device_label, filing_devices

if TYPE_CHECKING:
    from devices.models import Merchant

# Terminals offered a "Me too" each under one incident; a chain with more chooses one in
# the form below (each its own ticket, as the shop would file them one by one).
TERMINALS_SHOWN = 5


@dataclass(frozen=True)
class Terminal:
    pk: int
    label: str


@dataclass(frozen=True)
class KnownProblem:
    incident: Incident
    terminals: list[Terminal]
    more: int  # the shop's other terminals it covers, not offered here


def _in_area(merchant: Merchant, category: str | None, now: datetime | None) -> list[Incident]:
    # Narrowed in SQL (an outage elsewhere is not read), decided by Incident.covers_area.
    found = (
        with_shop_counts(Incident.objects.started(now or timezone.now()))
        .filter(Q(city="") | Q(city__iexact=merchant.city.strip()))
        .filter(Q(district="") | Q(district__iexact=merchant.district.strip()))
        .select_related("provider")
        .order_by("starts_at", "pk")
    )
    if category is not None:
        found = found.filter(category=category)
    return [incident for incident in found if incident.covers_area(merchant)]


def for_terminal(
    merchant: Merchant, device_id: int, category: str, now: datetime | None = None
) -> list[Incident]:
    """The open incidents a report of `category` on this terminal of the shop would join."""
    incidents = _in_area(merchant, category, now)
    if not incidents:
        return []  # the usual case: one query
    handlers = (
        Device.objects.filter(pk=device_id, merchant=merchant)
        .values_list("provider_id", "acquirer_id")
        .first()
    )
    if handlers is None:
        return []
    return [incident for incident in incidents if incident.provider_id in handlers]


def for_shop(merchant: Merchant, now: datetime | None = None) -> list[KnownProblem]:
    """Every open incident that covers one of the shop's terminals in service, each with
    the terminals concerned (at most TERMINALS_SHOWN)."""
    incidents = _in_area(merchant, None, now)
    if not incidents:
        return []
    providers = {incident.provider_id for incident in incidents}
    rows = list(
        filing_devices(merchant)
        .filter(Q(provider_id__in=providers) | Q(acquirer_id__in=providers))
        .values_list("pk", "provider_id", "acquirer_id", *DEVICE_LABEL_COLUMNS)
    )
    problems = []
    for incident in incidents:
        covered = [
            Terminal(pk, device_label(*columns))
            for pk, provider_id, acquirer_id, *columns in rows
            if incident.provider_id in (provider_id, acquirer_id)
        ]
        if covered:
            problems.append(
                KnownProblem(
                    incident=incident,
                    terminals=covered[:TERMINALS_SHOWN],
                    more=max(len(covered) - TERMINALS_SHOWN, 0),
                )
            )
    return problems
