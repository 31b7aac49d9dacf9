"""The authentication backend: Django's ModelBackend, loading the membership with the user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class MembershipBackend(ModelBackend):
    """ModelBackend whose `get_user` (run on every request with a session) fetches the
    user's membership, merchant and provider in the same query.

    Every page asks `request.user.merchant` or `.provider` to scope what it shows; with
    the plain ModelBackend that was a second query on each request.
    """

    def get_user(self, user_id):  # noqa: ANN001, ANN201 - ModelBackend's signature
        users = get_user_model()._default_manager.select_related(
            "membership__merchant", "membership__provider"
        )
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
