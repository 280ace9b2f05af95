"""What every Excel output shares: text that stays text, fills, widths."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

ERROR_FILL = PatternFill("solid", start_color="FFF4C7CE", end_color="FFF4C7CE")
WARNING_FILL = PatternFill("solid", start_color="FFFFE699", end_color="FFFFE699")
ELIGIBLE_FILL = PatternFill("solid", start_color="FFC6EFCE", end_color="FFC6EFCE")
UNREADABLE_FILL = PatternFill("solid", start_color="FFE4D2F2", end_color="FFE4D2F2")
HEADER_FONT = Font(bold=True)
VERDICT_FILLS = {"eligible": ELIGIBLE_FILL, "ineligible": ERROR_FILL, "unreadable": UNREADABLE_FILL}
SEVERITY_FILLS = {"error": ERROR_FILL, "warning": WARNING_FILL}


def put(sheet: Any, row: int, column: int, value: Any) -> Any:
    """Write a value; text is always stored as text, never as a formula.

    openpyxl turns any string starting with "=" into a formula, and "#N/A" or
    "#REF!" into an error; a name from a workbook such as ``=HYPERLINK(...)``
    must stay the text it was.
    """
    return _as_text(sheet.cell(row=row, column=column), value)


def written(sheet: Any, value: Any, styled: bool = False) -> Any:
    """What to append to a write-only sheet for ``value``, text kept text as ``put``
    keeps it: the value itself where openpyxl cannot take it for anything else,
    else a cell (and always a cell when it is to be ``styled``)."""
    plain = not isinstance(value, str) or not (
        value.startswith("=") or value in ERROR_CODES or ILLEGAL_CHARACTERS_RE.search(value)
    )
    if plain and not styled:
        return value  # a cell object costs more than the rest of writing it
    return _as_text(WriteOnlyCell(sheet), value)


def _as_text(cell: Any, value: Any) -> Any:
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
        # Control characters (a vertical tab pasted into a cell) are shown,
        # escaped: the file format cannot hold them, and the report must not fail.
        value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def autosize(sheet: Any, widths: dict[int, int] | None = None, most: int = 60) -> None:
    """Column widths from the longest value (capped), unless given."""
    rows = ([cell.value for cell in row] for row in sheet.iter_rows())
    size_columns(sheet, rows, widths, most)


def size_columns(
    sheet: Any,
    rows: Iterable[Sequence[Any]],
    widths: dict[int, int] | None = None,
    most: int = 60,
) -> None:
    """Column widths from the longest value of ``rows`` (capped), unless given: a
    write-only sheet is sized from its rows before they are written."""
    from openpyxl.utils import get_column_letter

    longest: dict[int, int] = {}
    for row in rows:
        for column, value in enumerate(row, start=1):
            if value is not None:
                longest[column] = max(longest.get(column, 0), len(str(value)))
    for column, length in longest.items():
        width = (widths or {}).get(column) or min(most, max(8, length + 2))
        sheet.column_dimensions[get_column_letter(column)].width = width


def print_setup(sheet: Any, header_rows: str | None = None) -> None:
    """Printed: landscape, as wide as the page, as many pages long as it takes,
    with the header rows on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if header_rows:
        sheet.print_title_rows = header_rows
