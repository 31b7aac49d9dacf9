"""Model signals of other apps that tickets must follow.

- A new provider gets its default queues.
- A technician who leaves (deactivated, moved to another provider, membership
  removed) gives back their open tickets, which return to the queue
  (`services.release_assigned_tickets`). Signals rather than a button, so every way of
  making the change counts: the Django admin's user page and its membership inline, a
  shell. A queryset `.update()` sends no signal: deactivate people one by one.
- A deleted attachment, alone or with its ticket, takes its file with it once the
  delete commits (a bulk delete of attachments too: Django sends the signal per row).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from devices.models import Membership, Provider
from portal.storage import delete_on_commit
from tickets import services, workflow
from tickets.models import Attachment
from tickets.queues import ensure_default_queues

if TYPE_CHECKING:
    from portal.models import User


@receiver(post_save, sender=Provider, dispatch_uid="provider_default_queues")
def provider_default_queues(
    sender: type[Provider], instance: Provider, created: bool, **kwargs: object
) -> None:
    if created:
        ensure_default_queues(instance)


# People who leave ---------------------------------------------------------------------------
# The old value is read in pre_save (one small query, skipped when the save cannot change
# it, e.g. the last_login update of every log-in) and compared in post_save.


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="user_was_active")
def user_was_active(
    sender: type[User],
    instance: User,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: object,
) -> None:
    skip = raw or instance.pk is None
    if skip or (update_fields is not None and "is_active" not in update_fields):
        instance._was_active = None
        return
    instance._was_active = (
        sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="user_deactivated")
def user_deactivated(sender: type[User], instance: User, **kwargs: object) -> None:
    if getattr(instance, "_was_active", None) and not instance.is_active:
        services.release_assigned_tickets(user=instance, reason=workflow.LEFT_DEACTIVATED)


@receiver(pre_save, sender=Membership, dispatch_uid="membership_old_provider")
def membership_old_provider(
    sender: type[Membership], instance: Membership, raw: bool = False, **kwargs: object
) -> None:
    instance._old_provider_id = (
        None
        if raw or instance.pk is None
        else Membership.objects.filter(pk=instance.pk).values_list("provider_id", flat=True).first()
    )


@receiver(post_save, sender=Membership, dispatch_uid="membership_moved")
def membership_moved(sender: type[Membership], instance: Membership, **kwargs: object) -> None:
    old = getattr(instance, "_old_provider_id", None)
    if old is not None and old != instance.provider_id:
        services.release_assigned_tickets(
            user=instance.user, reason=workflow.LEFT_MOVED, keep_provider_id=instance.provider_id
        )


@receiver(pre_delete, sender=Membership, dispatch_uid="membership_removed")
def membership_removed(sender: type[Membership], instance: Membership, **kwargs: object) -> None:
    # pre_delete: when the user itself is deleted, this runs before the tickets'
    # assignee is set to NULL, so each ticket still gets its event.
    if instance.provider_id is not None:
        services.release_assigned_tickets(user=instance.user, reason=workflow.LEFT_REMOVED)


@receiver(post_delete, sender=Attachment, dispatch_uid="attachment_file_removed")
def attachment_file_removed(
    sender: type[Attachment], instance: Attachment, **kwargs: object
) -> None:
    delete_on_commit(instance.file)
