"""Deciding, for the whole batch at once, which rows are partners and whose.

A person tells a partner row from a note by what it holds, not by where it
is (workbook-format.md v2, "Partner rows look like partner rows"). A row is
a partner when it has a role, a country or an organisation type that is
recognised, or something shaped like an identifier (OID, PIC, Erasmus
code): such rows make the table. A row that has none of these is a note, a subtitle or a totals row
("Total", "Som" standing alone, with nothing in role, country and type),
wherever it is, however many cells it fills. A row with an unrecognised
role, country or type is a partner with a mistake in it while the table goes
on (its cells get findings), and a note once the table is over; a table none
of whose rows is recognised is taken as it is, so its mistakes are shown.
Nothing is decided from an organisation's name: "Total Energies" and "Som
Consult" are partners.

Rows of a one-proposal workbook belong to its proposal; rows of an export
belong to the proposal whose ID they carry, and a row whose ID is not on the
Proposals sheet is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from auditor.core.findings import FindingDraft
from auditor.normalise.countries import country_code
from auditor.normalise.identifiers import ERASMUS_PATTERN, OID_PATTERN, PIC_PATTERN
from auditor.normalise.text import PLACEHOLDERS, clean_expr
from auditor.normalise.vocabulary import vocabulary
from auditor.read.model import (
    FID,
    PKEY,
    ROW,
    FileRead,
    empty_partners,
    partner_keys,
    partner_place,
)
from auditor.read.workbook import FileContent

# What an identifier looks like (a note written in the OID column is still a
# note): the shapes the validation checks, on the cleaned value.
IDENTIFIERS = {
    "oid": (OID_PATTERN, pl.col("oid").str.replace_all(r"\s+", "").str.to_uppercase()),
    "pic": (PIC_PATTERN, pl.col("pic").str.replace_all(r"\s+", "").str.replace(r"\.0$", "")),
    "erasmus_code": (
        ERASMUS_PATTERN,
        pl.col("erasmus_code").str.replace_all("\u00a0", " ").str.to_uppercase().str.strip_chars(),
    ),
}


def _filled(column: str) -> pl.Expr:
    """Whether a cell holds a value (not blank, not a placeholder such as "n/a")."""
    text = pl.col(column).str.strip_chars()
    return (
        (text.str.len_chars() > 0) & ~text.str.to_lowercase().is_in(list(PLACEHOLDERS))
    ).fill_null(False)


def _recognised(raw: pl.DataFrame, column: str, lookup: Callable[[str], object]) -> pl.Expr:
    """Whether the column's value is one the vocabulary knows (looked up once per value)."""
    if column not in raw.columns:
        return pl.lit(False)
    known = {v: lookup(v) is not None for v in raw.get_column(column).drop_nulls().unique()}
    return pl.col(column).replace_strict(known, default=False, return_dtype=pl.Boolean)


def select_rows(raw: pl.DataFrame) -> pl.DataFrame:
    """Keep the partner rows of every sheet in ``raw`` (ordered by sheet, then row)."""
    roles, types = vocabulary("role"), vocabulary("organisation_type")
    present = set(raw.columns)
    real = (
        _recognised(raw, "role", roles.lookup)
        | _recognised(raw, "country", country_code)
        | _recognised(raw, "organisation_type", types.lookup)
    )
    for key, (shape, cleaned) in IDENTIFIERS.items():
        if key in present:
            real = real | cleaned.str.contains(shape).fill_null(False)
    attempted = pl.lit(False)
    for key in ("role", "country", "organisation_type"):
        if key in present:
            attempted = attempted | _filled(key)
    last_real = pl.when(pl.col("_real")).then(pl.col(ROW)).otherwise(None).max().over(FID)
    in_table = pl.col(ROW) <= last_real
    return (
        raw.with_columns(real.fill_null(False).alias("_real"), attempted.alias("_tried"))
        .filter(
            pl.col("_real") | (pl.col("_tried") & (in_table | last_real.is_null()).fill_null(True))
        )
        .drop("_real", "_tried")
    )


def finish(contents: Sequence[FileContent]) -> pl.DataFrame:
    """The partner rows of ``contents`` as one frame keyed by proposal (``_pkey``).

    Also appends to each file's findings the export rows whose proposal ID is
    not on the Proposals sheet.
    """
    tables = [
        (content.read.index, content.partner_table.header_row, content.partner_rows)
        for content in contents
        if content.partner_rows is not None and content.partner_table is not None
    ]
    columns = [PKEY, ROW, *partner_keys()]
    if not tables:
        return empty_partners()
    # One chunk per file would make every later operation pay per chunk.
    raw = pl.concat([frame for _, _, frame in tables], how="diagonal", rechunk=True)
    origins = pl.DataFrame(
        {
            FID: [fid for fid, _, _ in tables],
            "first": [header + 1 for _, header, _ in tables],
            "height": [frame.height for _, _, frame in tables],
        },
        schema={FID: pl.Int64, "first": pl.Int32, "height": pl.Int32},
    ).select(
        pl.col(FID).repeat_by("height").explode(),
        pl.int_ranges("first", pl.col("first") + pl.col("height"), dtype=pl.Int32)
        .explode()
        .alias(ROW),
    )
    raw = raw.select(
        pl.col(k) if k in raw.columns else pl.lit(None, pl.String).alias(k) for k in partner_keys()
    ).hstack(origins.filter(pl.col(ROW).is_not_null()))
    rows = select_rows(raw)

    singles = {c.read.index: f"{c.read.index}:0" for c in contents if c.proposal_ids is None}
    exports = {c.read.index: c for c in contents if c.proposal_ids is not None}
    if exports:
        rows = rows.with_columns(clean_expr("proposal_id"))
        mapping = pl.DataFrame(
            [
                (fid, proposal_id, pkey)
                for fid, content in exports.items()
                for proposal_id, pkey in (content.proposal_ids or {}).items()
            ],
            schema={FID: pl.Int64, "proposal_id": pl.String, "_export_key": pl.String},
            orient="row",
        )
        rows = rows.join(mapping, on=[FID, "proposal_id"], how="left")
    else:
        rows = rows.with_columns(pl.lit(None, pl.String).alias("_export_key"))
    rows = rows.with_columns(
        pl.coalesce(
            pl.col(FID).replace_strict(singles, default=None, return_dtype=pl.String),
            pl.col("_export_key"),
        ).alias(PKEY)
    )
    orphans = rows.filter(pl.col(PKEY).is_null())
    if orphans.height:
        _report_orphans(orphans, exports)
    return rows.filter(pl.col(PKEY).is_not_null()).select(columns)


def _report_orphans(orphans: pl.DataFrame, exports: dict[int, FileContent]) -> None:
    for fid, row, proposal_id in orphans.select(FID, ROW, "proposal_id").rows():
        content = exports[fid]
        table = content.partner_table
        read: FileRead = content.read
        list_sheet = content.sources[0].project_sheet if content.sources else None
        read.drafts.append(
            FindingDraft.at(
                "missing-value",
                partner_place(table, "proposal_id", row),
                params={"variant": "unknown-proposal"} if proposal_id else {},
                value=proposal_id,
                expected=list_sheet,
            )
        )
