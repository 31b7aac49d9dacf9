"""Technician pages across queues: search (`tickets.search`) and "all my tickets".

Both list their rows as the queue page does (`work._rows` and `_rows.html`), and both are
inside the technician's provider: anyone else gets 404 (`provider_of`), an anonymous
visitor the log-in page. A page reads the same few queries whatever its length.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from portal.access import provider_of
from portal.validators import refuse_control_characters
from tickets import search
from tickets.models import Ticket
from tickets.views.bulk import bulk_form
from tickets.views.work import PAGE_SIZE, ROW_FIELDS, _rows

PAGE_MAX = 10_000


class SearchForm(forms.Form):
    """Read from the query string; a bad value is as if it were not given."""

    q = forms.CharField(
        label=_("Search"),
        max_length=search.QUERY_MAX,
        required=False,
        validators=[refuse_control_characters],
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=PAGE_MAX)


# "All my tickets": the public filter names (the form's choices are the allow-list).
MINE_OPEN, MINE_WAITING, MINE_RESOLVED = "open", "waiting", "resolved"


class MineForm(forms.Form):
    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            (MINE_OPEN, _("Open")),
            (MINE_WAITING, _("Waiting on merchant")),
            (MINE_RESOLVED, _("Resolved")),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=PAGE_MAX)


def _values(form: forms.Form) -> dict[str, object]:
    form.is_valid()
    return {name: value for name, value in form.cleaned_data.items() if value not in ("", None)}


def _ordered(ids: list[int]) -> list[Ticket]:
    """The rows of `ids` with what a list shows, in the order of `ids` (one query)."""
    tickets = {
        ticket.pk: ticket
        for ticket in Ticket.objects.filter(pk__in=ids).for_work_list().only(*ROW_FIELDS)
    }
    return [tickets[pk] for pk in ids if pk in tickets]


@require_safe
@login_required
def work_search(request: HttpRequest) -> HttpResponse:
    provider = provider_of(request)
    form = SearchForm(request.GET)
    values = _values(form)
    query = search.normalise(str(values.get("q", "")))
    number = int(values.get("page", 1))
    found = search.search(provider, query, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    # The total came with the rows (at most search.CAP): a range stands in for them, so
    # the paginator counts nothing itself. A page past the end shows the last one.
    page: Page = Paginator(range(found.total), PAGE_SIZE).get_page(number)
    if found.total and page.number != number:
        found = search.search(
            provider, query, offset=(page.number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    return render(
        request,
        "tickets/work/search.html",
        {
            "form": form,
            "query": query,
            "total": found.total,
            "more": found.more,
            "page": page,
            "rows": _rows(_ordered(found.ids), timezone.now()),
            # Bulk actions on the results, as on a queue page (two queries, when any).
            "bulk": bulk_form(request, provider) if found.ids else None,
        },
    )


@require_safe
@login_required
def work_mine(request: HttpRequest) -> HttpResponse:
    provider = provider_of(request)
    form = MineForm(request.GET)
    values = _values(form)
    show = str(values.get("show", MINE_OPEN))
    now = timezone.now()
    tickets = Ticket.objects.filter(queue__provider=provider, assigned_to=request.user)
    if show == MINE_WAITING:
        tickets = tickets.filter(status=Ticket.Status.WAITING_MERCHANT).most_urgent_first(now)
    elif show == MINE_RESOLVED:
        tickets = tickets.filter(status=Ticket.Status.RESOLVED).order_by(
            F("resolved_at").desc(nulls_last=True), "-id"
        )
    else:
        tickets = tickets.in_work().most_urgent_first(now)
    paginator = Paginator(tickets.values_list("pk", flat=True), PAGE_SIZE)
    page = paginator.get_page(values.get("page", 1))
    return render(
        request,
        "tickets/work/mine.html",
        {
            "form": form,
            "show": show,
            "page": page,
            "rows": _rows(_ordered(list(page.object_list)), now),
            "bulk": bulk_form(request, provider) if page.object_list else None,
        },
    )
