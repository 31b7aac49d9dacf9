"""A technician says whether they take tickets now (issue 14, item 7): queues that
assign automatically give tickets only to those on duty (tickets.assignment)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from devices.models import Membership
from portal.access import provider_of
from portal.auth import forget_users


@require_POST
@login_required
def work_duty(request: HttpRequest) -> HttpResponse:
    provider = provider_of(request)  # technicians only; anyone else 404
    on_duty = request.POST.get("on_duty") == "1"
    Membership.objects.filter(user=request.user, provider=provider).update(on_duty=on_duty)
    forget_users([request.user.pk])  # the cached copy (portal.auth) has the old one
    if on_duty:
        messages.success(
            request, _("You are on duty: queues that assign automatically give you tickets.")
        )
    else:
        messages.success(
            request, _("You are off duty: no tickets are assigned to you automatically.")
        )
    return redirect("tickets:work")
