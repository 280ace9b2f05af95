"""The alternative a data person reaches for first: frictionless, with a Table Schema.

    python bench/alternatives/frictionless_check.py LIST_FILE

Validates the Partners sheet of every workbook listed in LIST_FILE (one path
per line) against ``partners.schema.json``, fields matched to headers by
name, in one process through frictionless' Python API (the command line,
``frictionless validate --schema partners.schema.json --sheet Partners FILE``,
does the same per file and adds a second of start-up to each). Prints how many
files were valid and how many errors were found.
"""

from __future__ import annotations

import sys
from pathlib import Path

from frictionless import Detector, Schema, formats, system, validate

SCHEMA = Path(__file__).with_name("partners.schema.json")


def main() -> None:
    paths = [line for line in Path(sys.argv[1]).read_text().splitlines() if line]
    schema = Schema.from_descriptor(str(SCHEMA))
    valid = errors = 0
    with system.use_context(trusted=True):
        for path in paths:
            report = validate(
                path,
                schema=schema,
                control=formats.ExcelControl(sheet="Partners"),
                detector=Detector(schema_sync=True),
            )
            valid += report.valid
            errors += report.stats["errors"]
    print(f"{len(paths)} files: {valid} valid, {errors} errors")


if __name__ == "__main__":
    main()
