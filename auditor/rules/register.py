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
def register_digest(path: Path | None) -> str:
    """What the rules version takes of the list: its content's hash (read, not parsed).

    A file that cannot be read is said here, before any run starts.
    """
    return _bytes(path.resolve() if path is not None else None)[0]


def _bytes(path: Path | None) -> tuple[str, bytes, bool]:
    """(digest, content, is a workbook) of the shipped list or of ``path``."""
    if path is None:
        shipped = package_file("data", SHIPPED_NAME).read_bytes()
        return hashlib.sha256(shipped).hexdigest()[:16], shipped, False
    workbook = path.suffix.lower() in (".xlsx", ".xlsm")
    limits = Limits(max_file_bytes=MAX_BYTES)
    data, refusal = load(path, limits)
    if refusal is None and data is not None and workbook:
        refusal = inspect(data, path.suffix.lower(), limits)
    if refusal is not None or data is None:
        detail = (refusal.params.get("detail") or refusal.params.get("variant")) if refusal else ""
        raise ConfigError(f"the ECHE holders list {path} cannot be read ({detail})")
    return hashlib.sha256(data).hexdigest()[:16], data, workbook


@cache
def _load(path: Path | None) -> Register:
    digest, data, workbook = _bytes(path)
    if path is None:
        return _parse(data, SHIPPED_NAME, SHIPPED_DATE, digest)
    # The Commission's download carries no date of its own: the file's is the best there is.
    date = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d")
    return _parse(data, path.name, date, digest, workbook)


def _parse(data: bytes, origin: str, date: str, digest: str, workbook: bool = False) -> Register:
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
    body = rows[header_at + 1 :]
    # The columns read, only: the list has a dozen more.
    raw = pl.DataFrame(
        {
            f"c{i}": [row[i] if i < len(row) else "" for row in body]
            for i in sorted(set(columns.values()))
        },
        schema={f"c{i}": pl.String for i in sorted(set(columns.values()))},
    )

    def given(name: str) -> pl.Expr:
        # Empty, "#N/A" and the like are no value; NBSP is a space (the list's quirks).
        if name not in columns:
            return pl.lit(None, pl.String)
        text = pl.col(f"c{columns[name]}").str.replace_all("\u00a0", " ").str.strip_chars()
        return pl.when(text.str.to_uppercase().is_in(sorted(_NOT_GIVEN))).then(None).otherwise(text)

    frame = (
        raw.select(
            given("code").str.to_uppercase().alias("eche_code"),
            given("oid").str.replace_all(r"\s+", "").str.to_uppercase().alias("eche_oid"),
            given("pic").str.replace_all(r"\s+", "").str.replace(r"\.0$", "").alias("eche_pic"),
            given("name").alias("eche_name"),
            given("country").str.to_uppercase().alias("eche_country"),
        )
        .filter(pl.col("eche_code").is_not_null())
        .with_columns(code_key(pl.col("eche_code")).alias("eche_key"))
    )
    # A code listed twice keeps its first entry: one code, one institution.
    frame = frame.unique("eche_key", keep="first", maintain_order=True)
    return Register(frame, date, origin, digest)


def _heading(value: object) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip().lower()


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
