"""What every Excel output shares: text that stays text, fills, widths."""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill

ERROR_FILL = PatternFill("solid", start_color="FFF4C7CE", end_color="FFF4C7CE")
WARNING_FILL = PatternFill("solid", start_color="FFFFE699", end_color="FFFFE699")
ELIGIBLE_FILL = PatternFill("solid", start_color="FFC6EFCE", end_color="FFC6EFCE")
UNREADABLE_FILL = PatternFill("solid", start_color="FFE4D2F2", end_color="FFE4D2F2")
HEADER_FONT = Font(bold=True)
VERDICT_FILLS = {"eligible": ELIGIBLE_FILL, "ineligible": ERROR_FILL, "unreadable": UNREADABLE_FILL}
SEVERITY_FILLS = {"error": ERROR_FILL, "warning": WARNING_FILL}


def put(sheet: Any, row: int, column: int, value: Any) -> Any:
    """Write a value; text is always stored as text, never as a formula.

    openpyxl turns any string starting with "=" into a formula; a name from a
    workbook such as ``=HYPERLINK(...)`` must stay the text it was.
    """
    cell = sheet.cell(row=row, column=column)
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
    from openpyxl.utils import get_column_letter

    longest: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is not None:
                longest[cell.column] = max(longest.get(cell.column, 0), len(str(cell.value)))
    for column, length in longest.items():
        width = (widths or {}).get(column) or min(most, max(8, length + 2))
        sheet.column_dimensions[get_column_letter(column)].width = width


def print_setup(sheet: Any, header_rows: str | None = None) -> None:
    """Printed: landscape, as wide as the page, as many pages long as it takes,
    with the header rows on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if header_rows:
        sheet.print_title_rows = header_rows
