"""/reports/ (a date range, a provider, a breakdown), the provider scorecard, and their
exports. Admins read every provider; a provider's manager only their own (reports.access);
anyone else 404. The page reads rollups, so its queries do not grow with the tickets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from reports import charts, export, ticket_rows
from reports.access import Scope, report_scope
from reports.forms import BREAKDOWN_LABELS, ReportForm
from reports.report import Figures, Report, Standing, build, scorecard

PAGE_SIZE = 25
CHART_ROWS = 10


class RatedN:
    """The header "Rated 3", worded in the language of the request that writes it."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __str__(self) -> str:
        return _("Rated %(n)d") % {"n": self.n}


# Every column of a breakdown's export (the page shows most of them in its tables).
COLUMNS: list[tuple[object, Callable[[Figures], object]]] = [
    (gettext_lazy("Filed"), lambda f: f.counts["filed"]),
    (gettext_lazy("Filed unable to take payments"), lambda f: f.counts["filed_no_payments"]),
    (gettext_lazy("Resolved"), lambda f: f.counts["resolved"]),
    (gettext_lazy("First response, median (min)"), lambda f: f.first_response_median),
    (gettext_lazy("First response, p90 (min)"), lambda f: f.first_response_p90),
    (gettext_lazy("Resolution, median (min)"), lambda f: f.resolution_median),
    (gettext_lazy("Resolution, p90 (min)"), lambda f: f.resolution_p90),
    (gettext_lazy("SLA met"), lambda f: f.counts["sla_met"]),
    (gettext_lazy("SLA breached"), lambda f: f.counts["sla_breached"]),
    (gettext_lazy("SLA compliance (%)"), lambda f: f.sla_compliance),
    (gettext_lazy("Reopened"), lambda f: f.counts["reopened"]),
    (gettext_lazy("Reopen rate (%)"), lambda f: f.reopen_rate),
    (gettext_lazy("Ratings"), lambda f: f.counts["rated"]),
    (gettext_lazy("Average rating"), lambda f: f.rating_average),
    *((RatedN(n), lambda f, n=n: f.counts[f"rating_{n}"]) for n in range(1, 6)),
    (gettext_lazy("Fixed by self-help"), lambda f: f.counts["deflected"]),
    (gettext_lazy("Self-help deflection (%)"), lambda f: f.deflection_rate),
    (gettext_lazy("In warranty, free"), lambda f: f.counts["warranty_free"]),
    (gettext_lazy("Paid"), lambda f: f.counts["paid"]),
    (gettext_lazy("Warranty share (%)"), lambda f: f.warranty_share),
    (gettext_lazy("Paid share (%)"), lambda f: f.paid_share),
    (gettext_lazy("Quotes sent"), lambda f: f.counts["quotes_sent"]),
    (gettext_lazy("Quotes accepted"), lambda f: f.counts["quotes_accepted"]),
    (gettext_lazy("Quotes declined"), lambda f: f.counts["quotes_declined"]),
    (gettext_lazy("Quote acceptance (%)"), lambda f: f.quote_acceptance),
    (gettext_lazy("Quoted (CNY)"), lambda f: f.amounts["quoted_amount"]),
    (gettext_lazy("Accepted (CNY)"), lambda f: f.amounts["accepted_amount"]),
    (gettext_lazy("Tickets with downtime"), lambda f: f.counts["downtime_tickets"]),
    (gettext_lazy("Merchant downtime (hours)"), lambda f: f.downtime_hours),
    (gettext_lazy("Downtime per ticket (hours)"), lambda f: f.downtime_hours_per_ticket),
    (gettext_lazy("Terminal faults filed"), lambda f: f.counts["filed_faults"]),
    (gettext_lazy("Active terminals"), lambda f: f.active_terminals),
    (gettext_lazy("Failures per 100 terminals a month"), lambda f: f.failures_per_100),
]


def _report(request: HttpRequest) -> tuple[Scope, ReportForm, dict, Report]:
    scope = report_scope(request)
    form = ReportForm(request.GET, admin=scope.admin)
    values = form.values()
    provider = scope.provider if not scope.admin else values["provider"]
    report = build(provider, values["start"], values["end"], str(values["by"]))
    return scope, form, values, report


@require_safe
@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    scope, form, values, report = _report(request)
    page = Paginator(report.groups, PAGE_SIZE).get_page(values["page"])
    top = report.groups[:CHART_ROWS]
    daily_chart = charts.columns(
        [(d.isoformat(), filed) for d, filed, _r, _b in report.daily],
        line=[resolved for _d, _f, resolved, _b in report.daily],
    )
    backlog_chart = charts.columns(
        [(d.isoformat(), backlog) for d, _f, _r, backlog in report.daily]
    )
    compliance_chart = charts.hbars(
        [(f.label or _("(none)"), f.sla_compliance, _pct(f.sla_compliance)) for f in top], limit=100
    )
    downtime_chart = charts.hbars(
        [(f.label or _("(none)"), f.downtime_hours, f"{f.downtime_hours:g} h") for f in top]
    )
    rating_chart = charts.hbars(
        [(f"{n} ★", count, str(count)) for n, count in report.total.rating_distribution]
    )
    failures_chart = None
    if report.by in ("model", "brand"):
        failures_chart = charts.hbars(
            [(f.label, f.failures_per_100, _num(f.failures_per_100)) for f in top]
        )
    return render(
        request,
        "reports/index.html",
        {
            "scope": scope,
            "form": form,
            "report": report,
            "by_label": BREAKDOWN_LABELS.get(report.by, report.by),
            "page": page,
            "daily_chart": daily_chart,
            "backlog_chart": backlog_chart,
            "compliance_chart": compliance_chart,
            "downtime_chart": downtime_chart,
            "rating_chart": rating_chart,
            "failures_chart": failures_chart,
            "query": request.GET.urlencode(),
        },
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:g} %"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _anonymised(standings: list[Standing], admin: bool) -> list[tuple[str, Standing]]:
    """(shown name, standing): a manager reads only their own provider's name."""
    out = []
    letter = 0
    for standing in standings:
        if admin or standing.own:
            name = standing.name
        else:
            name = _("Other provider %(letter)s") % {"letter": chr(ord("A") + letter % 26)}
            letter += 1
        out.append((name, standing))
    return out


@require_safe
@login_required
def scorecard_page(request: HttpRequest) -> HttpResponse:
    scope = report_scope(request)
    form = ReportForm(request.GET, admin=scope.admin)
    values = form.values()
    standings = _anonymised(scorecard(values["start"], values["end"], scope.provider), scope.admin)
    chart = charts.hbars(
        [(name, s.figures.sla_compliance, _pct(s.figures.sla_compliance)) for name, s in standings],
        limit=100,
    )
    return render(
        request,
        "reports/scorecard.html",
        {
            "scope": scope,
            "form": form,
            "values": values,
            "standings": standings,
            "chart": chart,
            "query": request.GET.urlencode(),
        },
    )


EXPORTS = ("breakdown", "daily", "scorecard", "tickets")


@require_safe
@login_required
def report_export(request: HttpRequest, table: str, fmt: str) -> HttpResponseBase:
    if table not in EXPORTS or fmt not in export.FORMATS:
        raise Http404
    if table == "scorecard":
        scope = report_scope(request)
        values = ReportForm(request.GET, admin=scope.admin).values()
        standings = _anonymised(
            scorecard(values["start"], values["end"], scope.provider), scope.admin
        )
        header = [
            _("Provider"),
            _("SLA compliance (%)"),
            _("Rank"),
            _("Downtime per ticket (hours)"),
            _("Rank"),
            _("Average rating"),
            _("Rank"),
            _("Reopen rate (%)"),
            _("Rank"),
        ]
        rows: Iterator[list] = (
            [
                name,
                s.figures.sla_compliance,
                s.ranks["sla_compliance"],
                s.figures.downtime_hours_per_ticket,
                s.ranks["downtime_hours_per_ticket"],
                s.figures.rating_average,
                s.ranks["rating_average"],
                s.figures.reopen_rate,
                s.ranks["reopen_rate"],
            ]
            for name, s in standings
        )
        filename = f"posdesk-scorecard-{values['start']}-{values['end']}"
        return export.response(fmt, filename, header, rows)
    if table == "tickets":
        scope = report_scope(request)
        values = ReportForm(request.GET, admin=scope.admin).values()
        provider = scope.provider if not scope.admin else values["provider"]
        filename = f"posdesk-tickets-{values['start']}-{values['end']}"
        header, rows = ticket_rows.report_tickets(provider, values["start"], values["end"])
        return export.response(fmt, filename, header, rows)
    _scope, _form, values, report = _report(request)
    if table == "daily":
        header = [_("Day"), _("Filed"), _("Resolved"), _("Open at the end of the day")]
        rows = ([d, f, r, b] for d, f, r, b in report.daily)
    else:
        header = [str(BREAKDOWN_LABELS.get(report.by, report.by)), *(str(c[0]) for c in COLUMNS)]
        everything = [_total_figures(report), *report.groups]
        rows = ([f.label, *(get(f) for _h, get in COLUMNS)] for f in everything)
    filename = f"posdesk-report-{table}-{report.by}-{values['start']}-{values['end']}"
    return export.response(fmt, filename, header, rows)


def _total_figures(report: Report) -> Figures:
    report.total.label = _("All")
    return report.total
