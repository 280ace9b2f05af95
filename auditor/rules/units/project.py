"""Rules on the project's own values: duration, grant, lump sums, priorities, fields.

Each is a polars expression over the proposals (rules/context.py Columns).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from auditor.core.findings import FindingDraft
from auditor.normalise.frames import n
from auditor.read.model import PKEY
from auditor.rules.context import CLEAR, COMPLETE, Columns, Context
from auditor.rules.expressions import value
from auditor.rules.model import RuleEntry


def coordinators(entry: RuleEntry) -> Columns:
    measured = pl.col("coordinators")
    passed = measured >= 1 if entry.rule == "coordinator-missing" else measured <= 1
    return Columns(
        measured,
        pl.lit(1),
        passed,
        scope=COMPLETE,
        clear=CLEAR,
        draft=lambda ctx, e, r: ctx.anchored(r[PKEY], e.rule, value=r["measured"], expected=1),
    )


def duration(entry: RuleEntry) -> Columns:
    measured = pl.col("duration_months")
    params = entry.params
    if "values" in params:
        allowed = [int(v) for v in params["values"]]
        return Columns(
            measured,
            pl.lit(" / ".join(str(v) for v in allowed)),
            measured.is_in(allowed),
            draft=lambda ctx, e, r: ctx.anchored(
                r[PKEY], e.rule, value=r["measured"], expected=tuple(allowed)
            ),
        )
    low = value(params.get("min", 0)).cast(pl.Int64)
    high = value(params.get("max", 10_000)).cast(pl.Int64)
    # A bound not known (its call year is not) is left out of the words: "≥6".
    expected = (
        pl.when(high.is_null())
        .then(pl.format("≥{}", low))
        .when(low.is_null())
        .then(pl.format("≤{}", high))
        .otherwise(pl.format("{}-{}", low, high))
    )
    return Columns(measured, expected, (measured >= low) & (measured <= high))


def grant_ceiling(entry: RuleEntry) -> Columns:
    measured = pl.col("requested_grant_eur")
    ceiling = value(entry.params["max"])
    return Columns(measured, ceiling, measured <= ceiling)


def grant_floor(entry: RuleEntry) -> Columns:
    measured = pl.col("requested_grant_eur")
    floor = value(entry.params["min"])
    return Columns(measured, floor, measured >= floor)


def min_sports(entry: RuleEntry) -> Columns:
    measured = pl.col(n("number_of_sports"))
    minimum = value(entry.params["min"]).cast(pl.Int64)
    return Columns(measured, minimum, (measured >= minimum).fill_null(False))


def lump_sum(entry: RuleEntry) -> Columns:
    sums = [float(v) for v in entry.params["values"]]
    measured = pl.col("requested_grant_eur")
    return Columns(
        measured,
        pl.lit(" / ".join(f"{v:.0f}" for v in sums)),
        measured.is_in(sums),
        draft=lambda ctx, e, r: ctx.anchored(
            r[PKEY], e.rule, value=r["measured"], expected=tuple(sums)
        ),
    )


def grant_sum(entry: RuleEntry) -> Columns:
    grant = pl.col("requested_grant_eur")
    total = pl.col("partners_grant_total")
    return Columns(
        total,
        grant,
        total.round(0) == grant.round(0),
        scope=(pl.col("partners_grant_count") > 0) & grant.is_not_null(),
        draft=lambda ctx, e, r: ctx.anchored(
            r[PKEY],
            e.rule,
            value=r["expected"],
            expected=r["expected"],
            params={"partners_total": r["measured"]},
        ),
    )


def _ecosystem_draft(ctx: Context, entry: RuleEntry, row: dict[str, Any]) -> FindingDraft:
    count = row["count"]
    variant = "default" if count == 0 else "several" if count > 1 else "unknown"
    return ctx.anchored(
        row[PKEY], entry.rule, value=row["measured"], expected=1, params={"variant": variant}
    )


def ecosystem(entry: RuleEntry) -> Columns:
    return Columns(
        pl.col("industrial_ecosystem"),
        pl.lit(1),
        pl.col(n("industrial_ecosystem")).is_not_null(),
        extra={"count": pl.col("ecosystem_count")},
        draft=_ecosystem_draft,
    )


def priorities(entry: RuleEntry) -> Columns:
    return Columns(
        pl.col(n("priorities")),
        pl.lit(1),
        pl.col(n("priorities")) >= 1,
        draft=lambda ctx, e, r: ctx.anchored(r[PKEY], e.rule, value=r["measured"], expected=1),
    )


def partnership_type(entry: RuleEntry) -> Columns:
    allowed = [str(a) for a in entry.params["allowed"]]
    return Columns(
        pl.col("partnership_type"),
        pl.lit(" / ".join(allowed)),
        pl.col(n("partnership_type")).is_in(allowed).fill_null(False),
        draft=lambda ctx, e, r: ctx.anchored(
            r[PKEY],
            e.rule,
            value=r["measured"],
            expected=tuple(allowed),
            params={"vocabulary": "partnership_type"},
        ),
    )


def field_not_allowed(entry: RuleEntry) -> Columns:
    refused = [str(a) for a in entry.params["not_allowed"]]
    shown = tuple(str(a) for a in entry.params.get("allowed_text", []))
    return Columns(
        pl.col(n("action")),
        pl.lit(" / ".join(shown)),
        ~pl.col(n("action")).is_in(refused),
        draft=lambda ctx, e, r: ctx.anchored(r[PKEY], e.rule, value=r["measured"], expected=shown),
    )
