"""Warranty arithmetic, kept apart from the models so it is easy to test on its own."""

from __future__ import annotations

import calendar
from datetime import date
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from devices.models import Device


class WarrantyStatus(models.TextChoices):
    IN = "in", _("In warranty")
    OUT = "out", _("Out of warranty")
    UNKNOWN = "unknown", _("Warranty unknown")


def add_months(start: date, months: int) -> date:
    """`start` plus whole months, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def warranty_status(device: Device, on: date | None = None) -> WarrantyStatus:
    """`in` when the warranty ends on or after `on` and is not voided; `out` when it
    ended before `on` or is voided; `unknown` when the portal has no warranty data."""
    if on is None:
        on = timezone.localdate()
    if device.warranty_void:
        return WarrantyStatus.OUT
    if device.warranty_end is None:
        return WarrantyStatus.UNKNOWN
    if device.warranty_end >= on:
        return WarrantyStatus.IN
    return WarrantyStatus.OUT
