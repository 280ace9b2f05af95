"""Deciding, for the whole batch at once, which rows are partners and whose.

Per sheet (``_fid``): fully blank rows are skipped; a row with fewer than two
recognised values that follows a blank row starts the notes under the table,
which end it; "Total" rows are not partners. Rows of a one-proposal workbook
belong to its proposal; rows of an export belong to the proposal whose ID
they carry, and a row whose ID is not on the Proposals sheet is reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from auditor.core.findings import FindingDraft
from auditor.normalise.text import clean_expr
from auditor.read.model import FID, PKEY, ROW, FileRead, empty_partners, partner_keys
from auditor.read.workbook import FileContent

# Rows that close a table without being partners: "Total", "Totaal", ...
TOTAL = r"(?i)^\s*(sub)?(total|totaal|som|sum)\b"


def _filled(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.len_chars().fill_null(0) > 0


def select_rows(raw: pl.DataFrame) -> pl.DataFrame:
    """Keep the partner rows of every sheet in ``raw`` (ordered by sheet, then row)."""
    keys = [k for k in partner_keys() if k in raw.columns]
    count = pl.sum_horizontal([_filled(k) for k in keys]) if keys else pl.lit(0)
    frame = raw.with_columns(count.alias("_n"))
    blank = pl.col("_n") == 0
    notes = (pl.col("_n") < 2) & blank.shift(1, fill_value=False).over(FID) & ~blank
    total = pl.lit(False)
    for key in ("organisation_name", "partner_no", "role"):
        if key in frame.columns:
            total = total | pl.col(key).fill_null("").str.contains(TOTAL)
    return (
        frame.filter(notes.cast(pl.Int32).cum_sum().over(FID) == 0)
        .filter(~blank & ~total)
        .drop("_n")
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
            FindingDraft(
                "missing-value",
                params={"variant": "unknown-proposal"} if proposal_id else {},
                sheet=table.sheet if table else None,
                cell=table.cell("proposal_id", row) if table else None,
                column="proposal_id",
                value=proposal_id,
                expected=list_sheet,
            )
        )
