"""The rule engine: every rule of every rule set, over all proposals at once.

For each rule set the engine takes the proposals of its actions, and for each
of its rule entries the proposals where the entry's ``when`` holds; the rule's
check then runs as polars expressions over those proposals (or their partner
rows) together. Each evaluation gives a check record per proposal (measured
value against the threshold, passed or not) and a finding draft per failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import polars as pl

from auditor.aggregate import Aggregates
from auditor.core.catalogue import catalogue
from auditor.core.findings import FindingDraft, Severity, Value
from auditor.core.results import RuleCheck
from auditor.normalise.dates import parse_datetime, to_brussels
from auditor.normalise.frames import n
from auditor.read.model import PKEY, ROW, ProposalSource
from auditor.rules.expressions import condition, value
from auditor.rules.rulebook import RuleBook, RuleEntry, RuleSet

# The metric each minimum rule compares (aggregate.METRICS).
MINIMUM_METRICS = {
    "min-organisations": "organisations",
    "min-countries": "countries",
    "min-eu-member-states": "eu_member_states",
    "min-full-partners": "full_partners",
    "min-hei": "hei",
    "min-vet": "vet",
    "min-enterprises": "enterprises",
    "min-labour-market-actors": "labour_market_actors",
    "min-education-providers": "education_providers",
}
ALL_ROLES = ("coordinator", "partner", "associated", "affiliated")


@dataclass(slots=True)
class Evaluation:
    drafts: dict[str, list[FindingDraft]] = field(default_factory=dict)
    checks: dict[str, list[RuleCheck]] = field(default_factory=dict)


@dataclass(slots=True)
class _Context:
    book: RuleBook
    aggregates: Aggregates
    sources: Mapping[str, ProposalSource]
    result: Evaluation

    def source_of(self, ruleset: RuleSet, entry: RuleEntry) -> str | None:
        return entry.source or ruleset.source or catalogue()[entry.rule].source

    def severity_of(self, entry: RuleEntry) -> Severity:
        return entry.severity or catalogue()[entry.rule].severity

    def check(
        self,
        pkey: str,
        ruleset: RuleSet,
        entry: RuleEntry,
        passed: bool | None,
        measured: Any,
        expected: Any,
    ) -> None:
        self.result.checks.setdefault(pkey, []).append(
            RuleCheck(
                rule=entry.rule,
                code=_code(entry.rule),
                passed=passed,
                measured=plain(measured),
                expected=plain(expected),
                severity=self.severity_of(entry),
                source=self.source_of(ruleset, entry),
            )
        )

    def finding(self, pkey: str, ruleset: RuleSet, entry: RuleEntry, draft: FindingDraft) -> None:
        self.result.drafts.setdefault(pkey, []).append(
            FindingDraft(
                rule=draft.rule,
                params=draft.params,
                sheet=draft.sheet,
                cell=draft.cell,
                column=draft.column,
                value=draft.value,
                expected=draft.expected,
                severity=entry.severity,
                source=self.source_of(ruleset, entry),
            )
        )

    def anchored(self, pkey: str, rule: str, **fields: Any) -> FindingDraft:
        """A proposal-level draft, placed on the cell the catalogue names for the rule."""
        sheet, cell, column = anchor(catalogue()[rule].anchor, self.sources[pkey])
        return FindingDraft(rule, sheet=sheet, cell=cell, column=column, **fields)


@cache
def _code(rule: str) -> str:
    return catalogue()[rule].code


def plain(value: Any) -> Value:
    """A value as the results document shows it: numbers, text, lists of them."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, tuple | list):
        return tuple(plain(v) for v in value)  # type: ignore[misc]
    return str(value)


def anchor(spec: str | None, source: ProposalSource) -> tuple[str | None, str | None, str | None]:
    """(sheet, cell, column) where a proposal-level finding is shown.

    ``project:<field>`` is the field's value cell; ``partners:<column>`` is the
    header of that column in a one-proposal workbook, and the proposal's row
    on the Proposals sheet in an export (where the header is shared).
    """
    if spec is None:
        return source.project_sheet, source.project_cell("proposal_id"), "proposal_id"
    table_name, _, key = spec.partition(":")
    if table_name == "partners" and source.partners is not None and source.layout == "single":
        cell = source.partners.header_cell(key)
        if cell is not None:
            return source.partners.sheet, cell, key
    if table_name == "partners":
        return source.project_sheet, source.project_cell("proposal_id"), "proposal_id"
    return source.project_sheet, source.project_cell(key), key


# ---------------------------------------------------------------- proposal-level checks


Evaluator = Callable[[_Context, RuleSet, RuleEntry, pl.DataFrame], None]


def _compare(
    ctx: _Context,
    ruleset: RuleSet,
    entry: RuleEntry,
    frame: pl.DataFrame,
    draft: Callable[[dict[str, Any]], FindingDraft] | None = None,
) -> None:
    """Record a check per row of ``frame`` (_pkey, passed, measured, expected, ...).

    A consortium rule that fails while a partner's role, country or type is
    empty or not understood is not judged: that cell's own finding is the
    one to fix (one bad cell is one finding, not three).
    """
    names = frame.columns
    for values in frame.iter_rows():
        row = dict(zip(names, values, strict=True))
        if row["passed"] is None:
            continue
        if not row["passed"] and row.get("_clear") is False:
            ctx.check(row[PKEY], ruleset, entry, None, row["measured"], row["expected"])
            continue
        ctx.check(row[PKEY], ruleset, entry, bool(row["passed"]), row["measured"], row["expected"])
        if not row["passed"]:
            found = (
                draft(row)
                if draft
                else ctx.anchored(
                    row[PKEY], entry.rule, value=row["measured"], expected=row["expected"]
                )
            )
            ctx.finding(row[PKEY], ruleset, entry, found)


def _complete(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("partners_complete"))


def _minimum(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    metric = MINIMUM_METRICS[entry.rule]
    frame = (
        _complete(rows)
        .select(
            PKEY,
            pl.col(metric).alias("measured"),
            value(entry.params["min"]).cast(pl.Int64).alias("expected"),
            pl.col("rows_clear").alias("_clear"),
        )
        .with_columns((pl.col("measured") >= pl.col("expected")).alias("passed"))
    )
    _compare(ctx, ruleset, entry, frame)


def _coordinators(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    measured = pl.col("coordinators")
    passed = measured >= 1 if entry.rule == "coordinator-missing" else measured <= 1
    frame = _complete(rows).select(
        PKEY,
        measured.alias("measured"),
        pl.lit(1).alias("expected"),
        passed.alias("passed"),
        pl.col("rows_clear").alias("_clear"),
    )
    _compare(
        ctx,
        ruleset,
        entry,
        frame,
        lambda r: ctx.anchored(r[PKEY], entry.rule, value=r["measured"], expected=1),
    )


def _duration(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    measured = pl.col("duration_months")
    params = entry.params
    if "values" in params:
        allowed = [int(v) for v in params["values"]]
        frame = rows.select(
            PKEY,
            measured.alias("measured"),
            pl.lit(" / ".join(str(v) for v in allowed)).alias("expected"),
            measured.is_in(allowed).alias("passed"),
        )
        expected_of: Callable[[dict[str, Any]], Any] = lambda _r: tuple(allowed)  # noqa: E731
    else:
        low = value(params.get("min", 0)).cast(pl.Int64)
        high = value(params.get("max", 10_000)).cast(pl.Int64)
        frame = rows.select(
            PKEY,
            measured.alias("measured"),
            pl.format("{}-{}", low, high).alias("expected"),
            ((measured >= low) & (measured <= high)).alias("passed"),
        )
        expected_of = lambda r: r["expected"]  # noqa: E731
    _compare(
        ctx,
        ruleset,
        entry,
        frame,
        lambda r: ctx.anchored(r[PKEY], entry.rule, value=r["measured"], expected=expected_of(r)),
    )


def _grant_ceiling(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    measured = pl.col("requested_grant_eur")
    ceiling = value(entry.params["max"])
    frame = rows.select(
        PKEY,
        measured.alias("measured"),
        ceiling.alias("expected"),
        (measured <= ceiling).alias("passed"),
    )
    _compare(ctx, ruleset, entry, frame)


def _lump_sum(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    sums = [float(v) for v in entry.params["values"]]
    measured = pl.col("requested_grant_eur")
    frame = rows.select(
        PKEY,
        measured.alias("measured"),
        pl.lit(" / ".join(f"{v:.0f}" for v in sums)).alias("expected"),
        measured.is_in(sums).alias("passed"),
    )
    _compare(
        ctx,
        ruleset,
        entry,
        frame,
        lambda r: ctx.anchored(r[PKEY], entry.rule, value=r["measured"], expected=tuple(sums)),
    )


def _grant_sum(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    grant = pl.col("requested_grant_eur")
    total = pl.col("partners_grant_total")
    frame = rows.filter((pl.col("partners_grant_count") > 0) & grant.is_not_null()).select(
        PKEY,
        total.alias("measured"),
        grant.alias("expected"),
        (total.round(0) == grant.round(0)).alias("passed"),
    )
    _compare(
        ctx,
        ruleset,
        entry,
        frame,
        lambda r: ctx.anchored(
            r[PKEY],
            entry.rule,
            value=r["expected"],
            expected=r["expected"],
            params={"partners_total": r["measured"]},
        ),
    )


def _ecosystem(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    frame = rows.select(
        PKEY,
        pl.col("industrial_ecosystem").alias("measured"),
        pl.lit(1).alias("expected"),
        pl.col(n("industrial_ecosystem")).is_not_null().alias("passed"),
        pl.col("ecosystem_count").alias("count"),
    )

    def draft(r: dict[str, Any]) -> FindingDraft:
        variant = "default" if r["count"] == 0 else "several" if r["count"] > 1 else "unknown"
        return ctx.anchored(
            r[PKEY], entry.rule, value=r["measured"], expected=1, params={"variant": variant}
        )

    _compare(ctx, ruleset, entry, frame, draft)


def _eqf(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    ranges = [(int(low), int(high)) for low, high in entry.params["ranges"]]
    # A value that is there but unreadable is an invalid-number finding already.
    unreadable = pl.col("eqf_levels").is_not_null() & pl.col(n("eqf_levels")).is_null()
    for pkey, raw, levels in (
        rows.filter(~unreadable).select(PKEY, "eqf_levels", n("eqf_levels")).rows()
    ):
        missing = [
            f"{low}-{high}"
            for low, high in ranges
            if not any(low <= lv <= high for lv in levels or [])
        ]
        expected = ", ".join(f"{low}-{high}" for low, high in ranges)
        ctx.check(pkey, ruleset, entry, not missing, raw, expected)
        if missing:
            ctx.finding(
                pkey,
                ruleset,
                entry,
                ctx.anchored(
                    pkey,
                    entry.rule,
                    value=raw,
                    expected=tuple(missing),
                    params={"variant": "missing" if raw is None else "default"},
                ),
            )


def _priorities(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    frame = rows.select(
        PKEY,
        pl.col(n("priorities")).alias("measured"),
        pl.lit(1).alias("expected"),
        (pl.col(n("priorities")) >= 1).alias("passed"),
    )
    _compare(
        ctx,
        ruleset,
        entry,
        frame,
        lambda r: ctx.anchored(r[PKEY], entry.rule, value=r["measured"], expected=1),
    )


def _partnership_type(
    ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame
) -> None:
    allowed = [str(a) for a in entry.params["allowed"]]
    frame = rows.select(
        PKEY,
        pl.col("partnership_type").alias("measured"),
        pl.lit(" / ".join(allowed)).alias("expected"),
        pl.col(n("partnership_type")).is_in(allowed).fill_null(False).alias("passed"),
    )
    _compare(
        ctx,
        ruleset,
        entry,
        frame,
        lambda r: ctx.anchored(
            r[PKEY],
            entry.rule,
            value=r["measured"],
            expected=tuple(allowed),
            params={"vocabulary": "partnership_type"},
        ),
    )


def _field(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    refused = [str(a) for a in entry.params["not_allowed"]]
    shown = tuple(str(a) for a in entry.params.get("allowed_text", []))
    frame = rows.select(
        PKEY,
        pl.col(n("action")).alias("measured"),
        pl.lit(" / ".join(shown)).alias("expected"),
        (~pl.col(n("action")).is_in(refused)).alias("passed"),
    )
    _compare(
        ctx,
        ruleset,
        entry,
        frame,
        lambda r: ctx.anchored(r[PKEY], entry.rule, value=r["measured"], expected=shown),
    )


def _deadline(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    deadlines: dict[int, datetime] = {}
    for year, text in entry.params["deadlines"].items():
        moment = parse_datetime(str(text))
        if moment is not None:
            deadlines[int(year)] = moment
    for pkey, year, submitted in rows.select(PKEY, "year", n("submitted_at")).rows():
        if submitted is None or year not in deadlines:
            continue
        deadline = deadlines[year]
        local = to_brussels(submitted)
        passed = submitted <= deadline
        ctx.check(pkey, ruleset, entry, passed, local, deadline)
        if not passed:
            ctx.finding(
                pkey,
                ruleset,
                entry,
                ctx.anchored(
                    pkey,
                    entry.rule,
                    value=local.replace(tzinfo=None),
                    expected=deadline.replace(tzinfo=None),
                ),
            )


def _per_country(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    required = [str(c) for c in entry.params["require"]]
    scope = _complete(rows).select(PKEY, "rows_clear")
    clear = dict(scope.rows())
    countries = ctx.aggregates.countries.join(scope, on=PKEY, how="semi")
    failures: dict[str, list[tuple[str, str, int]]] = {}
    totals: dict[str, int] = {}
    for row in countries.iter_rows(named=True):
        pkey = row[PKEY]
        totals[pkey] = totals.get(pkey, 0) + 1
        for category in required:
            if not row[f"has_{category}"]:
                failures.setdefault(pkey, []).append(
                    (row[n("country")], category, row["first_row"])
                )
    for pkey in scope.get_column(PKEY).to_list():
        lacking = failures.get(pkey, [])
        countries_short = len({country for country, _, _ in lacking})
        total = totals.get(pkey, 0)
        if lacking and not clear[pkey]:  # see _compare: an unclear cell is the finding
            ctx.check(pkey, ruleset, entry, None, total - countries_short, total)
            continue
        ctx.check(pkey, ruleset, entry, not lacking, total - countries_short, total)
        table = ctx.sources[pkey].partners
        for country, category, first_row in lacking:
            cell = table.cell("country", first_row) if table else None
            ctx.finding(
                pkey,
                ruleset,
                entry,
                FindingDraft(
                    entry.rule,
                    params={"country": country, "category": category},
                    sheet=table.sheet if table else None,
                    cell=cell,
                    column="country",
                    value=country,
                    expected=category,
                ),
            )


# ---------------------------------------------------------------- row-level checks


@dataclass(frozen=True, slots=True)
class _RowRule:
    """A check on partner rows: which rows fail, and which cell to show."""

    failing: Callable[[RuleEntry], pl.Expr]
    column: str
    fallback: str = "organisation_name"
    params: Callable[[dict[str, Any]], dict[str, Any]] = lambda row: {"country": row[n("country")]}
    value_column: str | None = None


def _roles(entry: RuleEntry, default: tuple[str, ...]) -> list[str]:
    return [str(r) for r in entry.params.get("roles", default)]


_OUTSIDE = ~pl.col("in_pool") & pl.col(n("country")).is_not_null()

ROW_RULES: dict[str, _RowRule] = {
    "coordinator-country": _RowRule(
        failing=lambda e: (pl.col(n("role")) == "coordinator") & _OUTSIDE,
        column="country",
    ),
    "third-country-justification": _RowRule(
        failing=lambda e: (
            _OUTSIDE
            & pl.col(n("role")).is_in(_roles(e, ALL_ROLES))
            & pl.col("justification").is_null()
        ),
        column="justification",
        fallback="country",
    ),
    "third-country-not-allowed": _RowRule(
        failing=lambda e: _OUTSIDE & pl.col(n("role")).is_in(_roles(e, ALL_ROLES)),
        column="country",
    ),
    "third-country-region": _RowRule(
        failing=lambda e: (
            _OUTSIDE
            & pl.col(n("role")).is_in(_roles(e, ("partner", "affiliated")))
            & (
                ~pl.col("region")
                .is_in([int(r) for r in e.params.get("regions", [1, 2, 3])])
                .fill_null(False)
                | pl.col(n("country")).is_in([str(c) for c in e.params.get("excluded", ["BY"])])
            )
        ),
        column="country",
        params=lambda row: {"country": row[n("country")], "from_year": str(row["_from_year"])},
    ),
    "associated-partner-grant": _RowRule(
        failing=lambda e: (
            (pl.col(n("role")) == "associated")
            & (pl.col(n("requested_grant_eur")).fill_null(0) > 0)
        ),
        column="requested_grant_eur",
        value_column=n("requested_grant_eur"),
    ),
    "eche-required": _RowRule(
        failing=lambda e: (
            (pl.col(n("organisation_type")) == "HEI")
            & pl.col("in_pool")
            & pl.col(n("role")).is_in(_roles(e, ("coordinator", "partner", "affiliated")))
            & pl.col("erasmus_code").is_null()
        ),
        column="erasmus_code",
    ),
    "erasmus-code-country": _RowRule(
        failing=lambda e: (
            pl.col("erasmus_country").is_not_null()
            & pl.col(n("country")).is_not_null()
            & (pl.col("erasmus_country") != pl.col(n("country")))
        ),
        column="erasmus_code",
        params=lambda row: {"country": row[n("country")], "code_country": row["erasmus_country"]},
    ),
}


def _row_rule(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    spec = ROW_RULES[entry.rule]
    scope = _complete(rows).select(PKEY)
    partners = ctx.aggregates.partners.join(scope, on=PKEY, how="semi").with_columns(
        pl.lit(entry.params.get("from_year")).alias("_from_year")
    )
    failing = partners.filter(spec.failing(entry))
    counts: dict[str, int] = {}
    for row in failing.sort(PKEY, ROW).iter_rows(named=True):
        pkey = row[PKEY]
        counts[pkey] = counts.get(pkey, 0) + 1
        table = ctx.sources[pkey].partners
        column = spec.column
        cell = table.cell(column, row[ROW]) if table else None
        if cell is None and table is not None:
            column = spec.fallback
            cell = table.cell(column, row[ROW])
        ctx.finding(
            pkey,
            ruleset,
            entry,
            FindingDraft(
                entry.rule,
                params=spec.params(row),
                sheet=table.sheet if table else None,
                cell=cell,
                column=column,
                value=row[spec.value_column or column],
            ),
        )
    for pkey in scope.get_column(PKEY).to_list():
        failures = counts.get(pkey, 0)
        ctx.check(pkey, ruleset, entry, failures == 0, failures, 0)


def _duplicates(ctx: _Context, ruleset: RuleSet, entry: RuleEntry, rows: pl.DataFrame) -> None:
    """The same OID or PIC twice in one proposal: every repeat after the first."""
    scope = rows.select(PKEY)
    partners = ctx.aggregates.partners.join(scope, on=PKEY, how="semi")
    counts: dict[str, int] = {}
    flagged: set[tuple[str, int]] = set()
    for key in ("oid", "pic"):
        ident = pl.col(n(key))
        repeats = (
            partners.filter(ident.is_not_null())
            .with_columns(pl.col(ROW).min().over(PKEY, ident).alias("_first"))
            .filter(pl.col(ROW) != pl.col("_first"))
            .sort(PKEY, ROW)
        )
        for row in repeats.iter_rows(named=True):
            pkey = row[PKEY]
            if (pkey, row[ROW]) in flagged:
                continue
            flagged.add((pkey, row[ROW]))
            counts[pkey] = counts.get(pkey, 0) + 1
            table = ctx.sources[pkey].partners
            ctx.finding(
                pkey,
                ruleset,
                entry,
                FindingDraft(
                    entry.rule,
                    params={"other_row": row["_first"]},
                    sheet=table.sheet if table else None,
                    cell=table.cell(key, row[ROW]) if table else None,
                    column=key,
                    value=row[key],
                ),
            )
    for pkey in scope.get_column(PKEY).to_list():
        ctx.check(pkey, ruleset, entry, counts.get(pkey, 0) == 0, counts.get(pkey, 0), 0)


EVALUATORS: dict[str, Evaluator] = {
    **dict.fromkeys(MINIMUM_METRICS, _minimum),
    "coordinator-missing": _coordinators,
    "coordinator-multiple": _coordinators,
    "duration": _duration,
    "grant-ceiling": _grant_ceiling,
    "lump-sum": _lump_sum,
    "grant-sum-mismatch": _grant_sum,
    "industrial-ecosystem": _ecosystem,
    "eqf-coverage": _eqf,
    "priority-required": _priorities,
    "partnership-type": _partnership_type,
    "field-not-allowed": _field,
    "deadline": _deadline,
    "per-country-composition": _per_country,
    "duplicate-organisation": _duplicates,
    **dict.fromkeys(ROW_RULES, _row_rule),
}


# ---------------------------------------------------------------- batch-level checks


def _call_years(ctx: _Context, proposals: pl.DataFrame) -> None:
    """An action named for a call year its rules do not cover."""
    for ruleset in ctx.book.action_sets():
        if ruleset.years is None:
            continue
        low, high = ruleset.years
        outside = proposals.filter(
            pl.col(n("action")).is_in(ruleset.actions)
            & pl.col("year").is_not_null()
            & ~pl.col("year").is_between(low, high)
        )
        for pkey, action, year in outside.select(PKEY, n("action"), "year").rows():
            ctx.result.drafts.setdefault(pkey, []).append(
                ctx.anchored(
                    pkey,
                    "unknown-action",
                    value=action,
                    expected=f"{low}-{high}",
                    params={"variant": "out-of-years", "year": str(year)},
                )
            )


def evaluate(
    book: RuleBook, aggregates: Aggregates, sources: Mapping[str, ProposalSource]
) -> Evaluation:
    """Run every applicable rule on every proposal of the batch."""
    ctx = _Context(book, aggregates, sources, Evaluation())
    proposals = aggregates.proposals
    _call_years(ctx, proposals)
    for ruleset in book.sets.values():
        scope = (
            proposals
            if ruleset.universal
            else proposals.filter(pl.col(n("action")).is_in(ruleset.actions))
        )
        if scope.height == 0:
            continue
        for entry in ruleset.entries:
            rows = scope.filter(condition(entry.when))
            if rows.height:
                EVALUATORS[entry.rule](ctx, ruleset, entry, rows)
    return ctx.result
