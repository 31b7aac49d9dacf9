"""E-mail settings (issue 18, part 2): a technician chooses which arrivals in their
provider's queues are e-mailed, a shop member which updates of the shop's tickets.
Each page is its own person's only; anyone without that role gets a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import merchant_of, provider_of
from tickets.forms_notifications import ShopNotificationsForm, TechnicianNotificationsForm


def _edit(
    request: HttpRequest, form_class: type[ModelForm], template: str, url_name: str
) -> HttpResponse:
    form = form_class(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()  # a save: the cached copy of the user is dropped (portal.auth)
        messages.success(request, _("Your e-mail settings are saved."))
        return redirect(url_name)
    return render(request, template, {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def work_notifications(request: HttpRequest) -> HttpResponse:
    provider_of(request)  # technicians only; anyone else 404
    return _edit(
        request,
        TechnicianNotificationsForm,
        "tickets/work/notifications.html",
        "tickets:work_notifications",
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def shop_notifications(request: HttpRequest) -> HttpResponse:
    merchant_of(request)  # a shop's members only; anyone else 404
    return _edit(
        request, ShopNotificationsForm, "tickets/notifications.html", "tickets:notifications"
    )
