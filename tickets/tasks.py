"""Celery tasks. Each takes ids and calls a service; see DESIGN.md "Routing"."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.dispatch import receiver
from django.utils import timezone

from portal import broker

logger = logging.getLogger(__name__)

# A database that is restarting or out of connections is worth waiting for; the
# backoff doubles (2, 4, 8, ... s, at most 5 min) and gives up after DB_RETRIES, when
# the sweeper still has the ticket.
DB_ERRORS = (OperationalError, InterfaceError)
DB_RETRIES = 6


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=DB_RETRIES,
)
def route_ticket(ticket_id: int) -> None:
    """Route one filed ticket. Delivered twice, it routes once (see routing.route)."""
    from mail import services as outbox

    if not settings.ROUTING_SENDS_EMAILS or transaction.get_connection().in_atomic_block:
        # Run inside someone's transaction (eagerly, in a test's): nothing commits here,
        # so the e-mails go the usual way, with that transaction.
        _route(ticket_id)
        return
    # One task per filing (issue 18): the e-mails routing writes (and an automatic
    # assignment's) are sent here after their commit, over one SMTP connection, not by
    # a `send_emails` task of their own; what fails waits in the outbox for the sweep.
    with outbox.sent_by_this_task() as emails:
        try:
            _route(ticket_id)
        finally:
            # Also after a failed run: its committed `routing_failed` tells the admins.
            if emails:
                outbox.deliver(emails)


def _route(ticket_id: int) -> None:
    from tickets.assignment import assign_routed
    from tickets.hooks import ticket_routed
    from tickets.routing import route

    ticket = route(ticket_id)
    if ticket is not None and ticket.routed_at is not None:
        assign_routed(ticket)  # when its queue assigns automatically
        # Committed: incidents link it (outages), in this task, not one more per filing.
        ticket_routed.send(type(ticket), ticket=ticket)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(*DB_ERRORS, OSError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def send_event_email(event_id: int) -> int:
    """E-mail the people an event concerns (see tickets.notifications)."""
    from tickets.notifications import send_event_emails

    return send_event_emails(event_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_unrouted(after_outage: bool = False) -> dict[str, int]:
    """Beat, and a worker once it (re)connects: queue routing of tickets left `new`."""
    from tickets.services import sweep_unrouted as sweep

    result = sweep(after_outage=after_outage)
    if result["requeued"]:
        logger.info("sweep_unrouted: %s", result)
    return result


@receiver(broker.worker_connected, dispatch_uid="sweep_unrouted_after_connect")
def sweep_after_connect(**kwargs: object) -> None:
    """A worker that is back (from an outage of the broker or its own) routes what was
    filed meanwhile at once, without waiting for beat's next sweep."""
    broker.publish(sweep_unrouted, after_outage=True)


# SLA and auto-close. Both are safe to run twice at once, or again after a lost
# worker: each ticket is re-checked under its row lock (see tickets.sla).


@shared_task(acks_late=True, reject_on_worker_lost=True)
def mark_sla_breaches() -> int:
    """Beat: mark each overdue first response and resolution once, telling technicians."""
    from tickets.sla import mark_breaches

    return mark_breaches(timezone.now())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reassign_untouched_p1() -> int:
    """Beat: an automatically assigned P1 nobody answered goes to the next on duty."""
    from tickets.assignment import reassign_untouched_p1 as reassign

    return reassign(timezone.now())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def close_stale_resolved() -> int:
    """Beat: close tickets resolved a week ago that the merchant never answered."""
    from tickets.sla import close_stale_resolved as close_stale

    return close_stale(timezone.now())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_arrival_digests() -> int:
    """Beat: technicians on a digest get what arrived since their last one."""
    from tickets.notifications import send_digests

    return send_digests(timezone.now())
