"""The rule engine: every rule of every rule set, over all proposals at once.

For each rule set the engine takes the proposals of its actions, and for each
of its rule entries the proposals where the entry's ``when`` holds; the rule's
unit (rules/registry.py) then checks them as polars expressions over those
proposals (or their partner rows) together. Each evaluation gives a check
record per proposal (measured value against the threshold, passed or not)
and a finding draft per failure.

Per rule set: one query measures every count, one computes every
proposal-level rule (a struct column each), one finds the failing rows of
every row rule; the rules that need several rows at once run one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from auditor.aggregate import Aggregates
from auditor.normalise.frames import n
from auditor.read.model import PKEY
from auditor.rules.context import (
    COMPLETE,
    Context,
    Draft,
    Evaluation,
    default_draft,
    judge,
)
from auditor.rules.counting import AGGREGATED, Count, measure
from auditor.rules.expressions import condition
from auditor.rules.model import RuleBook, RuleEntry, RuleSet
from auditor.rules.registry import Unit, unit
from auditor.rules.units.counts import counts_of
from auditor.rules.units.rows import failing_rows, row_findings

__all__ = ["Evaluation", "evaluate"]


def _unit(entry: RuleEntry) -> Unit:
    found = unit(entry.rule)
    if found is None:  # the rule book refuses such entries; a bug if it gets here
        raise KeyError(f"no rule unit for {entry.rule!r}")
    return found


def _struct(found: Unit, entry: RuleEntry, when: pl.Expr) -> tuple[pl.Expr, Draft]:
    """The entry's struct column (``_on`` says where it applies) and its finding."""
    assert found.columns is not None
    columns = found.columns(entry)
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
    return pl.struct(fields), columns.draft or default_draft


# ---------------------------------------------------------------- batch-level checks


def _call_years(ctx: Context, proposals: pl.DataFrame) -> None:
    """An action named for a call year its rules do not cover."""
    years = ctx.book.compiled(
        "years",
        lambda: {a: s.years for s in ctx.book.action_sets() if s.years for a in s.actions},
    )
    if not years:
        return
    action = pl.col(n("action"))
    low = action.replace_strict({a: y[0] for a, y in years.items()}, default=None)
    high = action.replace_strict({a: y[1] for a, y in years.items()}, default=None)
    outside = proposals.select(
        PKEY, n("action"), "year", low.alias("_low"), high.alias("_high")
    ).filter(
        pl.col("_low").is_not_null()
        & pl.col("year").is_not_null()
        & ~pl.col("year").is_between(pl.col("_low"), pl.col("_high"))
    )
    for pkey, action_key, year, first, last in outside.rows():
        ctx.result.drafts.setdefault(pkey, []).append(
            ctx.anchored(
                pkey,
                "unknown-action",
                value=action_key,
                expected=f"{first}-{last}",
                params={"variant": "out-of-years", "year": str(year)},
            )
        )


def evaluate(book: RuleBook, aggregates: Aggregates) -> Evaluation:
    """Run every applicable rule on every proposal of the batch."""
    ctx = Context(book, aggregates, aggregates.validated.sources, Evaluation())
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


@dataclass(frozen=True)
class _Plan:
    """A rule set's expressions: they depend on the rules alone, so they are
    built once per process (``RuleBook.compiled``), not once per chunk."""

    units: list[Unit]
    columns: list[pl.Expr]  # per entry: a struct (``_e<i>``) or where it applies (``_w<i>``)
    drafts: dict[int, Draft]
    row_rules: dict[int, RuleEntry]
    failing: dict[int, pl.Expr]  # per row rule: its failing rows
    counts: dict[str, Count]  # every count the entries compare, by column name


def _plan(book: RuleBook, ruleset: RuleSet) -> _Plan:
    plan = _Plan([_unit(entry) for entry in ruleset.entries], [], {}, {}, {}, {})
    for i, (entry, found) in enumerate(zip(ruleset.entries, plan.units, strict=True)):
        when = condition(entry.when)
        if found.counts:
            plan.counts.update((c.key, c) for c in counts_of(entry))
        if found.columns is not None:
            struct, plan.drafts[i] = _struct(found, entry, when)
            plan.columns.append(struct.alias(f"_e{i}"))
        elif found.rows is not None:
            plan.row_rules[i] = entry
            plan.failing[i] = found.rows.failing(entry, book)
            plan.columns.append((when & COMPLETE).alias(f"_w{i}"))
        else:
            plan.columns.append(when.alias(f"_w{i}"))
    return plan


def _with_counts(ctx: Context, counts: dict[str, Count], scope: pl.DataFrame) -> pl.DataFrame:
    """The proposals with a column per count the rule set's entries compare."""
    if not counts:
        return scope
    # The usual counts are the aggregation's metrics, already there.
    scope = scope.with_columns(
        pl.col(AGGREGATED[c]).alias(key) for key, c in counts.items() if c in AGGREGATED
    )
    others = [c for c in counts.values() if c not in AGGREGATED]
    if not others:
        return scope
    partners = ctx.aggregates.partners.join(scope.select(PKEY), on=PKEY, how="semi")
    # A proposal without partner rows counts 0 (and no group for a count per group).
    flat = [c.key for c in others if c.per is None]
    return scope.join(measure(partners, others), on=PKEY, how="left").with_columns(
        pl.col(key).fill_null(0) for key in flat
    )


def _evaluate_set(ctx: Context, ruleset: RuleSet, scope: pl.DataFrame) -> None:
    """One rule set over its proposals: a query for all its counts, one for its
    proposal-level rules, one for its row rules, one or two per remaining rule."""
    plan = ctx.book.compiled(f"plan:{ruleset.id}", lambda: _plan(ctx.book, ruleset))
    scope = _with_counts(ctx, plan.counts, scope)
    frame = scope.select(PKEY, *plan.columns)
    row_rules, drafts, units = plan.row_rules, plan.drafts, plan.units
    failing = (
        failing_rows(
            ctx,
            row_rules,
            plan.failing,
            frame.select(PKEY, *(f"_w{i}" for i in row_rules)),
        )
        if row_rules
        else {}
    )
    for i, (entry, found) in enumerate(zip(ruleset.entries, units, strict=True)):
        if i in drafts:
            for row in frame.get_column(f"_e{i}").to_list():
                if row["_on"]:
                    judge(ctx, ruleset, entry, drafts[i], row)
            continue
        applies = frame.get_column(f"_w{i}")
        if not applies.any():
            continue
        if i in row_rules:
            counts = row_findings(ctx, ruleset, entry, failing[i])
            for pkey in frame.filter(applies).get_column(PKEY).to_list():
                failures = counts.get(pkey, 0)
                ctx.check(pkey, ruleset, entry, failures == 0, failures, 0)
        elif found.evaluate is not None:
            found.evaluate(ctx, ruleset, entry, scope.filter(applies))
