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
from auditor.rules.register import Register, code_key
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
    fixed: dict[int, tuple[str, str, Severity, str | None]] = field(default_factory=dict)

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
        # What is the same for every proposal is looked up once per entry:
        # a batch makes a dozen checks per proposal.
        key = id(entry)
        fixed = self.fixed.get(key)
        if fixed is None:
            fixed = self.fixed[key] = (
                entry.rule,
                _code(entry.rule),
                self.severity_of(entry),
                self.source_of(ruleset, entry),
            )
        rule, code, severity, source = fixed
        checks = self.result.checks.get(pkey)
        if checks is None:
            checks = self.result.checks[pkey] = []
        checks.append(
            RuleCheck(rule, code, passed, plain(measured), plain(expected), severity, source)
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
Draft = Callable[[_Context, RuleEntry, dict[str, Any]], FindingDraft]


@dataclass(frozen=True, slots=True)
class _Columns:
    """A proposal-level rule as polars expressions over the proposals.

    Every such rule of a rule set is computed in one query (a struct column
    per rule): a query per rule would cost more than the rules themselves.
    """

    measured: pl.Expr
    expected: pl.Expr
    passed: pl.Expr
    scope: pl.Expr | None = None  # the proposals it applies to, beyond its ``when``
    clear: pl.Expr | None = None  # False: a partner cell is unclear, the rule is not judged
    extra: dict[str, pl.Expr] = field(default_factory=dict)
    draft: Draft | None = None  # the finding of a failure, if not the default


def _default_draft(ctx: _Context, entry: RuleEntry, row: dict[str, Any]) -> FindingDraft:
    return ctx.anchored(row[PKEY], entry.rule, value=row["measured"], expected=row["expected"])


def _judge(
    ctx: _Context, ruleset: RuleSet, entry: RuleEntry, draft: Draft, row: dict[str, Any]
) -> None:
    """Record one proposal's check of a proposal-level rule, and its finding.

    A consortium rule that fails while a partner's role, country or type is
    empty or not understood is not judged: that cell's own finding is the
    one to fix (one bad cell is one finding, not three).
    """
    if row["passed"] is None:
        return
    if not row["passed"] and row.get("_clear") is False:
        ctx.check(row[PKEY], ruleset, entry, None, row["measured"], row["expected"])
        return
    ctx.check(row[PKEY], ruleset, entry, bool(row["passed"]), row["measured"], row["expected"])
    if not row["passed"]:
        ctx.finding(row[PKEY], ruleset, entry, draft(ctx, entry, row))


_COMPLETE = pl.col("partners_complete")


def _complete(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(_COMPLETE)


_CLEAR = pl.col("rows_clear")


def _minimum(entry: RuleEntry) -> _Columns:
    measured = pl.col(MINIMUM_METRICS[entry.rule])
    expected = value(entry.params["min"]).cast(pl.Int64)
    return _Columns(measured, expected, measured >= expected, scope=_COMPLETE, clear=_CLEAR)


def _coordinators(entry: RuleEntry) -> _Columns:
    measured = pl.col("coordinators")
    passed = measured >= 1 if entry.rule == "coordinator-missing" else measured <= 1
    return _Columns(
        measured,
        pl.lit(1),
        passed,
        scope=_COMPLETE,
        clear=_CLEAR,
        draft=lambda ctx, e, r: ctx.anchored(r[PKEY], e.rule, value=r["measured"], expected=1),
    )


def _duration(entry: RuleEntry) -> _Columns:
    measured = pl.col("duration_months")
    params = entry.params
    if "values" in params:
        allowed = [int(v) for v in params["values"]]
        return _Columns(
            measured,
            pl.lit(" / ".join(str(v) for v in allowed)),
            measured.is_in(allowed),
            draft=lambda ctx, e, r: ctx.anchored(
                r[PKEY], e.rule, value=r["measured"], expected=tuple(allowed)
            ),
        )
    low = value(params.get("min", 0)).cast(pl.Int64)
    high = value(params.get("max", 10_000)).cast(pl.Int64)
    return _Columns(measured, pl.format("{}-{}", low, high), (measured >= low) & (measured <= high))


def _grant_ceiling(entry: RuleEntry) -> _Columns:
    measured = pl.col("requested_grant_eur")
    ceiling = value(entry.params["max"])
    return _Columns(measured, ceiling, measured <= ceiling)


def _lump_sum(entry: RuleEntry) -> _Columns:
    sums = [float(v) for v in entry.params["values"]]
    measured = pl.col("requested_grant_eur")
    return _Columns(
        measured,
        pl.lit(" / ".join(f"{v:.0f}" for v in sums)),
        measured.is_in(sums),
        draft=lambda ctx, e, r: ctx.anchored(
            r[PKEY], e.rule, value=r["measured"], expected=tuple(sums)
        ),
    )


def _grant_sum(entry: RuleEntry) -> _Columns:
    grant = pl.col("requested_grant_eur")
    total = pl.col("partners_grant_total")
    return _Columns(
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


def _ecosystem_draft(ctx: _Context, entry: RuleEntry, row: dict[str, Any]) -> FindingDraft:
    count = row["count"]
    variant = "default" if count == 0 else "several" if count > 1 else "unknown"
    return ctx.anchored(
        row[PKEY], entry.rule, value=row["measured"], expected=1, params={"variant": variant}
    )


def _ecosystem(entry: RuleEntry) -> _Columns:
    return _Columns(
        pl.col("industrial_ecosystem"),
        pl.lit(1),
        pl.col(n("industrial_ecosystem")).is_not_null(),
        extra={"count": pl.col("ecosystem_count")},
        draft=_ecosystem_draft,
    )


def _priorities(entry: RuleEntry) -> _Columns:
    return _Columns(
        pl.col(n("priorities")),
        pl.lit(1),
        pl.col(n("priorities")) >= 1,
        draft=lambda ctx, e, r: ctx.anchored(r[PKEY], e.rule, value=r["measured"], expected=1),
    )


def _partnership_type(entry: RuleEntry) -> _Columns:
    allowed = [str(a) for a in entry.params["allowed"]]
    return _Columns(
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


def _field(entry: RuleEntry) -> _Columns:
    refused = [str(a) for a in entry.params["not_allowed"]]
    shown = tuple(str(a) for a in entry.params.get("allowed_text", []))
    return _Columns(
        pl.col(n("action")),
        pl.lit(" / ".join(shown)),
        ~pl.col(n("action")).is_in(refused),
        draft=lambda ctx, e, r: ctx.anchored(r[PKEY], e.rule, value=r["measured"], expected=shown),
    )


COLUMNS: dict[str, Callable[[RuleEntry], _Columns]] = {
    **dict.fromkeys(MINIMUM_METRICS, _minimum),
    "coordinator-missing": _coordinators,
    "coordinator-multiple": _coordinators,
    "duration": _duration,
    "grant-ceiling": _grant_ceiling,
    "lump-sum": _lump_sum,
    "grant-sum-mismatch": _grant_sum,
    "industrial-ecosystem": _ecosystem,
    "priority-required": _priorities,
    "partnership-type": _partnership_type,
    "field-not-allowed": _field,
}


def _struct(entry: RuleEntry, when: pl.Expr) -> tuple[pl.Expr, Draft]:
    """The entry's struct column (``_on`` says where it applies) and its finding."""
    columns = COLUMNS[entry.rule](entry)
    on = when & columns.scope if columns.scope is not None else when
    fields = [
        pl.col(PKEY),
        on.alias("_on"),
        columns.measured.alias("measured"),
        columns.expected.alias("expected"),
        columns.passed.alias("passed"),
    ]
    if columns.clear is not None:
        fields.append(columns.clear.alias("_clear"))
    fields.extend(expression.alias(name) for name, expression in columns.extra.items())
    return pl.struct(fields), columns.draft or _default_draft


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
    """A check on partner rows: which rows fail, and which cell to show.

    ``register``: the rule reads the ECHE holders list, joined onto the rows
    (``_with_register``). ``locate`` picks the cell per row where the column
    at fault differs from row to row; ``expected`` is what the row should hold.
    """

    failing: Callable[[RuleEntry], pl.Expr]
    column: str
    fallback: str = "organisation_name"
    params: Callable[[dict[str, Any]], dict[str, Any]] = lambda row: {"country": row[n("country")]}
    value_column: str | None = None
    register: bool = False
    locate: Callable[[dict[str, Any]], str] | None = None
    expected: Callable[[dict[str, Any]], Any] | None = None


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
        # The list knows the institution by its OID or PIC: say which code to enter.
        params=lambda row: (
            {"variant": "listed", "list_date": row["_list_date"], "code": _suggested(row)}
            if _suggested(row)
            else {}
        ),
        register=True,
        expected=lambda row: _suggested(row),
    ),
    "eche-not-found": _RowRule(
        failing=lambda e: (
            (pl.col(n("organisation_type")) == "HEI")
            & pl.col("erasmus_country").is_not_null()
            & pl.col("eche_code").is_null()
        ),
        column="erasmus_code",
        params=lambda row: {"list_date": row["_list_date"]},
        register=True,
    ),
    "eche-identity-mismatch": _RowRule(
        failing=lambda e: pl.col("eche_code").is_not_null() & pl.col("_eche_differs").is_not_null(),
        column="erasmus_code",
        params=lambda row: {
            "variant": row["_eche_differs"],
            "list_date": row["_list_date"],
            "code": row["eche_code"],
            "listed": row[f"eche_{row['_eche_differs']}"],
            "listed_name": row["eche_name"] or "",
            "country": row[n("country")],
            "code_country": row["eche_country"],
        },
        register=True,
        locate=lambda row: str(row["_eche_differs"]),
        value_column="_eche_value",
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


def _suggested(row: dict[str, Any]) -> str | None:
    code: str | None = row["eche_code_by_oid"] or row["eche_code_by_pic"]
    return code


# Which identity the ECHE list gives an Erasmus code otherwise than the row
# does, the first of OID, PIC, country. A country is only at odds when the
# code's prefix agrees with the row (else erasmus-code-country says it).
_IDENTITIES = (
    ("oid", pl.col(n("oid")), pl.col("eche_oid")),
    ("pic", pl.col(n("pic")), pl.col("eche_pic")),
    ("country", pl.col(n("country")), pl.col("eche_country")),
)


def _with_register(partners: pl.LazyFrame, register: Register) -> pl.LazyFrame:
    """The partner rows with what the ECHE list says of their code, OID and PIC."""
    differs = pl.lit(None, pl.String)
    value = pl.lit(None, pl.String)
    for name, given, listed in reversed(_IDENTITIES):
        at_odds = given.is_not_null() & listed.is_not_null() & (given != listed)
        if name == "country":
            at_odds = at_odds & (pl.col("erasmus_country") == given)
        differs = pl.when(at_odds).then(pl.lit(name)).otherwise(differs)
        value = pl.when(at_odds).then(pl.col(name).cast(pl.String)).otherwise(value)
    by_oid = register.by_identifier("oid").lazy()
    by_pic = register.by_identifier("pic").lazy()
    return (
        partners.with_columns(code_key(pl.col(n("erasmus_code"))).alias("eche_key"))
        .join(register.frame.lazy(), on="eche_key", how="left")
        .join(by_oid, left_on=n("oid"), right_on="_by", how="left")
        .join(by_pic, left_on=n("pic"), right_on="_by", how="left")
        .with_columns(differs.alias("_eche_differs"), value.alias("_eche_value"))
    )


def _row_findings(
    ctx: _Context, ruleset: RuleSet, entry: RuleEntry, failing: list[dict[str, Any]]
) -> dict[str, int]:
    """The findings of a row rule's failing rows (ordered by proposal and row), counted."""
    spec = ROW_RULES[entry.rule]
    extra = {"_from_year": entry.params.get("from_year"), "_list_date": ctx.book.register.date}
    counts: dict[str, int] = {}
    for row in failing:
        pkey = row[PKEY]
        counts[pkey] = counts.get(pkey, 0) + 1
        table = ctx.sources[pkey].partners
        column = spec.locate(row) if spec.locate else spec.column
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
                params=spec.params({**row, **extra}),
                sheet=table.sheet if table else None,
                cell=cell,
                column=column,
                value=row[spec.value_column or column],
                expected=spec.expected(row) if spec.expected else None,
            ),
        )
    return counts


def _failing_rows(
    ctx: _Context, entries: dict[int, RuleEntry], masks: pl.DataFrame
) -> dict[int, list[dict[str, Any]]]:
    """Each row rule's failing partner rows, from one query for the rule set.

    ``masks`` holds, per proposal, ``_w<i>``: whether row rule ``i`` applies.
    """
    failing = {i: pl.col(f"_w{i}") & ROW_RULES[e.rule].failing(e) for i, e in entries.items()}
    partners = ctx.aggregates.partners.lazy()
    if any(ROW_RULES[e.rule].register for e in entries.values()):
        partners = _with_register(partners, ctx.book.register)
    rows = (
        partners.join(masks.lazy(), on=PKEY, how="inner")
        .with_columns(expression.alias(f"_f{i}") for i, expression in failing.items())
        .filter(pl.any_horizontal(f"_f{i}" for i in entries))
        .sort(PKEY, ROW)
        .collect()
    )
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in entries}
    for row in rows.iter_rows(named=True):
        for i in entries:
            if row[f"_f{i}"]:
                found[i].append(row)
    return found


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


# Rules that look at more than one row per proposal, evaluated one by one.
EVALUATORS: dict[str, Evaluator] = {
    "eqf-coverage": _eqf,
    "deadline": _deadline,
    "per-country-composition": _per_country,
    "duplicate-organisation": _duplicates,
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
        if scope.height:
            _evaluate_set(ctx, ruleset, scope)
    return ctx.result


def _evaluate_set(ctx: _Context, ruleset: RuleSet, scope: pl.DataFrame) -> None:
    """One rule set over its proposals: a query for all its proposal-level
    rules, one for all its row rules, and one or two per remaining rule."""
    columns: list[pl.Expr] = []
    drafts: dict[int, Draft] = {}
    row_rules: dict[int, RuleEntry] = {}
    for i, entry in enumerate(ruleset.entries):
        when = condition(entry.when)
        if entry.rule in COLUMNS:
            struct, drafts[i] = _struct(entry, when)
            columns.append(struct.alias(f"_e{i}"))
        elif entry.rule in ROW_RULES:
            row_rules[i] = entry
            columns.append((when & _COMPLETE).alias(f"_w{i}"))
        else:
            columns.append(when.alias(f"_w{i}"))
    frame = scope.select(PKEY, *columns)
    failing = (
        _failing_rows(ctx, row_rules, frame.select(PKEY, *(f"_w{i}" for i in row_rules)))
        if row_rules
        else {}
    )
    for i, entry in enumerate(ruleset.entries):
        if i in drafts:
            for row in frame.get_column(f"_e{i}").to_list():
                if row["_on"]:
                    _judge(ctx, ruleset, entry, drafts[i], row)
            continue
        applies = frame.get_column(f"_w{i}")
        if not applies.any():
            continue
        if i in row_rules:
            counts = _row_findings(ctx, ruleset, entry, failing[i])
            for pkey in frame.filter(applies).get_column(PKEY).to_list():
                failures = counts.get(pkey, 0)
                ctx.check(pkey, ruleset, entry, failures == 0, failures, 0)
        else:
            EVALUATORS[entry.rule](ctx, ruleset, entry, scope.filter(applies))
