"""Following the life of tickets (tickets.hooks): downtime from filing to the end, and
incidents linked once a ticket is routed."""

from __future__ import annotations

from datetime import datetime

from django.dispatch import receiver

from outages import services
from tickets import hooks
from tickets.models import Ticket


@receiver(hooks.ticket_filed, dispatch_uid="outages_downtime_start")
def downtime_start(
    sender: type, ticket: Ticket, payments_down_since: datetime | None = None, **kwargs: object
) -> None:
    services.start_downtime(ticket, payments_down_since)


@receiver(hooks.tickets_ended, dispatch_uid="outages_downtime_end")
def downtime_end(
    sender: type, ticket_ids: list[int], at: datetime, how: str, **kwargs: object
) -> None:
    services.end_downtimes(ticket_ids, at, how)


@receiver(hooks.ticket_routed, dispatch_uid="outages_link_routed")
def link_routed(sender: type, ticket: Ticket, **kwargs: object) -> None:
    from outages.detection import check, worth_checking

    if worth_checking(ticket):
        check(ticket.pk)
