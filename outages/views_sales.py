"""The offline sales log of a ticket: sales the shop took another way (cash, a QR code,
a backup terminal) while its terminal could not take card payments.

The shop logs them on its ticket while `services.may_log_sales` allows, lists them with
totals per method, exports them as CSV (formula-safe, UTF-8 with a BOM so a spreadsheet
opens Chinese text right) and prints them for the acquirer or its books. The technicians
of the provider handling the ticket read the log; nobody else reaches it (404).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from outages import services
from outages.forms import OfflineSaleForm
from outages.models import Downtime, OfflineSale
from tickets.access import merchant_ticket, technician_ticket
from tickets.models import Ticket

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _log(ticket: Ticket) -> dict[str, Any]:
    """The log as every page shows it: the downtime, the sales and their totals."""
    downtime = Downtime.objects.filter(ticket=ticket).first()
    sales = list(ticket.offline_sales.order_by("sold_at", "id"))
    return {
        "ticket": ticket,
        "downtime": downtime,
        "sales": sales,
        "totals": services.sales_totals(sales),
        "total": sum((sale.amount for sale in sales), Decimal("0")),
        "may_log": services.may_log_sales(ticket, downtime),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def offline_sales(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    context = _log(ticket)
    form = None
    status = 200
    if request.method == "POST":
        form = OfflineSaleForm(request.POST)
        if not context["may_log"]:
            messages.error(
                request, _("Sales are logged here only while the shop cannot take card payments.")
            )
            return redirect("outages:offline_sales", reference=ticket.reference)
        if form.is_valid():
            try:
                services.log_sale(ticket, request.user, **form.sale_kwargs())
            except services.Refused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("The sale is in the log."))
                return redirect("outages:offline_sales", reference=ticket.reference)
        status = 400
    if context["may_log"] and form is None:
        form = OfflineSaleForm(
            initial={"sold_at": timezone.localtime().replace(second=0, microsecond=0)}
        )
    return render(request, "outages/offline_sales.html", {**context, "form": form}, status=status)


@require_safe
@login_required
def offline_sales_csv(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    sales = ticket.offline_sales.order_by("sold_at", "id")
    methods = dict(OfflineSale.Method.choices)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ticket.reference}-offline-sales.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    response.write("\ufeff")  # the BOM: spreadsheets then read the file as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Time of the sale"),
            _("Amount (CNY)"),
            _("Paid by"),
            _("Card's last four digits"),
            _("Note"),
            _("Ticket"),
        ]
    )
    for sale in sales:
        writer.writerow(
            formula_safe(cell)
            for cell in (
                timezone.localtime(sale.sold_at).strftime("%Y-%m-%d %H:%M"),
                sale.amount,
                methods.get(sale.method, sale.method),
                sale.card_last4,
                sale.note,
                ticket.reference,
            )
        )
    return response


@require_safe
@login_required
def offline_sales_print(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    context = _log(ticket)
    sales = context["sales"]
    downtime = context["downtime"]
    # The period the sheet covers: the downtime, widened to any sale logged outside it.
    starts = [downtime.started_at] if downtime else []
    ends = [downtime.ended_at] if downtime and downtime.ended_at else []
    if sales:
        starts.append(sales[0].sold_at)
        ends.append(sales[-1].sold_at)
    context.update(
        merchant=ticket.merchant,
        period_start=min(starts) if starts else None,
        period_end=max(ends) if ends and not (downtime and downtime.is_open) else None,
        printed_at=timezone.now(),
    )
    return render(request, "outages/offline_sales_print.html", context)


@require_safe
@login_required
def work_offline_sales(request: HttpRequest, reference: str) -> HttpResponse:
    """Read-only, for the technicians of the provider whose queue holds the ticket."""
    ticket = technician_ticket(request, reference)
    return render(request, "outages/sales_work.html", _log(ticket))
