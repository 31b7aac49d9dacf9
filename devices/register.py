"""A provider's warranty register: the serials it shipped or sold, and their warranty ends.

A technician uploads the register as a CSV file, in the same two steps as the merchant's
import (devices.importer, whose reading and limits this module shares):
`check_register_csv` reads every row, says what is wrong with each one and what each
valid one will do (nothing is written); `apply_register` checks again and, only when
every row is valid, stores the entries and verifies the provider's matching terminals
in one transaction.

The entries stay: a terminal a merchant registers (or re-claims) later is verified from
its provider's register on that save (`verify_from_register`).

Terminals are matched on brand and serial number, and only among the uploading
provider's own terminals: another provider's terminal with the same serial is neither
shown nor touched.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from simple_history.utils import bulk_update_with_history

from devices.importer import ISO_DATE, CsvLayout, read_rows
from devices.models import Brand, Device, Provider, WarrantyRegisterEntry, normalise_serial
from devices.warranty import WarrantyCheck, WarrantySource
from portal.validators import (
    SERIAL_MESSAGE,
    messages_of,
    validate_past_date,
    validate_serial,
    validate_warranty_end,
)
from tickets.pci import CARD_NUMBER_MESSAGE, contains_card_number

if TYPE_CHECKING:
    from portal.models import User

COLUMNS = ("serial", "brand", "sold_on", "warranty_end")
# Each column's name as the register page writes the header, in the reader's language.
COLUMN_NAMES = {
    "serial": pgettext_lazy("CSV column", "serial"),
    "brand": pgettext_lazy("CSV column", "brand"),
    "sold_on": pgettext_lazy("CSV column", "sold on"),
    "warranty_end": pgettext_lazy("CSV column", "warranty end"),
}
# A register without ship or sale dates is still a register: that column may be left out.
REQUIRED_COLUMNS = ("serial", "brand", "warranty_end")

# Header spellings people use, compared after folding case, "_" and "-" (as the import).
HEADER_ALIASES = {
    "serial": "serial",
    "serial number": "serial",
    "serial no": "serial",
    "s/n": "serial",
    "sn": "serial",
    "brand": "brand",
    "make": "brand",
    "sold on": "sold_on",
    "sold": "sold_on",
    "sale date": "sold_on",
    "date sold": "sold_on",
    "ship date": "sold_on",
    "shipped": "sold_on",
    "shipped on": "sold_on",
    "ship or sale date": "sold_on",
    "warranty end": "warranty_end",
    "warranty ends": "warranty_end",
    "warranty end date": "warranty_end",
    "warranty until": "warranty_end",
    "warranty expiry": "warranty_end",
    "end of warranty": "warranty_end",
}

SERIAL_MAX = WarrantyRegisterEntry._meta.get_field("serial").max_length

# The shop's purchase date and the register's ship or sale date are different events
# (the provider ships, the shop installs and starts using it weeks later), so only a
# gap of more than this counts as a claim that differs.
SALE_DATE_SLACK = timedelta(days=31)

# Shown instead of a cell that holds a card number: the page never repeats it.
CARD_NUMBER_MASK = "••••"

CHANGE_REASON = "warranty verified from the register"


class Outcome(enum.StrEnum):
    """What a valid row does to the provider's terminal with its brand and serial."""

    VERIFIES = "verifies"  # verified; the shop's claim agrees, or it made none
    DIFFERS = "differs"  # verified with the register's end; the shop's claim differs
    UNCHANGED = "unchanged"  # already verified from the register with this end
    # The shop's purchase date is after the register's warranty end: a device's warranty
    # cannot end before its purchase, so it stays a claim for a technician to settle.
    CONFLICT = "conflict"
    NO_TERMINAL = "no_terminal"  # none registered yet; the entry waits for it


@dataclass
class Match:
    """The provider's terminal a row names, as it was before the row is applied."""

    device: Device
    outcome: Outcome
    claimed_end: date | None
    register_end: date
    purchase_date: date | None
    sold_on: date | None

    @property
    def is_verified(self) -> bool:
        return self.outcome in (Outcome.VERIFIES, Outcome.DIFFERS)

    @property
    def differs(self) -> bool:
        return self.outcome in (Outcome.DIFFERS, Outcome.CONFLICT)


@dataclass
class RegisterRow:
    """One line of the file: what was typed, what it resolved to, what is wrong, and
    (once valid) what it will do."""

    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    serial: str = ""
    brand: Brand | None = None
    sold_on: date | None = None
    warranty_end: date | None = None
    match: Match | None = None

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def outcome(self) -> Outcome | None:
        if not self.is_valid:
            return None
        return self.match.outcome if self.match else Outcome.NO_TERMINAL


LAYOUT = CsvLayout(
    aliases=HEADER_ALIASES, required=REQUIRED_COLUMNS, row=RegisterRow, names=COLUMN_NAMES
)


@dataclass
class RegisterPreview:
    rows: list[RegisterRow] = field(default_factory=list)
    # Problems with the file as a whole (header, size); nothing can be applied then.
    file_errors: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and bool(self.rows) and all(r.is_valid for r in self.rows)

    @property
    def bad_rows(self) -> list[RegisterRow]:
        return [r for r in self.rows if not r.is_valid]

    @property
    def rows_bad_first(self) -> list[RegisterRow]:
        return sorted(self.rows, key=lambda r: (r.is_valid, r.line))

    @property
    def counts(self) -> dict[str, int]:
        """Rows by what they do ("bad" for those with a problem), every key present."""
        counts = dict.fromkeys([*Outcome, "bad"], 0)
        for row in self.rows:
            counts[row.outcome or "bad"] += 1
        return counts


def check_register_csv(text: str, provider: Provider) -> RegisterPreview:
    """Every row of the file with its problems, and what each valid row will do to
    `provider`'s terminals. Reads the database, writes nothing; one query per lookup
    whatever the number of rows."""
    _positions, rows, file_errors = read_rows(text, LAYOUT)
    preview = RegisterPreview(rows=rows, file_errors=file_errors)
    if not rows:
        return preview

    names = {r.values["brand"].lower() for r in rows if r.values["brand"]}
    brands = {
        b.name.lower(): b
        for b in Brand.objects.annotate(lname=Lower("name")).filter(lname__in=names)
    }
    for row in rows:
        _check_row(row, brands=brands)
    _check_duplicates(rows)

    valid = [r for r in rows if r.is_valid]
    devices = _devices(provider, valid)
    for row in valid:
        device = devices.get((row.brand.pk, row.serial))
        if device is not None:
            row.match = _match(device, row)
    return preview


def _check_row(row: RegisterRow, *, brands: dict[str, Brand]) -> None:
    v = row.values
    v.setdefault("sold_on", "")  # the optional column

    # Every cell, whatever it should hold: never a card number. The page shows a mask
    # in its place and no other message quotes it, so the number is not repeated back.
    carded: set[str] = set()
    for column, value in v.items():
        if contains_card_number(value):
            row.errors.append(f"{LAYOUT.name(column)}: {CARD_NUMBER_MESSAGE}")
            v[column] = CARD_NUMBER_MASK
            carded.add(column)

    if not v["brand"]:
        row.errors.append(_("The brand is missing."))
    elif "brand" not in carded:
        row.brand = brands.get(v["brand"].lower())
        if row.brand is None:
            row.errors.append(_("Unknown brand “%(brand)s”.") % {"brand": v["brand"]})

    row.serial = normalise_serial(v["serial"])
    if not row.serial:
        row.errors.append(_("The serial number is missing."))
    elif len(row.serial) > SERIAL_MAX:
        row.errors.append(
            _("The serial number is longer than %(max)d characters.") % {"max": SERIAL_MAX}
        )
    elif "serial" not in carded and messages_of(validate_serial, row.serial):
        row.errors.append(str(SERIAL_MESSAGE))

    if v["sold_on"] and "sold_on" not in carded:
        row.sold_on = _date(v["sold_on"])
        if row.sold_on is None:
            row.errors.append(
                _("The ship or sale date “%(value)s” is not a date written YYYY-MM-DD.")
                % {"value": v["sold_on"]}
            )
    if not v["warranty_end"]:
        row.errors.append(_("The warranty end is missing."))
    elif "warranty_end" not in carded:
        row.warranty_end = _date(v["warranty_end"])
        if row.warranty_end is None:
            row.errors.append(
                _("The warranty end “%(value)s” is not a date written YYYY-MM-DD.")
                % {"value": v["warranty_end"]}
            )
    if row.sold_on is not None:
        row.errors.extend(messages_of(validate_past_date, row.sold_on))
    if row.warranty_end is not None:
        row.errors.extend(messages_of(validate_warranty_end, row.warranty_end))
    if row.sold_on and row.warranty_end and row.warranty_end < row.sold_on:
        row.errors.append(_("The warranty ends before the ship or sale date."))


def _date(value: str) -> date | None:
    if not ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        return None


def _check_duplicates(rows: list[RegisterRow]) -> None:
    """A serial of a brand twice in the file: which of the two dates is right?"""
    lines: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in rows:
        if row.brand is not None and row.serial:
            lines[(row.brand.pk, row.serial)].append(row.line)
    for row in rows:
        if row.brand is None or not row.serial:
            continue
        same = lines[(row.brand.pk, row.serial)]
        if len(same) > 1:
            row.errors.append(
                _("The serial number %(serial)s is also on line %(lines)s of the file.")
                % {"serial": row.serial, "lines": ", ".join(str(n) for n in same if n != row.line)}
            )


def _devices(
    provider: Provider, rows: list[RegisterRow], *, lock: bool = False
) -> dict[tuple[int, str], Device]:
    """`provider`'s own terminals the rows name, by (brand id, serial)."""
    keys = {(r.brand.pk, r.serial) for r in rows}
    if not keys:
        return {}
    devices = (
        Device.objects.filter(
            provider=provider,
            brand_id__in={brand_id for brand_id, _serial in keys},
            serial_number__in={serial for _brand_id, serial in keys},
        )
        .select_related("merchant", "model")
        .order_by("pk")  # locks taken in one order: two uploads cannot deadlock
    )
    if lock:
        devices = devices.select_for_update(of=("self",))
    # The query matches brands and serials separately; keep the pairs the file names.
    return {
        (d.brand_id, d.serial_number): d for d in devices if (d.brand_id, d.serial_number) in keys
    }


def claim_differs(device: Device, *, warranty_end: date, sold_on: date | None) -> bool:
    """The shop's claim disagrees with the register: it claims another warranty end,
    or a purchase date more than SALE_DATE_SLACK from the ship or sale date. A terminal
    with no end or no purchase date claims nothing there, so it differs in nothing."""
    if device.warranty_end is not None and device.warranty_end != warranty_end:
        return True
    if device.purchase_date is not None and sold_on is not None:
        return abs(device.purchase_date - sold_on) > SALE_DATE_SLACK
    return False


def _outcome(device: Device, *, warranty_end: date, sold_on: date | None) -> Outcome:
    if device.purchase_date is not None and warranty_end < device.purchase_date:
        return Outcome.CONFLICT
    if (
        device.warranty_check == WarrantyCheck.VERIFIED
        and device.warranty_source == WarrantySource.REGISTER
        and device.warranty_end == warranty_end
    ):
        return Outcome.UNCHANGED
    if claim_differs(device, warranty_end=warranty_end, sold_on=sold_on):
        return Outcome.DIFFERS
    return Outcome.VERIFIES


def _match(device: Device, row: RegisterRow) -> Match:
    return Match(
        device=device,
        outcome=_outcome(device, warranty_end=row.warranty_end, sold_on=row.sold_on),
        claimed_end=device.warranty_end,
        register_end=row.warranty_end,
        purchase_date=device.purchase_date,
        sold_on=row.sold_on,
    )


@dataclass
class RegisterResult:
    preview: RegisterPreview
    applied: bool = False
    matches: list[Match] = field(default_factory=list)

    @property
    def verified(self) -> list[Match]:
        return [m for m in self.matches if m.is_verified]

    @property
    def differing(self) -> list[Match]:
        """The shop's claim differed: verified with the register's end anyway, or (a
        purchase after the register's end) left for a technician."""
        return [m for m in self.matches if m.differs]

    @property
    def unchanged_count(self) -> int:
        return sum(1 for m in self.matches if m.outcome == Outcome.UNCHANGED)


def apply_register(text: str, provider: Provider, user: User) -> RegisterResult:
    """Check the file again and, only when every row is valid, store its entries in
    `provider`'s register (replacing earlier ones for the same serials) and verify the
    provider's terminals it names, all in one transaction. Otherwise nothing is written
    and the result's preview says why."""
    with transaction.atomic():
        preview = check_register_csv(text, provider)
        if not preview.is_valid:
            return RegisterResult(preview=preview)
        now = timezone.now()
        WarrantyRegisterEntry.objects.bulk_create(
            [
                WarrantyRegisterEntry(
                    provider=provider,
                    brand=row.brand,
                    serial=row.serial,
                    sold_on=row.sold_on,
                    warranty_end=row.warranty_end,
                    imported_by=user,
                    imported_at=now,
                )
                # Rows locked in one order: two overlapping uploads cannot deadlock.
                for row in sorted(preview.rows, key=lambda r: (r.brand.pk, r.serial))
            ],
            update_conflicts=True,
            unique_fields=["provider", "brand", "serial"],
            update_fields=["sold_on", "warranty_end", "imported_by", "imported_at"],
        )
        # The preview's terminals were read without a lock; a merchant may have edited
        # one since. Decide again on the locked rows, so what is written and what the
        # result lists are the state each terminal was in when it was changed.
        devices = _devices(provider, preview.rows, lock=True)
        matches: list[Match] = []
        changed: list[Device] = []
        for row in preview.rows:
            device = devices.get((row.brand.pk, row.serial))
            row.match = None if device is None else _match(device, row)
            if row.match is None:
                continue
            matches.append(row.match)
            if row.match.is_verified:
                _verify(device, end=row.warranty_end, user_id=user.pk, now=now)
                changed.append(device)
        if changed:
            bulk_update_with_history(
                changed,
                Device,
                [
                    "warranty_end",
                    "warranty_check",
                    "warranty_checked_by",
                    "warranty_checked_at",
                    "warranty_source",
                    "warranty_check_note",
                    "updated_at",
                ],
                batch_size=500,
                default_user=user,
                default_change_reason=CHANGE_REASON,
                default_date=now,
            )
    return RegisterResult(preview=preview, applied=True, matches=matches)


def _verify(device: Device, *, end: date, user_id: int | None, now: datetime) -> None:
    """The fields services.verify sets, from the register."""
    device.warranty_end = end
    device.warranty_check = WarrantyCheck.VERIFIED
    device.warranty_checked_by_id = user_id
    device.warranty_checked_at = now
    device.warranty_source = WarrantySource.REGISTER
    device.warranty_check_note = ""
    device.updated_at = now


def verify_from_register(device: Device) -> Device:
    """Verify a terminal the merchant is about to save from its provider's register,
    when the register lists its brand and serial. Called by services.merchant_saved
    before `save()` (the device may have no pk yet): sets the fields, saves nothing.

    Only a claim is verified: a terminal a technician has verified or rejected stays
    as they left it until the merchant changes what the claim rests on (which turns it
    back into a claim). The check is credited to the technician who uploaded the entry.
    """
    if (
        device.warranty_check != WarrantyCheck.CLAIMED
        or device.provider_id is None
        or device.model_id is None
    ):
        return device
    serial = normalise_serial(device.serial_number)
    if not serial:
        return device
    entry = WarrantyRegisterEntry.objects.filter(
        provider_id=device.provider_id, brand_id=device.model.brand_id, serial=serial
    ).first()
    if entry is None:
        return device
    if device.purchase_date is not None and entry.warranty_end < device.purchase_date:
        return device  # a conflict (see Outcome.CONFLICT): a technician settles it
    _verify(device, end=entry.warranty_end, user_id=entry.imported_by_id, now=timezone.now())
    if not getattr(device, "_change_reason", ""):
        device._change_reason = CHANGE_REASON
    return device
