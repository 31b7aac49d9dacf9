"""The repair block of both ticket pages, loaded by the block itself (one query for the
repair), so the ticket views need not know about repairs."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms, template
from django.urls import reverse

from repairs import services
from repairs.models import Repair
from repairs.views import START_FORMS, STEP_FORMS, receipt_facts
from tickets import workflow
from tickets.models import Ticket

register = template.Library()

# What each method's block says; the template words each in the reader's language.
START_ORDER = (Repair.Method.VISIT, Repair.Method.SEND_IN, Repair.Method.SWAP)


@dataclass
class Button:
    name: str
    label: str
    url: str
    form: forms.Form | None


def _repair_of(ticket: Ticket) -> Repair | None:
    return Repair.objects.filter(ticket=ticket).first()


def _buttons(repair: Repair, ticket: Ticket, role: str, url_prefix: str) -> list[Button]:
    allowed = services.allowed_steps(repair, ticket, role)
    buttons = []
    for name, step in services.STEPS.items():
        if name not in allowed:
            continue
        form_class = STEP_FORMS.get(name)
        buttons.append(
            Button(
                name=name,
                label=str(step.label),
                url=reverse(f"repairs:{url_prefix}{name}", args=[ticket.reference]),
                form=form_class() if form_class is not None else None,
            )
        )
    return buttons


def _has_receipt(ticket: Ticket) -> bool:
    # Only a resolved billable ticket can have one: others cost no query.
    if not ticket.billable or ticket.status not in {Ticket.Status.RESOLVED, Ticket.Status.CLOSED}:
        return False
    return receipt_facts(ticket) is not None


@register.inclusion_tag("repairs/_work_block.html", takes_context=True)
def work_repair(context: template.Context, ticket: Ticket) -> dict:
    repair = _repair_of(ticket)
    starts = []
    refusal = None
    if repair is None and ticket.status in services.START_STATUSES:
        refusal = services.start_refusal(ticket)
        if refusal is None:
            starts = [
                {
                    "method": method,
                    "label": str(method.label),
                    "url": reverse(f"repairs:work_start_{method}", args=[ticket.reference]),
                    "form": START_FORMS[method](),
                }
                for method in START_ORDER
            ]
    return {
        "ticket": ticket,
        "repair": repair,
        "refusal": refusal,
        "starts": starts,
        "buttons": _buttons(repair, ticket, workflow.TECHNICIAN, "work_") if repair else [],
        "receipt": _has_receipt(ticket),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("repairs/_merchant_block.html", takes_context=True)
def merchant_repair(context: template.Context, ticket: Ticket) -> dict:
    repair = _repair_of(ticket)
    return {
        "ticket": ticket,
        "repair": repair,
        "buttons": _buttons(repair, ticket, workflow.MERCHANT, "") if repair else [],
        "receipt": _has_receipt(ticket),
        "csrf_token": context.get("csrf_token"),
    }
