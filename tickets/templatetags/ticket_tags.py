"""Small pieces of ticket markup, written in Python because they repeat on every row.

A list of 25 tickets included `tickets/_status.html` twice and `tickets/work/_sla.html`
once per row; each `{% include %}` builds a new context and walks a template, which
was most of the technician's queue page's CPU (bench/RESULTS.md, "Where the time
goes"). These filters write the same HTML with `format_html`, so every value is
escaped, and the partials call them too, so the markup lives in one place.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from portal.templatetags.datefmt import date_minute
from tickets.sla import SlaClock

register = template.Library()

# A ticket status → the Bootstrap badge colour it is shown in; anything else is light.
STATUS_BADGE_CLASSES = {
    "new": "text-bg-secondary",
    "queued": "text-bg-info",
    "in_progress": "text-bg-primary",
    "waiting_merchant": "text-bg-warning",
    "resolved": "text-bg-success",
}
OTHER_STATUS_CLASS = "text-bg-light border"


@register.filter
def status_badge(status: str, label: object) -> SafeString:
    """`{{ ticket.status|status_badge:ticket.get_status_display }}`: the status badge."""
    return format_html(
        '<span class="badge {}">{}</span>',
        STATUS_BADGE_CLASSES.get(status, OTHER_STATUS_CLASS),
        label,
    )


@register.filter
def sla_clock(clock: SlaClock | None) -> str:
    """`{{ row.clock|sla_clock }}`: the time left or overdue, with the due time as a
    tooltip; nothing for a ticket without a running clock."""
    if clock is None or not clock.text:
        return ""
    if clock.overdue:
        css = "sla-overdue"
    elif clock.paused:
        css = "text-body-secondary fst-italic"
    else:
        css = ""
    if clock.due:
        # What `{{ due|date:"Y-m-d H:i" }}` printed: in the reader's time zone.
        due = date_minute(localtime(clock.due))
        title = format_html(' title="{} {}"', _("due"), due)
    else:
        title = ""
    html = format_html('<span class="{}"{}>{}</span>', css, title, clock.text)
    if clock.paused and clock.overdue:
        html += format_html(
            ' <span class="text-body-secondary fst-italic">({})</span>', _("paused")
        )
    return html
