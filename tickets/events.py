"""The one way to record a `TicketEvent`: routing, the workflow, SLA checks, the
sweeper, warranty checks and the admin all write the timeline through `record`.

It stamps the event with the provider whose queue holds the ticket (so a transfer
never hands one provider's internal notes to the next) and schedules its e-mails for
after the commit. `tests/test_one_event_writer.py` fails when another module creates
events itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from tickets import hooks
from tickets.models import Ticket, TicketEvent

if TYPE_CHECKING:
    from portal.models import User

# Rows per INSERT of `record_many`: 5,000 events of eight columns stay well under
# PostgreSQL's 65,535 parameters per statement.
MANY_BATCH = 5000


def record(
    ticket: Ticket,
    kind: str,
    actor: User | None = None,
    body: str = "",
    *,
    public: bool = True,
    data: dict | None = None,
    announce: bool = True,
) -> TicketEvent:
    """Write one timeline entry for `ticket` (inside the caller's transaction).

    `announce=False` for an event nobody is mailed about (a filing is told with its
    routing, seconds later): no e-mail task is queued for it at all.
    """
    from tickets.notifications import announce_event

    provider_id = ticket.queue.provider_id if ticket.queue_id is not None else None
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        body=body,
        public=public,
        provider_id=provider_id,
        data=data or {},
    )
    if announce:
        announce_event(event)
    hooks.events_recorded.send(TicketEvent, events=[event])
    return event


def record_many(
    tickets: Iterable[tuple[int, int | None]],
    kind: str,
    actor: User | None = None,
    body: str = "",
    *,
    public: bool = True,
    data: dict | None = None,
) -> list[TicketEvent]:
    """The same entry on many timelines at once, in one INSERT per MANY_BATCH tickets:
    an incident's update or resolution on each of its tickets. `tickets` are
    (ticket id, provider id of its queue) pairs, as the caller read them with its
    locks. Nobody is mailed: the caller writes one e-mail per shop itself."""
    rows = [
        TicketEvent(
            ticket_id=ticket_id,
            kind=kind,
            actor=actor,
            body=body,
            public=public,
            provider_id=provider_id,
            data=data or {},
        )
        for ticket_id, provider_id in tickets
    ]
    created = TicketEvent.objects.bulk_create(rows, batch_size=MANY_BATCH)
    hooks.events_recorded.send(TicketEvent, events=created)
    return created
