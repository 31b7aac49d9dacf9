"""Bulk actions: one technician action on the tickets ticked on a list.

Any list drops the form in with `bulk_form(request, provider)` in its context,
`{% include "tickets/work/_bulk.html" %}` below the list and `_rows.html` with `bulk`
set (a checkbox per row, tied to the form by its `form=` attribute: no JavaScript).
The actions are the `bulk` rows of `forms_work.WORK_ACTIONS`.

Each ticket goes through the workflow on its own and writes its own events; what was
done and what was refused (and why) is said ticket by ticket after the POST. The
selection is read inside the technician's provider only: another provider's ticket in a
crafted POST is treated exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from devices.models import Provider
from portal.access import provider_of
from tickets import limits, workflow
from tickets.forms_work import BULK_ACTIONS, WorkAction
from tickets.models import Ticket

# More than a few pages of a list at once is a mistake, or not a person.
MOST_AT_ONCE = 100


@dataclass
class BulkBlock:
    action: WorkAction
    form: forms.Form | None
    open: bool


@dataclass
class BulkForm:
    """What `_bulk.html` shows: the actions with their fields, where to come back to, and
    (on the page that shows a form error again) the tickets still selected."""

    blocks: list[BulkBlock]
    next: str
    selected: list[Ticket]


def bulk_form(
    request: HttpRequest,
    provider: Provider,
    *,
    bound: dict[str, forms.Form] | None = None,
    selected: list[Ticket] | None = None,
    next_url: str | None = None,
) -> BulkForm:
    """The bulk form for a list page: a fixed number of queries (the colleagues and the
    queues for the selects), however long the list."""
    bound = bound or {}
    blocks = [
        BulkBlock(
            action=action,
            form=bound[name]
            if name in bound
            else action.build(None, ticket=None, provider=provider, bulk=True),
            open=name in bound,
        )
        for name, action in BULK_ACTIONS.items()
    ]
    return BulkForm(
        blocks=blocks,
        next=next_url or request.get_full_path(),
        selected=selected or [],
    )


def _back(request: HttpRequest) -> str:
    """The list the technician came from; only a path of this site."""
    wanted = request.POST.get("next", "")
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("tickets:work")


def _selected_ids(request: HttpRequest) -> list[int]:
    # Anything but a plain id is dropped: a bad value is as if it were not ticked.
    ids = []
    for value in request.POST.getlist("tickets"):
        if value.isascii() and value.isdigit() and len(value) < 19:
            ids.append(int(value))
    return list(dict.fromkeys(ids))


@require_POST
@login_required
def work_bulk(request: HttpRequest) -> HttpResponse:
    provider = provider_of(request)
    back = _back(request)
    action = BULK_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Choose what to do with the selected tickets."))
        return redirect(back)
    ids = _selected_ids(request)
    if not ids:
        messages.error(request, _("Select at least one ticket."))
        return redirect(back)
    if len(ids) > MOST_AT_ONCE:
        messages.error(
            request,
            _("Select at most %(count)d tickets at once.") % {"count": MOST_AT_ONCE},
        )
        return redirect(back)
    # Scope: only this provider's tickets are read at all.
    tickets = list(
        Ticket.objects.filter(pk__in=ids, queue__provider=provider)
        .select_related("device__model__brand", "merchant", "queue__provider", "assigned_to")
        .order_by("reference")
    )
    form = action.build(request.POST, ticket=None, provider=provider, bulk=True)
    if form is not None and not form.is_valid():
        return _again(request, provider, action, form, tickets, back)
    if action.counted and (limited := limits.message(request.user)) is not None:
        # One message for the lot: the same text on every ticket is written once.
        form.add_error(None, limited.message)
        response = _again(request, provider, action, form, tickets, back)
        response.status_code = 429
        response["Retry-After"] = str(limited.retry_after)
        return response
    data = form.cleaned_data if form is not None else {}
    done, refused = [], []
    for ticket in tickets:
        try:
            action.run(ticket, request.user, data)
        except workflow.NotAllowed as refusal:
            refused.append((ticket.reference, str(refusal)))
        else:
            done.append(ticket.reference)
    if done:
        messages.success(
            request,
            _("%(action)s: done for %(references)s.")
            % {"action": action.summary, "references": ", ".join(done)},
        )
    for reference, why in refused:
        messages.error(
            request,
            _("%(reference)s was left as it was: %(reason)s")
            % {"reference": reference, "reason": why},
        )
    if unknown := len(ids) - len(tickets):
        # Not in this provider's queues (transferred away since, or never there): the
        # same words either way, and no reference to tell.
        messages.warning(
            request,
            ngettext(
                "%(count)d selected ticket is not in your queues: nothing was done to it.",
                "%(count)d selected tickets are not in your queues: nothing was done to them.",
                unknown,
            )
            % {"count": unknown},
        )
    return redirect(back)


def _again(
    request: HttpRequest,
    provider: Provider,
    action: WorkAction,
    form: forms.Form,
    tickets: list[Ticket],
    back: str,
) -> HttpResponse:
    """The chosen action's form again, next to its fields with what was typed, for the
    same selection: nothing was done yet."""
    messages.error(request, _("Check the form below: nothing was done yet."))
    return render(
        request,
        "tickets/work/bulk.html",
        {
            "bulk": bulk_form(
                request, provider, bound={action.name: form}, selected=tickets, next_url=back
            ),
            "back": back,
        },
    )
