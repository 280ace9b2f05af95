"""The read floor: fastexcel reading every sheet of every workbook into polars, nothing else.

    python bench/floor.py FOLDER_OR_FILE... [--strings]

One process, files one after the other, each sheet with fastexcel's defaults
(header row and column types inferred), or with ``--strings`` as the auditor
reads them (no header, every cell as text). Prints the sheets and rows read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import fastexcel


def files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        found.extend(sorted(path.rglob("*.xlsx")) if path.is_dir() else [path])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--strings", action="store_true")
    options = parser.parse_args()
    sheets = rows = 0
    for path in files(options.paths):
        reader = fastexcel.read_excel(path)
        for name in reader.sheet_names:
            if options.strings:
                sheet = reader.load_sheet(name, header_row=None, dtypes="string")
            else:
                sheet = reader.load_sheet(name)
            rows += sheet.to_polars().height
            sheets += 1
    print(f"{sheets} sheets, {rows} rows")


if __name__ == "__main__":
    main()
