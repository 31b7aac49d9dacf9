"""Canned replies of a provider (issue 14, item 4): every technician reads them and
inserts them into a reply or a question; its managers (Membership.manager) keep them.
Another provider's reply, or a technician who is not a manager editing, is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from devices.models import Provider
from portal.access import provider_of
from tickets.canned import PLACEHOLDERS, for_provider
from tickets.forms_canned import CannedReplyForm
from tickets.models import CannedReply


def _manager_of(request: HttpRequest) -> Provider:
    provider = provider_of(request)
    membership = request.user._membership
    if not membership.manager:
        raise Http404
    return provider


@require_safe
@login_required
def canned_list(request: HttpRequest) -> HttpResponse:
    provider = provider_of(request)
    return render(
        request,
        "tickets/work/canned_list.html",
        {
            "provider": provider,
            "replies": list(for_provider(provider.pk)),
            "manager": request.user._membership.manager,
            "placeholders": [f"{{{name}}}" for name in PLACEHOLDERS],
        },
    )


def _edit(request: HttpRequest, reply: CannedReply | None) -> HttpResponse:
    provider = _manager_of(request)
    if reply is not None and reply.provider_id != provider.pk:
        raise Http404
    form = CannedReplyForm(
        request.POST if request.method == "POST" else None,
        instance=reply,
        provider_id=provider.pk,
    )
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.updated_by = request.user
        saved.save()
        messages.success(request, _("Canned reply “%(title)s” saved.") % {"title": saved.title})
        return redirect("tickets:canned")
    return render(
        request,
        "tickets/work/canned_form.html",
        {"form": form, "reply": reply},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def canned_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def canned_edit(request: HttpRequest, pk: int) -> HttpResponse:
    provider = _manager_of(request)
    return _edit(request, get_object_or_404(CannedReply, pk=pk, provider=provider))


@require_POST
@login_required
def canned_delete(request: HttpRequest, pk: int) -> HttpResponse:
    provider = _manager_of(request)
    reply = get_object_or_404(CannedReply, pk=pk, provider=provider)
    reply.delete()
    messages.success(request, _("Canned reply “%(title)s” deleted.") % {"title": reply.title})
    return redirect("tickets:canned")
