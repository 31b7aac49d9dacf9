"""The one export writer: formula-safe CSV and XLSX, streamed."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from reports import export

DANGEROUS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_that_a_spreadsheet_would_run_is_neutralised(text: str) -> None:
    assert export.safe(text) == "'" + text


@pytest.mark.parametrize("value", ["PD-000123", "Shop = good", "", "店铺"])
def test_other_text_is_kept(value: str) -> None:
    assert export.safe(value) == value


def test_numbers_stay_numbers() -> None:
    assert export.safe(-5) == -5
    assert export.safe(2.5) == 2.5


def test_csv_cells_are_neutralised() -> None:
    response = export.response("csv", "x", ["name", "n"], ([text, 1] for text in DANGEROUS))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["name", "n"]
    assert [row[0] for row in rows[1:]] == ["'" + text for text in DANGEROUS]
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'


def test_xlsx_cells_are_text_not_formulas() -> None:
    response = export.response("xlsx", "x", ["name"], ([text] for text in [*DANGEROUS, "a\x01b"]))
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = [row[0] for row in book.active.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells)
    # (XML reads a carriage return back as a line feed.)
    expected = ["'" + t.replace("\r", "\n") for t in DANGEROUS] + ["ab"]
    assert [cell.value for cell in cells] == expected


def test_csv_is_streamed() -> None:
    """Rows are read as the response is sent, a piece at a time: never all in memory."""
    read = []
    total = 50_000

    def rows():  # noqa: ANN202
        for n in range(total):
            read.append(n)
            yield [n, "a shop's name, long enough to fill a piece"]

    response = export.response("csv", "x", ["n", "shop"], rows())
    assert read == []
    stream = iter(response.streaming_content)
    first = next(stream)
    assert 0 < len(read) < total
    assert len(first) >= export.PIECE
    assert sum(1 for _piece in stream) > 10
    assert len(read) == total
