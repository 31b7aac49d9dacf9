"""The authentication backend: Django's ModelBackend, loading the membership with the user,
and keeping both in the shared cache between requests."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver


def user_cache_key(user_id: object) -> str:
    return f"auth-user:{user_id}"


class MembershipBackend(ModelBackend):
    """ModelBackend whose `get_user` (run on every request with a session) fetches the
    user's membership, merchant and provider in the same query.

    Every page asks `request.user.merchant` or `.provider` to scope what it shows; with
    the plain ModelBackend that was a second query on each request. The result is kept
    in the cache for USER_CACHE_SECONDS (issue 18: a query less on every page): a save
    of the user, their membership, merchant or provider drops it at once (below), and
    the time limit bounds what a bulk `.update()`, which sends no signal, leaves stale.
    """

    def get_user(self, user_id):  # noqa: ANN001, ANN201 - ModelBackend's signature
        seconds = settings.USER_CACHE_SECONDS
        key = user_cache_key(user_id)
        user = cache.get(key) if seconds else None
        if user is None:
            users = get_user_model()._default_manager.select_related(
                "membership__merchant", "membership__provider"
            )
            try:
                user = users.get(pk=user_id)
            except get_user_model().DoesNotExist:
                return None
            if seconds:
                cache.set(key, user, seconds)
        return user if self.user_can_authenticate(user) else None


def forget_users(user_ids: Iterable[object]) -> None:
    cache.delete_many([user_cache_key(pk) for pk in user_ids])


@receiver(post_save, dispatch_uid="auth_user_cache_user_saved")
@receiver(post_delete, dispatch_uid="auth_user_cache_user_deleted")
def _drop_cached_users(sender: type, instance: object, **kwargs: object) -> None:
    from devices.models import Membership, Merchant, Provider

    if sender is get_user_model():
        if kwargs.get("update_fields") == frozenset({"last_login"}):
            return  # Django's own stamp at each log-in: nothing a page reads
        forget_users([instance.pk])
    elif sender is Membership:
        forget_users([instance.user_id])
    elif sender in (Merchant, Provider):
        field = "merchant" if sender is Merchant else "provider"
        forget_users(
            Membership.objects.filter(**{field: instance.pk}).values_list("user_id", flat=True)
        )


@receiver(user_logged_in, dispatch_uid="auth_user_cache_prime")
def _prime_cached_user(sender: type, user: object, **kwargs: object) -> None:
    """Read once at log-in (after Django saved last_login), so the first page after it
    costs what every later one does."""
    if settings.USER_CACHE_SECONDS:
        forget_users([user.pk])
        MembershipBackend().get_user(user.pk)
