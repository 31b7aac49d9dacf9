"""A provider's webhooks (issue 16, part 3): its managers (Membership.manager) register
endpoints, read each delivery and its attempts, and send one again. Everything here is
the managers' alone: another provider's endpoint or delivery, or a technician who is
not a manager, gets a 404, as canned replies' editing does.

The secret is shown once, on the page the manager lands on after creating the endpoint
or replacing its secret, and never again: it is a credential of the provider's own
system, and a page that could show it at any time would hand it to whoever reads that
screen or its cache later. A lost secret is replaced, not looked up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from webhooks import services
from webhooks.forms import EndpointForm
from webhooks.models import Delivery, Endpoint, Event, new_secret

if TYPE_CHECKING:
    from devices.models import Provider
    from portal.models import User

PAGE_SIZE = 25
# The session key holding a secret until its one showing.
SECRET_KEY = "webhooks_secret_once"


# Scope: one helper per kind of object, taking a user ---------------------------------------


def managed_provider(user: User) -> Provider:
    """The provider `user` manages, or 404."""
    if not user.is_authenticated:
        raise Http404
    membership = user._membership
    if membership is None or membership.provider_id is None or not membership.manager:
        raise Http404
    return membership.provider


def endpoints_for(user: User) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(provider=managed_provider(user))


def endpoint_for(user: User, pk: int) -> Endpoint:
    return get_object_or_404(endpoints_for(user), pk=pk)


def delivery_for(user: User, pk: int) -> Delivery:
    return get_object_or_404(
        Delivery.objects.select_related("endpoint").filter(
            endpoint__provider=managed_provider(user)
        ),
        pk=pk,
    )


# Pages ------------------------------------------------------------------------------------


@require_safe
@login_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    provider = managed_provider(request.user)
    page = Paginator(endpoints_for(request.user).order_by("pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "webhooks/endpoint_list.html",
        {"provider": provider, "page": page, "labels": dict(Event.choices)},
    )


def _show_secret_once(request: HttpRequest, endpoint: Endpoint) -> None:
    request.session[SECRET_KEY] = {"endpoint": endpoint.pk, "secret": endpoint.secret}


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def endpoint_new(request: HttpRequest) -> HttpResponse:
    provider = managed_provider(request.user)
    form = EndpointForm(request.POST if request.method == "POST" else None, provider_id=provider.pk)
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(commit=False)
        endpoint.created_by = request.user
        endpoint.save()
        _show_secret_once(request, endpoint)
        messages.success(request, _("Webhook saved. Copy its secret now: it is shown once."))
        return redirect(endpoint)
    return render(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "endpoint": None},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = endpoint_for(request.user, pk)
    form = EndpointForm(
        request.POST if request.method == "POST" else None,
        instance=endpoint,
        provider_id=endpoint.provider_id,
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Webhook saved."))
        return redirect(endpoint)
    return render(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "endpoint": endpoint},
        status=400 if form.is_bound else 200,
    )


@require_safe
@login_required
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = endpoint_for(request.user, pk)
    once = request.session.get(SECRET_KEY)
    secret = None
    if once and once.get("endpoint") == endpoint.pk:
        secret = once["secret"]
        del request.session[SECRET_KEY]
    deliveries = endpoint.deliveries.order_by("-created_at", "-pk")
    status = request.GET.get("status", "")
    if status in Delivery.Status.values:  # allow-listed: never an ORM key from the client
        deliveries = deliveries.filter(status=status)
    else:
        status = ""
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    response = render(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "secret": secret,
            "page": page,
            "status": status,
            "statuses": Delivery.Status.choices,
            "labels": dict(Event.choices),
        },
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = endpoint_for(request.user, pk)
    endpoint.secret = new_secret()
    endpoint.secret_rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "secret_rotated_at"])
    _show_secret_once(request, endpoint)
    messages.success(
        request, _("New secret made: the old one no longer signs. Copy it now: it is shown once.")
    )
    return redirect(endpoint)


@require_POST
@login_required
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = endpoint_for(request.user, pk)
    with transaction.atomic():
        endpoint.delete()
    messages.success(request, _("Webhook “%(url)s” deleted.") % {"url": endpoint.url})
    return redirect("webhooks:list")


@require_safe
@login_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = delivery_for(request.user, pk)
    page = Paginator(delivery.tries.order_by("-at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "webhooks/delivery_detail.html",
        {"delivery": delivery, "page": page, "labels": dict(Event.choices)},
    )


@require_POST
@login_required
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = delivery_for(request.user, pk)
    if services.redeliver(delivery):
        messages.success(request, _("The delivery will be sent again now."))
    else:
        messages.warning(request, _("It is being sent right now: look again in a moment."))
    return redirect("webhooks:delivery", pk=delivery.pk)
