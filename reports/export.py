"""One writer for every export (reports and the ticket and terminal lists): CSV or XLSX,
streamed, formula-safe.

- CSV goes out row by row as the rows are read (`StreamingHttpResponse`): a million
  rows never sit in memory, and the first bytes leave at once.
- XLSX is written with openpyxl in write-only mode, which keeps each row only until it
  is written to a temporary file; that file is then streamed. An XLSX is a zip whose
  index comes last, so it cannot leave before its last row is written.
- A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
  neutralised with a leading apostrophe (OWASP "CSV injection"): a spreadsheet shows it
  as the text it was instead of running it as a formula. Numbers and dates stay numbers
  and dates. A cell that could not be stored in an XLSX (control characters) loses them.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone

FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What an XLSX (XML 1.0) cannot hold (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE).
ILLEGAL_XML = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe(value: object) -> object:
    """A cell as it is written: numbers and dates as they are, text neutralised."""
    if type(value) is str:  # most cells: the fast path
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, date):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


# Rows are sent in pieces of about this many characters: one write per row would be a
# hundred thousand socket writes for a long list.
PIECE = 64 * 1024


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    zone = timezone.get_default_timezone()
    starts = FORMULA_STARTS

    def cell(value: object) -> object:
        # The common types first, without the general `safe`'s checks: a long export
        # spends its time here.
        kind = type(value)
        if kind is str:
            return "'" + value if value.startswith(starts) else value
        if value is None:
            return ""
        if kind is datetime:
            local = value.astimezone(zone) if value.tzinfo is not None else value
            return local.isoformat(" ", "minutes")[:16]
        if kind is int:
            return value
        return safe(value)

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A BOM, so spreadsheet programs read the UTF-8 (Chinese names) as UTF-8.
    buffer.write("\ufeff")
    writer.writerow([safe(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
        if buffer.tell() >= PIECE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_cell(value: object) -> object:
    value = safe(value)
    if isinstance(value, str):
        return ILLEGAL_XML.sub("", value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def write_xlsx(file, header: Sequence[str], rows: Iterable[Sequence[object]], title: str) -> None:  # noqa: ANN001
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=ILLEGAL_XML.sub("", title)[:31] or "export")
    sheet.append([_xlsx_cell(h) for h in header])
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    book.save(file)


def response(
    fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> HttpResponseBase:
    """The download of `rows` under `header` as `filename`.csv or .xlsx."""
    if fmt == "xlsx":
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
        write_xlsx(spool, header, rows, filename)
        spool.seek(0)
        return FileResponse(
            spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_TYPE
        )
    out = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    out["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return out
