"""Warranty arithmetic, kept apart from the models so it is easy to test on its own."""

from __future__ import annotations

import calendar
from datetime import date
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from devices.models import Device


class WarrantyStatus(models.TextChoices):
    IN = "in", _("In warranty")
    OUT = "out", _("Out of warranty")
    UNKNOWN = "unknown", _("Warranty unknown")


class WarrantyCheck(models.TextChoices):
    """Whether the provider stands behind the warranty dates (DESIGN.md "Warranty")."""

    CLAIMED = "claimed", _("Claimed by the merchant, to verify")
    VERIFIED = "verified", _("Verified by the provider")
    REJECTED = "rejected", _("Claim rejected by the provider")


class WarrantySource(models.TextChoices):
    """What a verification was made from."""

    PROOF = "proof", _("Proof of purchase checked")
    REGISTER = "register", _("The provider's warranty register")
    RECORDS = "records", _("The provider's own records")
    ADMIN = "admin", _("Set by a PosDesk admin")


# The fields the warranty, and so who pays, rests on (kept in the device's history).
WARRANTY_FIELDS = (
    "purchase_date",
    "warranty_end",
    "warranty_void",
    "warranty_void_reason",
    "model",
    "serial_number",
    "provider",
    "acquirer",
)
# A merchant's change to one of these turns a verified warranty back into a claim.
CLAIM_FIELDS = ("purchase_date", "model", "serial_number", "provider")


def add_months(start: date, months: int) -> date:
    """`start` plus whole months, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def warranty_status(device: Device, on: date | None = None) -> WarrantyStatus:
    """`in` when the warranty ends on or after `on` and is not voided; `out` when it
    ended before `on`, is voided or the provider rejected the claim; `unknown` when the
    portal has no warranty data."""
    if on is None:
        on = timezone.localdate()
    if device.warranty_void or device.warranty_check == WarrantyCheck.REJECTED:
        return WarrantyStatus.OUT
    if device.warranty_end is None:
        return WarrantyStatus.UNKNOWN
    if device.warranty_end >= on:
        return WarrantyStatus.IN
    return WarrantyStatus.OUT


def warranty_label(
    status: str,
    *,
    end: date | None,
    voided_on: date | None = None,
    void_reason: str = "",
    check: str = "",
    check_note: str = "",
) -> str:
    """The warranty in one true sentence, in the active language.

    Void comes first (a voided terminal may still have an end date in the future), then
    a rejected claim, then the dates; "unknown" says what would settle it.
    """
    if status == WarrantyStatus.OUT and void_reason:
        if voided_on:
            return gettext("Warranty void since %(date)s: %(reason)s") % {
                "date": voided_on.isoformat(),
                "reason": void_reason,
            }
        return gettext("Warranty void: %(reason)s") % {"reason": void_reason}
    if status == WarrantyStatus.OUT and check == WarrantyCheck.REJECTED:
        return gettext("Warranty claim rejected: %(reason)s") % {"reason": check_note or "—"}
    if status == WarrantyStatus.IN and end:
        return gettext("In warranty until %(date)s") % {"date": end.isoformat()}
    if status == WarrantyStatus.OUT and end:
        return gettext("Out of warranty since %(date)s") % {"date": end.isoformat()}
    if status == WarrantyStatus.OUT:
        return str(WarrantyStatus.OUT.label)
    return gettext("Warranty unknown: proof of purchase needed")
