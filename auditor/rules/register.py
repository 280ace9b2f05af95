"""The ECHE holders register: which Erasmus code belongs to which institution.

The auditor ships the Commission's list (``auditor/data``); an agency may pass
its newer download in the Commission's format instead (``--eche FILE`` or
``AUDITOR_ECHE``), as the semicolon-separated CSV the Commission publishes or
as the workbook it is also published as. The file is untrusted input: it is
read through the same guard as a workbook (regular file, size and zip limits)
and only the columns below are kept.

Matching follows the list's real quirks: codes are compared without their
padding (some codes are padded with non-breaking spaces, applicants type one
space or none), ``#N/A`` stands for "no OID", and an OID or a PIC that the
list gives to two institutions suggests no code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import fastexcel
import polars as pl

from auditor.core.config import Limits
from auditor.core.errors import ConfigError
from auditor.core.resources import package_file
from auditor.normalise.identifiers import clean_oid, clean_pic
from auditor.read.guard import inspect, load

# The shipped list's snapshot (auditor/data/PROVENANCE.md).
SHIPPED_DATE = "2024-07"
SHIPPED_NAME = "eche-holders-2021-2027.csv"
# The Commission's column headings, as the list's own files spell them.
HEADINGS = {
    "erasmus code": "code",
    "pic": "pic",
    "oid": "oid",
    "legal name": "name",
    "country cd": "country",
}
REQUIRED = ("code", "country")
MAX_BYTES = 50_000_000
_NOT_GIVEN = {"", "#N/A", "N/A", "NA", "-"}


def code_key(code: pl.Expr) -> pl.Expr:
    """An Erasmus code without its padding: "D  BERLIN01", "D BERLIN01", "DBERLIN01" agree.

    The ISO form GR written before the padding is Greece's G (actions.md v2):
    "GR ATHINE01" is "G  ATHINE01". Only before a space: "G  RETHYMN01"
    written without padding must stay Greek Rethymno.
    """
    upper = code.str.to_uppercase().str.replace_all("\u00a0", " ")
    return upper.str.replace(r"^GR\s+", "G").str.replace_all(r"\s+", "")


@dataclass(frozen=True, slots=True)
class Register:
    """The ECHE holders list as a frame keyed by code, with its date and origin."""

    frame: pl.DataFrame  # eche_key, eche_code, eche_oid, eche_pic, eche_country, eche_name
    date: str  # "2024-07": the snapshot the messages name
    origin: str  # the file's name, for messages and the rules version
    digest: str  # of the content: a new list means new judgements

    def by_code(self) -> pl.DataFrame:
        return self.frame

    def by_identifier(self, column: str) -> pl.DataFrame:
        """Code per OID (or PIC), for identifiers the list gives to one institution only."""
        key = f"eche_{column}"
        return (
            self.frame.filter(pl.col(key).is_not_null())
            .filter(pl.len().over(key) == 1)
            .select(pl.col(key).alias("_by"), pl.col("eche_code").alias(f"eche_code_by_{column}"))
        )


def load_register(path: Path | None = None) -> Register:
    """The shipped list, or the one at ``path`` (ConfigError if it is not one)."""
    return _load(path.resolve() if path is not None else None)


@cache
def _load(path: Path | None) -> Register:
    if path is None:
        source = package_file("data", SHIPPED_NAME)
        return _parse(source.read_bytes(), source.name, SHIPPED_DATE)
    workbook = path.suffix.lower() in (".xlsx", ".xlsm")
    limits = Limits(max_file_bytes=MAX_BYTES)
    data, refusal = load(path, limits)
    if refusal is None and data is not None and workbook:
        refusal = inspect(data, path.suffix.lower(), limits)
    if refusal is not None or data is None:
        detail = (refusal.params.get("detail") or refusal.params.get("variant")) if refusal else ""
        raise ConfigError(f"the ECHE holders list {path} cannot be read ({detail})")
    # The Commission's download carries no date of its own: the file's is the best there is.
    date = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d")
    return _parse(data, path.name, date, workbook)


def _parse(data: bytes, origin: str, date: str, workbook: bool = False) -> Register:
    rows = _workbook_rows(data, origin) if workbook else _csv_rows(data)
    header_at = next(
        (i for i, row in enumerate(rows[:50]) if "erasmus code" in map(_heading, row)), None
    )
    if header_at is None:
        raise ConfigError(
            f"the ECHE holders list {origin} has no 'Erasmus Code' column: "
            "pass the Commission's list as published (CSV or workbook)"
        )
    columns = {
        HEADINGS[_heading(name)]: i
        for i, name in enumerate(rows[header_at])
        if _heading(name) in HEADINGS
    }
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ConfigError(f"the ECHE holders list {origin} lacks the column(s) {missing}")
    records: dict[str, list[str | None]] = {name: [] for name in HEADINGS.values()}
    for row in rows[header_at + 1 :]:
        code = _given(_at(row, columns.get("code")))
        if code is None:
            continue
        records["code"].append(code.replace("\u00a0", " ").upper())
        records["oid"].append(clean_oid(_given(_at(row, columns.get("oid")))))
        records["pic"].append(clean_pic(_given(_at(row, columns.get("pic")))))
        records["name"].append(_given(_at(row, columns.get("name"))))
        country = _given(_at(row, columns.get("country")))
        records["country"].append(country.upper() if country else None)
    frame = pl.DataFrame(
        {f"eche_{name}": values for name, values in records.items()},
        schema={f"eche_{name}": pl.String for name in records},
    ).with_columns(code_key(pl.col("eche_code")).alias("eche_key"))
    # A code listed twice keeps its first entry: one code, one institution.
    frame = frame.unique("eche_key", keep="first", maintain_order=True)
    digest = hashlib.sha256(data).hexdigest()[:16]
    return Register(frame, date, origin, digest)


def _heading(value: object) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip().lower()


def _at(row: list[str], index: int | None) -> str | None:
    return row[index] if index is not None and index < len(row) else None


def _given(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.replace("\u00a0", " ").strip()
    return None if text.upper() in _NOT_GIVEN else value.strip()


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:  # the Commission's own files are Windows-1252
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _workbook_rows(data: bytes, origin: str) -> list[list[str]]:
    try:
        reader = fastexcel.read_excel(data)
        sheet = reader.load_sheet(0, header_row=None, skip_rows=0, dtypes="string")
        frame = sheet.to_polars()
    except Exception as error:  # calamine reports broken files with many error types
        raise ConfigError(f"the ECHE holders list {origin} cannot be read: {error}") from None
    return [[cell or "" for cell in row] for row in frame.rows()]
