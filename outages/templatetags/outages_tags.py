"""How outage pages word times: a moment of today as its time only, a length of time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.translation import gettext

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def when(value: object) -> str:
    """ "10:12" today, "2025-03-01 10:12" another day (in the current time zone)."""
    if not isinstance(value, datetime):
        return ""
    if value.date() == timezone.localdate():
        return f"{value.hour:02d}:{value.minute:02d}"
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


@register.filter(is_safe=False)
def duration(value: object) -> str:
    """A length of time in days, hours and minutes: "2 d 3 h", "3 h 05 min", "12 min"."""
    if not isinstance(value, timedelta):
        return ""
    minutes = max(int(value.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min") % {"minutes": minutes}


@register.simple_tag
def new_submission_token() -> str:
    """A fresh token for one "Me too" button: tapped twice, it files one ticket."""
    return str(uuid.uuid4())
