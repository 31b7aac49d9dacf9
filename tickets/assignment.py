"""Automatic assignment (issue 14, item 7): a queue may give each routed ticket to a
technician on duty, by round-robin or to whoever has the fewest open tickets, and give
an automatically assigned P1 that lies untouched to the next one.

Two tickets arriving at once get two different technicians: the choice is made under a
lock on the provider's row (round-robin's place is the queue's `last_assigned_to`;
"fewest open" counts the provider's tickets across its queues), so choices of one
provider take turns, and the assignment is written in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from devices.models import Provider
from portal.models import User
from tickets import workflow
from tickets.models import Priority, Queue, Ticket

logger = logging.getLogger(__name__)

A = Queue.Assignment


def on_duty(provider_id: int) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, membership__provider_id=provider_id, membership__on_duty=True
        ).order_by("pk")
    )


def choose(queue: Queue, exclude: frozenset[int] = frozenset()) -> User | None:
    """The technician the queue's rule gives the next ticket to; call under the lock."""
    people = [user for user in on_duty(queue.provider_id) if user.pk not in exclude]
    if not people:
        return None
    if queue.assignment == A.ROUND_ROBIN:
        last = Queue.objects.filter(pk=queue.pk).values_list("last_assigned_to", flat=True)[0]
        after = [user for user in people if last is not None and user.pk > last]
        return (after or people)[0]
    load = dict(
        User.objects.filter(pk__in=[user.pk for user in people])
        .annotate(
            open=Count(
                "assigned_tickets",
                filter=Q(assigned_tickets__status__in=workflow.OPEN),
            )
        )
        .values_list("pk", "open")
    )
    return min(people, key=lambda user: (load.get(user.pk, 0), user.pk))


def _lock_provider(provider_id: int) -> None:
    list(Provider.objects.select_for_update().filter(pk=provider_id).values_list("pk"))


def assign_routed(routed: Ticket) -> User | None:
    """Give a freshly routed ticket to someone on duty, if its queue assigns (read from
    the routing's own copy: no query for a queue that does not). Safe to run twice: a
    ticket someone holds already is left alone."""
    queue = routed.queue
    if queue is None or queue.provider_id is None or queue.assignment == A.OFF:
        return None
    with transaction.atomic():
        ticket = Ticket.objects.select_related("queue").filter(pk=routed.pk).first()
        if (
            ticket is None
            or ticket.queue_id != queue.pk
            or ticket.status != Ticket.Status.QUEUED
            or ticket.assigned_to_id is not None
        ):
            return None
        return _give(ticket, "routed")


def _give(ticket: Ticket, reason: str, exclude: frozenset[int] = frozenset()) -> User | None:
    _lock_provider(ticket.queue.provider_id)
    chosen = choose(ticket.queue, exclude)
    if chosen is None:
        return None
    try:
        workflow.auto_assign(ticket, chosen, reason)
    except workflow.NotAllowed as refused:
        # Claimed, moved or closed since it was read: nothing to assign.
        logger.info("auto-assign of %s skipped: %s", ticket.pk, refused)
        return None
    Queue.objects.filter(pk=ticket.queue_id).update(last_assigned_to=chosen)
    return chosen


def reassign_untouched_p1(now: datetime | None = None) -> int:
    """Beat: automatically assigned P1 tickets whose technician has not answered within
    the queue's `p1_reassign_minutes` go to the next one on duty. Returns how many."""
    now = now or timezone.now()
    moved = 0
    for queue in Queue.objects.exclude(assignment=A.OFF).filter(p1_reassign_minutes__isnull=False):
        stale = Ticket.objects.filter(
            queue=queue,
            priority=Priority.P1,
            status=Ticket.Status.IN_PROGRESS,
            first_responded_at__isnull=True,
            auto_assigned_at__lte=now - timedelta(minutes=queue.p1_reassign_minutes),
        ).values_list("pk", flat=True)
        for pk in list(stale[:500]):
            with transaction.atomic():
                ticket = (
                    Ticket.objects.select_for_update(of=("self",))
                    .select_related("queue")
                    .filter(pk=pk, first_responded_at__isnull=True, auto_assigned_at__isnull=False)
                    .first()
                )
                if ticket is None:
                    continue
                exclude = frozenset({ticket.assigned_to_id} if ticket.assigned_to_id else set())
                if _give(ticket, "p1_untouched", exclude) is not None:
                    moved += 1
    return moved
