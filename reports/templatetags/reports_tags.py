from __future__ import annotations

from datetime import timedelta

from django import template

from tickets.sla import duration_text

register = template.Library()


@register.filter
def minutes(value: float | None) -> str:
    """SLA-time minutes as "2 h 5 min"; a dash when there is nothing to show."""
    if value is None:
        return "–"
    return duration_text(timedelta(minutes=value))


@register.filter
def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:g} %"


@register.filter
def dash(value: object) -> object:
    return "–" if value is None else value
