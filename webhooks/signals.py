"""Following what happens elsewhere without a second write path: the one ticket event
writer's signal (tickets.hooks.events_recorded) and an incident's `opened` update."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from tickets import hooks
from webhooks import services


@receiver(hooks.events_recorded, dispatch_uid="webhooks_ticket_events")
def ticket_events(sender: type, events: list, **kwargs: object) -> None:
    services.ticket_events_recorded(events)


@receiver(post_save, sender="outages.IncidentUpdate", dispatch_uid="webhooks_incident_opened")
def incident_update_saved(sender: type, instance: object, created: bool, **kwargs: object) -> None:
    # Both ways an incident opens (declared by a technician, detected from tickets)
    # write its `opened` update in the same transaction or right after the incident.
    if created and instance.kind == instance.Kind.OPENED:
        services.incident_opened(instance.incident)
