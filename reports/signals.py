"""Keeping the rollups current as things happen: every ticket event, every end of a
ticket (tickets.hooks) and every fault the self-help checks fixed names the ticket (or
the success) and the days whose counts it changes in `Touched`, in the same
transaction. Today is then counted live from that list; the beat task rebuilds earlier
days it names (reports.tasks)."""

from __future__ import annotations

from datetime import datetime

from django.db.models.signals import post_save
from django.dispatch import receiver

from reports.models import Touched
from reports.rollups import local_day, touch
from tickets import hooks
from tickets.models import SelfHelpSuccess, TicketEvent


@receiver(post_save, sender=TicketEvent, dispatch_uid="reports_touch_event")
def event_touches(sender: type, instance: TicketEvent, created: bool, **kwargs: object) -> None:
    if not created:
        return
    ticket = instance.ticket
    # The event's own day, and the days the ticket's counts live on that it may change:
    # quotes on the filing day, a rating or a reopen on the resolution day.
    days = {local_day(instance.created_at), local_day(ticket.created_at)}
    if ticket.resolved_at is not None:
        days.add(local_day(ticket.resolved_at))
    touch([ticket.pk], days)


@receiver(hooks.tickets_ended, dispatch_uid="reports_touch_ended")
def ended_touch(sender: type, ticket_ids: list[int], at: datetime, **kwargs: object) -> None:
    # Many at once (an incident's end) write their events without post_save.
    touch(ticket_ids, {local_day(at)})


@receiver(post_save, sender=SelfHelpSuccess, dispatch_uid="reports_touch_selfhelp")
def selfhelp_touch(
    sender: type, instance: SelfHelpSuccess, created: bool, **kwargs: object
) -> None:
    if created:
        Touched.objects.get_or_create(selfhelp_id=instance.pk, day=local_day(instance.created_at))
