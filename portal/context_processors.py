from __future__ import annotations

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, object]:
    """The role of the user, so the base layout shows the right menu."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_role": None}
    membership = user._membership
    # A provider's manager also sees the manager's pages (webhooks).
    manager = bool(membership and membership.provider_id and membership.manager)
    return {"nav_role": user.role, "nav_manager": manager}
