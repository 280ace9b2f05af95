"""What a workbook holds, cell by cell: for comparing two files' contents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl


def cell_values(path: Path) -> dict[tuple[str, str], Any]:
    """Every cell that holds a value, by (sheet, address)."""
    workbook = openpyxl.load_workbook(path)
    return {
        (sheet.title, cell.coordinate): cell.value
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    }
