"""A person's API keys: merchant users and provider managers create and revoke them.

A new key's token is shown once, on the page that answers its creation (never stored in
clear, never in a redirect's URL or the session). Anyone else (a technician who is not
a manager, an admin) gets 404, as for any page outside their scope.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from api.forms import KeyForm, RevokeForm
from api.models import ApiKey

KEYS_PER_PAGE = 25


def may_hold_keys(user: object) -> bool:
    """Merchant users and provider managers (devices.models.Membership.manager)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    membership = getattr(user, "_membership", None)
    if membership is None:
        return False
    return membership.merchant_id is not None or (
        membership.provider_id is not None and membership.manager
    )


def _keys_owner(request: HttpRequest) -> object:
    if not may_hold_keys(request.user):
        raise Http404
    return request.user


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def key_list(request: HttpRequest) -> HttpResponse:
    user = _keys_owner(request)
    form = KeyForm(request.POST or None)
    token = None
    if request.method == "POST" and form.is_valid():
        _key, token = ApiKey.issue(
            user=user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"]
        )
        form = KeyForm()
    page = Paginator(
        ApiKey.objects.filter(user=user).order_by("-created_at", "-id"), KEYS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "api/keys.html",
        {"form": form, "keys": page.object_list, "page": page, "token": token},
    )


@require_POST
@login_required
def key_revoke(request: HttpRequest) -> HttpResponse:
    user = _keys_owner(request)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        raise Http404
    key = ApiKey.objects.filter(user=user, pk=form.cleaned_data["key"]).first()
    if key is None:
        raise Http404
    if key.revoke():
        messages.success(
            request, _("Key “%(name)s” revoked: it no longer works.") % {"name": key.name}
        )
    return redirect("api:keys")
