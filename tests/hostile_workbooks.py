"""Workbooks that cost the machine, not the applicant: made from a sample, large on purpose.

    python tests/hostile_workbooks.py FOLDER   # writes them into FOLDER

- ``duplicate_export``: an agency export whose thousands of rows share one
  proposal ID (each copy's finding once listed every other copy: quadratic);
- ``failing_rows``: one proposal whose partner table has a hundred thousand
  rows without a country (a finding each: pages and copies without end).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import fastexcel
import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def _rows(path: Path, sheet: str) -> list[list[Any]]:
    frame = fastexcel.read_excel(path).load_sheet(sheet, header_row=None).to_polars()
    return [list(row) for row in frame.rows()]


def _write(path: Path, sheets: dict[str, Any]) -> Path:
    options = {"constant_memory": True, "strings_to_numbers": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for number, row in enumerate(rows):
            for column, value in enumerate(row):
                if value is not None:
                    sheet.write_string(number, column, str(value))
    workbook.close()
    return path


def duplicate_export(path: Path, copies: int = 8000) -> Path:
    """An export of ``copies`` proposals with one ID (the sample export's first proposal)."""
    source = SAMPLES / "agency-export-2024.xlsx"
    proposals, partners = _rows(source, "Proposals"), _rows(source, "Partners")
    header, first = proposals[0], proposals[1]
    theirs = [row for row in partners[1:] if row[0] == first[0]]

    def proposal_rows() -> Any:
        yield header
        for _ in range(copies):
            yield first

    return _write(path, {"Proposals": proposal_rows(), "Partners": [partners[0], *theirs]})


def failing_rows(path: Path, rows: int = 100_000) -> Path:
    """One KA220-HED proposal with ``rows`` partner rows that have no country (and so
    one finding each)."""
    source = SAMPLES / "ka220-hed-eligible.xlsx"
    project, partners = _rows(source, "Project"), _rows(source, "Partners")
    header = next(row for row in partners if any(str(v).strip() == "Country" for v in row if v))
    labels = [str(v).strip() if v else "" for v in header]
    country, oid, pic, code = (
        labels.index(label) for label in ("Country", "OID", "PIC", "Erasmus code")
    )
    body = partners[partners.index(header) + 1 :]
    sample = next(row for row in body if row[country] and row[1] == "partner")

    def partner_rows() -> Any:
        yield header
        for number in range(rows):
            row = list(sample)
            row[0] = number + 1
            row[country] = None
            # Each row its own organisation: one finding per row, the empty country.
            row[oid], row[pic] = f"E{20_000_000 + number}", str(900_000_000 + number)
            row[code] = None  # an ECHE holder's code beside other identifiers is a warning
            yield row

    return _write(path, {"Project": project, "Partners": partner_rows()})


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    print(duplicate_export(folder / "duplicates-8000.xlsx"))
    print(failing_rows(folder / "failing-100000.xlsx"))
