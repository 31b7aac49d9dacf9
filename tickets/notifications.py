"""E-mail about ticket events, written to the outbox with the event itself.

`announce_event` is called by the one event writer (`tickets.events.record`), inside
its transaction. It decides who hears of the event, renders their e-mails and writes
them to the outbox (`mail`) in that same transaction: a rolled-back event mails no one,
and a committed one is mailed whatever the broker or the mail server does next (the
outbox retries). Who hears of what:

- a public event: the merchant's member users (never an internal one), except a
  filing, which they hear of with its routing;
- `routed` / `transferred`: the technicians of the provider of the (new) queue,
  or the platform's admins when it landed in the platform triage queue;
- `sla_breached`: the technicians of the ticket's provider;
- `routing_failed`: the platform's admins;
- a public event written by the merchant: the technician assigned to the ticket,
  while they are an active member of the provider whose queue holds it.

Only active users with an address, and only members of the ticket's merchant or of
the provider of its current queue (or platform admins): a technician who was
deactivated or moved to another provider hears nothing more. The person who did it
is not mailed about their own action. Each e-mail has a subject, a plain-text and an
HTML template under `templates/tickets/email/`, rendered once per event and recipient
group by `mail.services.compose`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from mail import services as outbox
from mail.models import OutboundEmail
from mail.replies import reply_address
from portal.models import User as _User
from tickets.models import Priority, Queue, Ticket, TicketEvent

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)

Arrivals = _User.Arrivals
ShopUpdates = _User.ShopUpdates

ARRIVAL_KINDS = frozenset({TicketEvent.Kind.ROUTED, TicketEvent.Kind.TRANSFERRED})
# Events the merchant's own members need no e-mail about. A filing is told with its
# routing, seconds later, in one e-mail that also says who handles it (the person who
# filed sees the ticket on screen); until then there is nothing to act on.
MERCHANT_QUIET_KINDS = frozenset({TicketEvent.Kind.RATED, TicketEvent.Kind.FILED})


def announce_event(event: TicketEvent) -> None:
    """Write the e-mails `event` calls for to the outbox, in the caller's transaction;
    they are sent once it commits (see mail.services.queue)."""
    outbox.queue(event_emails(event))


# Who hears of what ----------------------------------------------------------------------


def _users() -> QuerySet:
    from portal.models import User

    return User.objects.filter(is_active=True).exclude(email="").order_by("pk")


def merchant_members(ticket: Ticket) -> QuerySet:
    return _users().filter(membership__merchant_id=ticket.merchant_id)


def provider_technicians(provider_id: int) -> QuerySet:
    return _users().filter(membership__provider_id=provider_id)


def platform_admins() -> QuerySet:
    return _users().filter(is_staff=True)


def _arrival_queue(event: TicketEvent) -> Queue | None:
    """The queue a `routed` or `transferred` event brought the ticket to (read once)."""
    if not hasattr(event, "_arrival_queue"):
        queue_id = event.data.get("to_queue") or event.data.get("queue") or event.ticket.queue_id
        ticket = event.ticket
        if (
            queue_id is not None
            and ticket.queue_id == queue_id
            and Ticket.queue.field.is_cached(ticket)
            and Queue.provider.field.is_cached(ticket.queue)
        ):
            # The routing's own copy, with its provider (tickets.routing): no query.
            event._arrival_queue = ticket.queue
        else:
            event._arrival_queue = (
                None
                if queue_id is None
                else Queue.objects.select_related("provider").filter(pk=queue_id).first()
            )
    return event._arrival_queue


def mails_for(event: TicketEvent) -> list[tuple[str, list[User]]]:
    """(template name, recipients) pairs for one event; no one appears twice."""
    ticket = event.ticket
    plan: list[tuple[str, list[User]]] = []
    seen: set[int] = set()
    if event.actor_id is not None:
        seen.add(event.actor_id)

    def add(template: str, users: QuerySet | list[User]) -> None:
        fresh = [user for user in users if user.pk not in seen]
        seen.update(user.pk for user in fresh)
        if fresh:
            plan.append((template, fresh))

    if event.public and event.kind not in MERCHANT_QUIET_KINDS:
        add("merchant_update", shop_readers(merchant_members(ticket), event))
    if event.kind in ARRIVAL_KINDS:
        queue = _arrival_queue(event)
        if queue is not None and queue.provider_id is not None:
            add("ticket_arrived", arrival_readers(provider_technicians(queue.provider_id), ticket))
        elif queue is not None:
            add("needs_admin", platform_admins())
    elif event.kind == TicketEvent.Kind.ASSIGNED and ticket.assigned_to_id is not None:
        # Those who want only their own tickets hear of one when it becomes theirs.
        add("ticket_arrived", current_assignee(ticket).filter(notify_arrivals=Arrivals.MINE))
    elif event.kind == TicketEvent.Kind.SLA_BREACHED:
        if ticket.queue is not None and ticket.queue.provider_id is not None:
            add("sla_breached", provider_technicians(ticket.queue.provider_id))
    elif event.kind == TicketEvent.Kind.ROUTING_FAILED:
        add("needs_admin", platform_admins())
    elif event.public and ticket.assigned_to_id is not None and _by_merchant(event):
        add("technician_update", current_assignee(ticket))
    return plan


# Preferences (issue 18; portal.models.User): each reader's choice, applied in the query
# that finds the readers, so an unwanted e-mail is never rendered.

# "Only questions, quotes and the resolution": what asks the shop for something, or ends
# the ticket. A proposed visit time asks for an answer like a question does.
SHOP_KEY_KINDS = frozenset(
    {
        TicketEvent.Kind.QUESTION,
        TicketEvent.Kind.REPAIR_VISIT,
        TicketEvent.Kind.REPAIR_COUNTERED,
        TicketEvent.Kind.QUOTE_SENT,
        TicketEvent.Kind.RESOLVED,
        TicketEvent.Kind.DUPLICATE,
    }
)


def shop_readers(users: QuerySet, event: TicketEvent) -> QuerySet:
    """The shop's members who want to hear of `event`."""
    if event.kind in SHOP_KEY_KINDS:
        return users
    return users.filter(notify_shop_updates=ShopUpdates.EVERY)


def arrival_readers(users: QuerySet, ticket: Ticket) -> QuerySet:
    """The provider's technicians who want an e-mail now about `ticket` arriving in one
    of their queues: every arrival, P1 only, or theirs (assigned to them already, by a
    transfer to a person). Those on a digest hear of it in their next one."""
    wanted = Q(notify_arrivals=Arrivals.EVERY)
    if ticket.priority == Priority.P1:
        wanted |= Q(notify_arrivals=Arrivals.P1)
    if ticket.assigned_to_id is not None:
        wanted |= Q(notify_arrivals=Arrivals.MINE, pk=ticket.assigned_to_id)
    return users.filter(wanted)


def current_assignee(ticket: Ticket) -> QuerySet:
    """The assigned technician, only while they are an active member of the provider
    whose queue holds the ticket: one deactivated or moved to another provider keeps
    the assignment until someone changes it, but not the merchant's messages."""
    if ticket.queue_id is None:
        return _users().none()
    return _users().filter(pk=ticket.assigned_to_id, membership__provider__queues=ticket.queue_id)


def _by_merchant(event: TicketEvent) -> bool:
    actor = event.actor
    return actor is not None and actor.merchant is not None


# Rendering ----------------------------------------------------------------------


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def technician_url(ticket: Ticket) -> str:
    """The ticket in the technician workspace."""
    return absolute(reverse("tickets:work_ticket", args=[ticket.reference]))


def event_emails(event: TicketEvent) -> list[OutboundEmail]:
    """The outbox rows (unsaved) for every e-mail `event` calls for."""
    plan = mails_for(event)
    if not plan:
        # The usual case of a merchant's own filing: no one else to tell.
        return []
    # What the e-mails print, in small joins: PostgreSQL spent about 8 ms planning the
    # one nine-table join this used to be, twenty times the time it took to run it.
    # Read again (in the event's transaction): the caller's copy may lack what is printed.
    ticket = Ticket.objects.select_related("merchant", "device__model__brand").get(
        pk=event.ticket_id
    )
    arrival = _arrival_queue(event) if event.kind in ARRIVAL_KINDS else None
    if arrival is not None and arrival.pk == ticket.queue_id:
        ticket.queue = arrival
    elif ticket.queue_id is not None:
        ticket.queue = Queue.objects.select_related("provider").get(pk=ticket.queue_id)
    event.ticket = ticket
    emails: list[OutboundEmail] = []
    # Each recipient reads it in their own language (outbox.compose renders per language).
    for template, recipients in plan:
        link = (
            absolute(ticket.get_absolute_url())
            if template == "merchant_update"
            else technician_url(ticket)
        )
        if template == "needs_admin":
            link = absolute(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
        context = {
            "ticket": ticket,
            "event": event,
            "link": link,
            "queue": arrival if event.kind in ARRIVAL_KINDS else ticket.queue,
            "site_url": settings.SITE_URL,
        }
        emails += outbox.compose(
            template,
            recipients,
            context,
            directory="tickets/email",
            key=f"event:{event.pk}",
            event=event,
            # Shops and technicians answer by e-mail onto the ticket (mail.inbound);
            # an admin's e-mail is about routing, not a conversation.
            reply_to=None if template == "needs_admin" else partial(_reply_to, ticket.pk),
        )
    return emails


def _reply_to(ticket_id: int, user: User) -> str:
    return reply_address(ticket_id, user.pk)


def send_event_emails(event_id: int) -> int:
    """Write the e-mails of an event that has none in the outbox yet, then send its
    waiting ones now. Returns how many were sent.

    For `send_event_email` tasks queued before the outbox existed (a deploy must not
    lose them) and for callers that want an event's e-mails out at once. Safe to run
    twice: the idempotency keys keep one row per recipient, the claim one send."""
    event = TicketEvent.objects.select_related("ticket", "actor").filter(pk=event_id).first()
    if event is None:
        logger.warning("send_event_emails: event %s does not exist", event_id)
        return 0
    if not event.emails.exists():
        OutboundEmail.objects.bulk_create(event_emails(event), ignore_conflicts=True)
    ids = list(
        event.emails.filter(status=OutboundEmail.Status.PENDING).values_list("pk", flat=True)
    )
    return outbox.deliver(ids).sent if ids else 0


# Digests ---------------------------------------------------------------------------------


def digest_readers() -> QuerySet:
    """Technicians who chose a digest of the arrivals in their provider's queues."""
    return (
        _users()
        .filter(notify_arrivals=Arrivals.DIGEST, membership__provider__isnull=False)
        .select_related("membership")
    )


def arrivals_between(provider_id: int, since: datetime, until: datetime) -> QuerySet:
    """The provider's open tickets that arrived in one of its queues (routed or
    transferred there) in (since, until], oldest arrival first. The open tickets of the
    provider's queues are few (`ticket_open_queue_due`); each one's arrival is looked up
    by `event_ticket_time`."""
    arrived = TicketEvent.objects.filter(
        ticket=OuterRef("pk"),
        kind__in=ARRIVAL_KINDS,
        provider_id=provider_id,
        created_at__gt=since,
        created_at__lte=until,
    )
    return (
        Ticket.objects.open()
        .filter(queue__provider_id=provider_id)
        .annotate(arrived_at=Subquery(arrived.order_by("-created_at").values("created_at")[:1]))
        .filter(arrived_at__isnull=False)
        .select_related("merchant", "queue")
        .order_by("arrived_at", "pk")
    )


# At most this many tickets are listed in one digest; the rest are counted.
DIGEST_LIMIT = 50
DIGEST_SETTLE = timedelta(seconds=10)


def send_digests(now: datetime | None = None) -> int:
    """Beat: each technician on a digest whose N minutes have passed since the last one
    gets the tickets that arrived meanwhile, through the outbox (nothing when nothing
    arrived). Returns how many digests were written.

    The window's end is stored with the user under a row lock, in the transaction that
    writes the e-mail: two beats at once, or a task run twice, write one digest per
    window (and the idempotency key says which window)."""
    from portal.models import User

    # An arrival is stamped when its transaction starts and seen when it commits: the
    # window ends a little before now, so none is committed after its window was read.
    until = (now or timezone.now()) - DIGEST_SETTLE
    written = 0
    for reader in digest_readers():
        every = timedelta(minutes=reader.digest_minutes)
        start = reader.digest_sent_until or until - every
        if start + every > until:
            continue
        with transaction.atomic():
            # `= None` is IS NULL: the first digest is taken once too.
            mine = User.objects.select_for_update().filter(
                pk=reader.pk, digest_sent_until=reader.digest_sent_until
            )
            if not mine.exists():
                continue  # another run took this window
            provider_id = reader.membership.provider_id
            arrivals = arrivals_between(provider_id, start, until)
            tickets = list(arrivals[:DIGEST_LIMIT])
            User.objects.filter(pk=reader.pk).update(digest_sent_until=until)
            if not tickets:
                continue
            more = arrivals.count() - len(tickets) if len(tickets) == DIGEST_LIMIT else 0
            outbox.queue(
                outbox.compose(
                    "arrivals_digest",
                    [reader],
                    {
                        "tickets": [(ticket, technician_url(ticket)) for ticket in tickets],
                        "more": more,
                        "since": start,
                        "link": absolute(reverse("tickets:work")),
                        "site_url": settings.SITE_URL,
                    },
                    directory="tickets/email",
                    key=f"digest:{reader.pk}:{until.isoformat()}",
                )
            )
            written += 1
    return written
