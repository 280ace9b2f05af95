"""The annotation floor: openpyxl loading and saving each given workbook, nothing else.

    python bench/openpyxl_floor.py LIST_FILE OUT_FOLDER

``LIST_FILE`` holds one workbook path per line (the files the full report
annotated). One process; each copy is saved under OUT_FOLDER.
"""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl


def main() -> None:
    paths = [line for line in Path(sys.argv[1]).read_text().splitlines() if line]
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(paths):
        workbook = openpyxl.load_workbook(path)
        workbook.save(out / f"{index}.xlsx")
    print(f"{len(paths)} workbooks loaded and saved")


if __name__ == "__main__":
    main()
