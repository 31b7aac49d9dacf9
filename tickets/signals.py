from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from devices.models import Provider
from tickets.queues import ensure_default_queues


@receiver(post_save, sender=Provider, dispatch_uid="provider_default_queues")
def provider_default_queues(
    sender: type[Provider], instance: Provider, created: bool, **kwargs: object
) -> None:
    if created:
        ensure_default_queues(instance)
