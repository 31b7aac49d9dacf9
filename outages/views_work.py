"""The technician's side of outages: their provider's incidents, one incident and its
actions, and declaring one by hand.

Only technicians of the incident's provider get here; anyone else gets 404 (staff are
sent to the admin from the list). Every incident comes through `technician_incident`, so
another provider's incident is a 404 on the page and on every action. Each action has
its own POST-only view: a form validates, `outages.services` acts, a refusal is shown
next to the form with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from devices.models import Provider
from outages import services
from outages.forms_work import ConfirmForm, DeclareForm, ResolveForm, UpdateForm
from outages.models import Incident, IncidentTicket
from portal.access import provider_of

PAGE_SIZE = 25
LINKS_PAGE_SIZE = 50
OPEN_ON_HOME = 5

ActionForms = dict[str, forms.Form]


def _counted(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Shops affected and linked tickets, in the query that reads the incidents."""
    return services.with_shop_counts(incidents).annotate(tickets=Count("links", distinct=True))


def _suspected_first(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    suspected = Case(
        When(status=Incident.Status.SUSPECTED, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return incidents.order_by(suspected, "-starts_at", "-id")


def home_incidents(provider: Provider, limit: int = OPEN_ON_HOME) -> dict[str, object]:
    """`/work/`'s block: the provider's first open incidents, suspected ones first, and
    whether there are more. One query, however many there are."""
    found = list(
        _suspected_first(_counted(Incident.objects.for_provider(provider.pk).open()))[: limit + 1]
    )
    return {
        "incidents": found[:limit],
        "more_incidents": len(found) > limit,
        "now": timezone.now(),
    }


def technician_incident(request: HttpRequest, pk: int) -> Incident:
    """The one way these views fetch an incident: the requester's provider's, or 404."""
    provider = provider_of(request)
    return get_object_or_404(
        _counted(Incident.objects.for_provider(provider.pk)).select_related("provider"),
        pk=pk,
    )


# The list ---------------------------------------------------------------------------------


@require_safe
@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff and request.user.provider is None:
        return redirect("admin:outages_incident_changelist")
    provider = provider_of(request)
    mine = _counted(Incident.objects.for_provider(provider.pk))
    # Open ones are few (each is one cause of many tickets): all of them, on every page.
    current = list(_suspected_first(mine.open()))
    resolved = Paginator(
        mine.filter(status=Incident.Status.RESOLVED).order_by("-resolved_at", "-id"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "outages/work/incident_list.html",
        {"provider": provider, "current": current, "page": resolved, "now": timezone.now()},
    )


# One incident -----------------------------------------------------------------------------


def _action_forms(incident: Incident, bound: ActionForms) -> ActionForms:
    """An empty form for each action its state allows; the one that failed keeps its input."""
    makers: dict[str, Callable[[], forms.Form]] = {}
    if incident.status == Incident.Status.SUSPECTED:
        makers["confirm"] = lambda: ConfirmForm(prefix="confirm")
    if incident.is_open:
        makers["update"] = lambda: UpdateForm(prefix="update")
        makers["resolve"] = lambda: ResolveForm(prefix="resolve")
    return {name: bound.get(name) or make() for name, make in makers.items()}


def _render_incident(
    request: HttpRequest, incident: Incident, bound: ActionForms | None = None
) -> HttpResponse:
    updates = list(incident.updates.select_related("author"))
    links = Paginator(
        IncidentTicket.objects.filter(incident=incident)
        .select_related("ticket", "merchant")
        .only(
            "linked_at",
            "via",
            "ticket__reference",
            "ticket__status",
            "ticket__symptom",
            "ticket__category",
            "merchant__name",
            "merchant__city",
        )
        .order_by("-linked_at", "-id"),
        LINKS_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "outages/work/incident.html",
        {
            "incident": incident,
            "updates": updates,
            "page": links,
            "forms": _action_forms(incident, bound or {}),
            "now": timezone.now(),
        },
    )


@require_safe
@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_incident(request, technician_incident(request, pk))


def _act(
    request: HttpRequest,
    incident: Incident,
    name: str,
    form: forms.Form,
    run: Callable[[dict[str, Any]], object],
    done: Callable[[], str],
) -> HttpResponse:
    if name not in _action_forms(incident, {}):
        # Not offered now (a stale page, a colleague was quicker): say so, lose nothing
        # worth keeping (the action would be refused anyway).
        messages.error(request, _("That is not possible on this incident now."))
        return redirect("outages:work_incident", incident.pk)
    if not form.is_valid():
        messages.error(request, _("Check the form below: nothing was done yet."))
        return _render_incident(request, incident, {name: form})
    try:
        run(form.cleaned_data)
    except services.Refused as refused:
        form.add_error(None, str(refused))
        return _render_incident(request, incident, {name: form})
    messages.success(request, done())
    return redirect("outages:work_incident", incident.pk)


def _sending(incident: Incident) -> str:
    """What a public update's author reads: the fan-out runs in Celery, after the page."""
    count = IncidentTicket.objects.filter(incident=incident).count()
    if not count:
        return _("No ticket is linked yet: the shops that file later see it.")
    return ngettext(
        "It is being sent to the %(count)d linked ticket and its shop.",
        "It is being sent to the %(count)d linked tickets and their shops.",
        count,
    ) % {"count": count}


@require_POST
@login_required
def incident_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    incident = technician_incident(request, pk)
    return _act(
        request,
        incident,
        "confirm",
        ConfirmForm(request.POST, prefix="confirm"),
        lambda data: services.confirm(incident, request.user, data["body"], data["body_zh_hans"]),
        lambda: _("Confirmed.") + " " + _sending(incident),
    )


@require_POST
@login_required
def incident_update(request: HttpRequest, pk: int) -> HttpResponse:
    incident = technician_incident(request, pk)
    form = UpdateForm(request.POST, prefix="update")

    def done() -> str:
        if not form.public:
            return _("Internal note added: the shops do not see it.")
        return _("Update posted.") + " " + _sending(incident)

    return _act(
        request,
        incident,
        "update",
        form,
        lambda data: services.post_update(
            incident,
            request.user,
            data["body"],
            data["body_zh_hans"],
            public=form.public,
            next_update_at=data["next_update_at"],
        ),
        done,
    )


@require_POST
@login_required
def incident_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    incident = technician_incident(request, pk)
    return _act(
        request,
        incident,
        "resolve",
        ResolveForm(request.POST, prefix="resolve"),
        lambda data: services.resolve(incident, request.user, data["body"], data["body_zh_hans"]),
        lambda: (
            _("Resolved: its open tickets are being resolved; each shop can reopen its own.")
            + " "
            + _sending(incident)
        ),
    )


# Declaring one by hand --------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def incident_new(request: HttpRequest) -> HttpResponse:
    provider = provider_of(request)
    form = DeclareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = services.declare(
                provider=provider,
                user=request.user,
                category=data["category"],
                symptoms=data["symptoms"],
                city=data["city"],
                district=data["district"],
                summary=data["summary"],
                summary_zh_hans=data["summary_zh_hans"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                next_update_at=data["next_update_at"],
                maintenance=data["maintenance"],
            )
        except services.Refused as refused:
            form.add_error(None, str(refused))
        else:
            linked = IncidentTicket.objects.filter(incident=incident).count()
            messages.success(
                request,
                ngettext(
                    "Incident declared: %(count)d open ticket is linked to it.",
                    "Incident declared: %(count)d open tickets are linked to it.",
                    linked,
                )
                % {"count": linked},
            )
            return redirect("outages:work_incident", incident.pk)
    return render(
        request,
        "outages/work/incident_new.html",
        {"form": form},
    )
