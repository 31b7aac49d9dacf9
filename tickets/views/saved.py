"""Saving and deleting a technician's named queue filters (tickets.saved_views)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.access import provider_of
from portal.validators import refuse_control_characters
from tickets.access import technician_queue
from tickets.models import SavedView
from tickets.pci import refuse_card_number
from tickets.saved_views import MAX_VIEWS, params_of


class SaveViewForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of this view"),
        max_length=60,
        validators=[refuse_card_number, refuse_control_characters],
    )


@require_POST
@login_required
def saved_view_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the filter the queue list shows (its query string comes along as `query`)."""
    queue = technician_queue(request, pk)
    params = params_of(_query(request.POST.get("query", "")))
    back = reverse("tickets:queue", args=[queue.pk])
    if params:
        back += "?" + urlencode(params)
    form = SaveViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("name", [])))
        return redirect(back)
    name = form.cleaned_data["name"].strip()
    mine = SavedView.objects.filter(user=request.user)
    if mine.filter(name=name).exists():
        messages.error(request, _("You already have a view called “%(name)s”.") % {"name": name})
    elif mine.count() >= MAX_VIEWS:
        messages.error(
            request,
            _("You can keep %(n)d views: delete one first.") % {"n": MAX_VIEWS},
        )
    else:
        SavedView.objects.create(user=request.user, queue=queue, name=name, params=params)
        messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return redirect(back)


@require_POST
@login_required
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    provider_of(request)
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    view.delete()
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("tickets:work")


def _query(text: str):  # noqa: ANN202 - a QueryDict
    from django.http import QueryDict

    return QueryDict(text[:2000])
