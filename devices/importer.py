"""Bulk import of a merchant's terminals from a CSV file.

Two steps, all or nothing: `check_csv` reads every row and says what is wrong with
each one (nothing is written); `import_terminals` checks again and, only when every
row is valid, creates all the terminals in one transaction.

The file has a header row and the columns brand, model, serial, purchase date
(YYYY-MM-DD), provider, acquirer and location, in any order, named in English or in
any language PosDesk speaks (the page shows the header in its reader's language);
UTF-8 with or without a byte-order mark (Excel writes one).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from devices.models import (
    Brand,
    Device,
    DeviceModel,
    Merchant,
    Provider,
    RegistrationReview,
    normalise_serial,
)
from portal.validators import (
    CONTROL_CHARACTERS_MESSAGE,
    SERIAL_MESSAGE,
    has_control_characters,
    messages_of,
    validate_purchase_date,
    validate_serial,
    without_control_characters,
)
from tickets.pci import CARD_NUMBER_MESSAGE, contains_card_number

if TYPE_CHECKING:
    from portal.models import User

# Caps so one upload cannot fill the session or hold a transaction for long.
MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000

# Only a bank or a licensed payment institution acquires a terminal's payments.

COLUMNS = ("brand", "model", "serial", "purchase_date", "provider", "acquirer", "location")

# Each column's name as the import page writes the header, in the reader's language;
# a header in any of PosDesk's languages is read (CsvLayout.names).
COLUMN_NAMES = {
    "brand": pgettext_lazy("CSV column", "brand"),
    "model": pgettext_lazy("CSV column", "model"),
    "serial": pgettext_lazy("CSV column", "serial"),
    "purchase_date": pgettext_lazy("CSV column", "purchase date"),
    "provider": pgettext_lazy("CSV column", "provider"),
    "acquirer": pgettext_lazy("CSV column", "acquirer"),
    "location": pgettext_lazy("CSV column", "location"),
}

# Header spellings people actually use, compared after folding case, "_" and "-".
HEADER_ALIASES = {
    "brand": "brand",
    "model": "model",
    "model name": "model",
    "serial": "serial",
    "serial number": "serial",
    "serial no": "serial",
    "s/n": "serial",
    "sn": "serial",
    "purchase date": "purchase_date",
    "purchased": "purchase_date",
    "provider": "provider",
    "service provider": "provider",
    "acquirer": "acquirer",
    "acquiring bank": "acquirer",
    "location": "location",
}

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SERIAL_MAX = Device._meta.get_field("serial_number").max_length
LOCATION_MAX = Device._meta.get_field("location").max_length


class CsvRejected(Exception):
    """The upload cannot be read at all (too big, not UTF-8)."""


@dataclass
class ImportRow:
    """One line of the file: what was typed, what it resolved to, and what is wrong."""

    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    serial: str = ""
    purchase_date: date | None = None
    device_model: DeviceModel | None = None
    provider: Provider | None = None
    acquirer: Provider | None = None
    # Another shop's terminal has this serial: held for an admin's check when imported.
    held: bool = False

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass
class ImportPreview:
    rows: list[ImportRow] = field(default_factory=list)
    # Problems with the file as a whole (header, size); no row can be imported then.
    file_errors: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and bool(self.rows) and all(r.is_valid for r in self.rows)

    @property
    def bad_rows(self) -> list[ImportRow]:
        return [r for r in self.rows if not r.is_valid]

    @property
    def valid_count(self) -> int:
        return sum(1 for r in self.rows if r.is_valid)


def too_big_message() -> str:
    return _("The file is too large: at most 1 MB and %(rows)s rows. Split it into parts.") % {
        "rows": f"{MAX_ROWS:,}"
    }


def decode(data: bytes) -> str:
    """The text of an uploaded file; UTF-8 with or without a byte-order mark."""
    if len(data) > MAX_BYTES:
        raise CsvRejected(too_big_message())
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvRejected(
            _("The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (comma delimited)”.")
        ) from None


@dataclass(frozen=True)
class CsvLayout:
    """The columns a kind of upload reads (this import, a provider's warranty register)."""

    # Header spellings, folded as _header_key folds them, to column names.
    aliases: dict[str, str]
    # The columns the header must name; the others in `aliases` may be left out.
    required: tuple[str, ...]
    # Makes one row of the file: called with `line` and `values` (stripped text by column).
    row: Callable[..., Any]
    # Each column's name in the reader's language, in the order the page shows them.
    names: dict[str, Promise]

    def name(self, column: str) -> str:
        """How a message names `column`: as the reader's header would."""
        return str(self.names.get(column, column.replace("_", " ")))

    def header(self) -> str:
        """The header row the page shows, in the active language."""
        return ",".join(str(name) for name in self.names.values())

    def spellings(self) -> dict[str, str]:
        """`aliases`, and each column's name in every language PosDesk speaks."""
        spellings = dict(self.aliases)
        for code, _language in settings.LANGUAGES:
            with translation.override(code):
                for column, name in self.names.items():
                    spellings.setdefault(_fold(str(name)), column)
        return spellings


def _fold(cell: str) -> str:
    return re.sub(r"[\s_\-]+", " ", cell.strip().lower())


def _header_key(cell: str, spellings: dict[str, str]) -> str:
    return spellings.get(_fold(cell), "")


def _read_header(header: list[str], layout: CsvLayout) -> tuple[dict[str, int], list[str]]:
    """Column positions by name, and what is wrong with the header."""
    positions: dict[str, int] = {}
    errors: list[str] = []
    spellings = layout.spellings()
    for index, cell in enumerate(header):
        key = _header_key(cell, spellings)
        if not key:
            if cell.strip():
                name = without_control_characters(cell).strip()
                errors.append(_("Unknown column “%(name)s”.") % {"name": name})
            continue
        if key in positions:
            errors.append(_("The column “%(name)s” appears twice.") % {"name": cell.strip()})
            continue
        positions[key] = index
    missing = [layout.name(c) for c in layout.required if c not in positions]
    if missing:
        errors.append(
            _("The header row must name the columns %(expected)s; missing: %(missing)s.")
            % {
                "expected": ", ".join(layout.name(c) for c in layout.required),
                "missing": ", ".join(missing),
            }
        )
    return positions, errors


def read_rows(text: str, layout: CsvLayout) -> tuple[dict[str, int], list[Any], list[str]]:
    """Column positions, one `layout.row` per non-blank line (at most MAX_ROWS), and
    what is wrong with the file as a whole. Checks nothing in the rows but their width."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            return {}, [], [_("The file is empty: it needs a header row and one row per terminal.")]
        positions, errors = _read_header(header, layout)
        if errors:
            return positions, [], errors
        rows: list[Any] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, often at the end of an Excel export
            if len(rows) >= MAX_ROWS:
                return positions, rows, [too_big_message()]
            values = {
                name: (cells[index].strip() if index < len(cells) else "")
                for name, index in positions.items()
            }
            # A NUL or another control character is refused here, for every column and
            # every kind of upload, before any value is looked up (PostgreSQL refuses a
            # NUL in a query) or shown again (without the characters).
            controlled = [name for name, value in values.items() if has_control_characters(value)]
            for name in controlled:
                values[name] = without_control_characters(values[name]).strip()
            row = layout.row(line=reader.line_num, values=values)
            row.errors.extend(
                f"{layout.name(name)}: {CONTROL_CHARACTERS_MESSAGE}" for name in controlled
            )
            if len(cells) != len(header):
                row.errors.append(
                    _("Expected %(expected)d values, found %(found)d.")
                    % {"expected": len(header), "found": len(cells)}
                )
            rows.append(row)
    except csv.Error as exc:
        return {}, [], [_("The file is not a readable CSV file (%(error)s).") % {"error": exc}]
    if not rows:
        return positions, rows, [_("The file has a header row but no terminals.")]
    return positions, rows, []


def _by_lower_name(queryset) -> dict[str, object]:  # noqa: ANN001 - any queryset with `name`
    return {obj.name.lower(): obj for obj in queryset}


LAYOUT = CsvLayout(aliases=HEADER_ALIASES, required=COLUMNS, row=ImportRow, names=COLUMN_NAMES)


def check_csv(
    text: str, *, merchant: Merchant | None = None, today: date | None = None
) -> ImportPreview:
    """Every row of the file with its problems. Reads the database, writes nothing.

    For `merchant`, a serial another shop's terminal has is no error: that row is held
    for an admin's check when imported (`ImportRow.held`), and the shop is never told
    that the serial exists elsewhere. With no merchant, every registered serial is one.
    The lookups are one query each whatever the number of rows.
    """
    today = today or timezone.localdate()
    _positions, rows, file_errors = read_rows(text, LAYOUT)
    preview = ImportPreview(rows=rows, file_errors=file_errors)
    if not rows:
        return preview

    brand_names = {r.values["brand"].lower() for r in rows if r.values["brand"]}
    brands = _by_lower_name(
        Brand.objects.annotate(lname=Lower("name")).filter(lname__in=brand_names)
    )
    models: dict[tuple[int, str], DeviceModel] = {
        (m.brand_id, m.name.lower()): m
        for m in DeviceModel.objects.select_related("brand").filter(brand__in=brands.values())
    }
    provider_names = {r.values[c].lower() for r in rows for c in ("provider", "acquirer")} - {""}
    providers = _by_lower_name(
        Provider.objects.annotate(lname=Lower("name")).filter(lname__in=provider_names)
    )

    for row in rows:
        _check_row(row, brands=brands, models=models, providers=providers, today=today)

    _check_duplicates(rows, merchant)
    return preview


def _check_row(
    row: ImportRow,
    *,
    brands: dict[str, Brand],
    models: dict[tuple[int, str], DeviceModel],
    providers: dict[str, Provider],
    today: date,
) -> None:
    v = row.values
    brand = brands.get(v["brand"].lower())
    if not v["brand"]:
        row.errors.append(_("The brand is missing."))
    elif brand is None:
        row.errors.append(_("Unknown brand “%(brand)s”.") % {"brand": v["brand"]})

    if not v["model"]:
        row.errors.append(_("The model is missing."))
    elif brand is not None:
        row.device_model = models.get((brand.pk, v["model"].lower()))
        if row.device_model is None:
            row.errors.append(
                _("Unknown model “%(model)s” for the brand %(brand)s.")
                % {"model": v["model"], "brand": brand.name}
            )

    row.serial = normalise_serial(v["serial"])
    if not row.serial:
        row.errors.append(_("The serial number is missing."))
    elif len(row.serial) > SERIAL_MAX:
        row.errors.append(
            _("The serial number is longer than %(max)d characters.") % {"max": SERIAL_MAX}
        )
    elif messages_of(validate_serial, row.serial):
        row.errors.append(str(SERIAL_MESSAGE))

    if v["purchase_date"]:
        try:
            if not ISO_DATE.match(v["purchase_date"]):
                raise ValueError
            row.purchase_date = date.fromisoformat(v["purchase_date"])
        except ValueError:
            row.errors.append(
                _("The purchase date “%(value)s” is not a date written YYYY-MM-DD.")
                % {"value": v["purchase_date"]}
            )
        else:
            if row.purchase_date > today:
                row.errors.append(_("The purchase date is in the future."))
            else:
                row.errors.extend(messages_of(validate_purchase_date, row.purchase_date))

    provider = providers.get(v["provider"].lower())
    if not v["provider"]:
        row.errors.append(_("The provider is missing."))
    elif provider is None or not provider.active:
        row.errors.append(_("Unknown provider “%(name)s”.") % {"name": v["provider"]})
    else:
        row.provider = provider

    if v["acquirer"]:
        acquirer = providers.get(v["acquirer"].lower())
        if acquirer is None or not acquirer.active:
            row.errors.append(_("Unknown acquirer “%(name)s”.") % {"name": v["acquirer"]})
        elif acquirer.kind not in Provider.ACQUIRER_KINDS:
            row.errors.append(
                _("%(name)s is not a bank or a payment institution, so it cannot be the acquirer.")
                % {"name": acquirer.name}
            )
        else:
            row.acquirer = acquirer

    if len(v["location"]) > LOCATION_MAX:
        row.errors.append(
            _("The location is longer than %(max)d characters.") % {"max": LOCATION_MAX}
        )

    # The columns stored as typed (the others must name a brand, model or provider that
    # exists, and are refused otherwise): never a card number, however it is written.
    for column in ("serial", "location"):
        if contains_card_number(v[column]):
            row.errors.append(f"{LAYOUT.name(column)}: {CARD_NUMBER_MESSAGE}")


def _check_duplicates(rows: list[ImportRow], merchant: Merchant | None) -> None:
    """A serial twice in the file, or already registered, for the same brand."""
    lines_by_key: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in rows:
        if row.device_model is not None and row.serial:
            lines_by_key[(row.device_model.brand_id, row.serial)].append(row.line)
    for row in rows:
        if row.device_model is None or not row.serial:
            continue
        lines = lines_by_key[(row.device_model.brand_id, row.serial)]
        if len(lines) > 1:
            others = ", ".join(str(n) for n in lines if n != row.line)
            row.errors.append(
                _("The serial number %(serial)s is also on line %(lines)s of the file.")
                % {"serial": row.serial, "lines": others}
            )

    if not lines_by_key:
        return
    owners = {
        (brand_id, serial): merchant_id
        for brand_id, serial, merchant_id in Device.objects.filter(
            brand_id__in={brand_id for brand_id, _serial in lines_by_key},
            serial_number__in={serial for _brand_id, serial in lines_by_key},
        ).values_list("brand_id", "serial_number", "merchant_id")
    }
    for row in rows:
        if row.device_model is None:
            continue
        owner = owners.get((row.device_model.brand_id, row.serial))
        if owner is None:
            continue
        if merchant is None or owner == merchant.pk:
            row.errors.append(
                _("A %(brand)s terminal with the serial number %(serial)s is already registered.")
                % {"brand": row.device_model.brand.name, "serial": row.serial}
            )
        else:
            row.held = True


@dataclass
class ImportResult:
    preview: ImportPreview
    devices: list[Device] = field(default_factory=list)
    # Rows whose serial another shop's terminal has, waiting for an admin's check.
    held: list[RegistrationReview] = field(default_factory=list)

    @property
    def imported(self) -> bool:
        return bool(self.devices or self.held)


def import_terminals(text: str, *, merchant: Merchant, user: User | None = None) -> ImportResult:
    """Check the file again and, only when every row is valid, create all its terminals
    for `merchant` in one transaction (a row held for a check becomes a
    RegistrationReview instead). Otherwise nothing is written and the result's preview
    says why."""
    preview = check_csv(text, merchant=merchant)
    if not preview.is_valid:
        return ImportResult(preview=preview)
    try:
        return _import(preview, merchant=merchant, user=user)
    except IntegrityError:
        # Someone registered one of these serials between the check and the insert; the
        # transaction is rolled back, and a fresh check names the row. Another shop's
        # serial is no error but a row held for a check: the import is tried once more.
        preview = check_csv(text, merchant=merchant)
        if not preview.is_valid:
            return ImportResult(preview=preview)
        return _import(preview, merchant=merchant, user=user)


def _import(preview: ImportPreview, *, merchant: Merchant, user: User | None) -> ImportResult:
    from devices.services import hold_for_review  # it imports the register, which imports us

    result = ImportResult(preview=preview)
    with transaction.atomic():
        for row in preview.rows:
            if row.held:
                review, _created = hold_for_review(
                    merchant=merchant,
                    user=user,
                    device_model=row.device_model,
                    serial_number=row.serial,
                    provider=row.provider,
                    acquirer=row.acquirer,
                    purchase_date=row.purchase_date,
                    location=row.values["location"],
                )
                result.held.append(review)
            else:
                result.devices.append(_create(row, merchant=merchant))
    return result


def _create(row: ImportRow, *, merchant: Merchant) -> Device:
    from devices.services import merchant_saved  # it reads the register, which imports us

    device = Device(
        merchant=merchant,
        model=row.device_model,
        serial_number=row.serial,
        purchase_date=row.purchase_date,
        provider=row.provider,
        acquirer=row.acquirer,
        location=row.values["location"],
    )
    # A claim like one registered on the form: the end from the contract's or model's
    # months, verified at once if the provider's warranty register lists the serial.
    merchant_saved(device, [], creating=True)
    device.save()
    return device
