"""What every rule unit works with: the evaluation context, the shapes of checks.

A rule unit (rules/units/) builds polars expressions from its rule entry; the
engine (rules/engine.py) runs them over all proposals of a rule set and hands
each result to :func:`judge` or to the unit's own evaluator, which record a
check per proposal and a finding draft per failure through :class:`Context`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import polars as pl

from auditor.aggregate import Aggregates
from auditor.core.catalogue import catalogue, format_moment
from auditor.core.findings import FindingDraft, Place, Severity, Value
from auditor.core.results import RuleCheck
from auditor.read.model import PKEY, ProposalSource, partner_place
from auditor.rules.model import RuleBook, RuleEntry, RuleSet

ALL_ROLES = ("coordinator", "partner", "associated", "affiliated")


@dataclass(slots=True)
class Evaluation:
    drafts: dict[str, list[FindingDraft]] = field(default_factory=dict)
    checks: dict[str, list[RuleCheck]] = field(default_factory=dict)


@dataclass(slots=True)
class Context:
    book: RuleBook
    aggregates: Aggregates
    sources: Mapping[str, ProposalSource]
    result: Evaluation
    fixed: dict[int, tuple[str, str, Severity, str | None]] = field(default_factory=dict)
    # Frames derived once per evaluation and shared by the rule sets (by name).
    derived: dict[str, pl.DataFrame] = field(default_factory=dict)

    def source_of(self, ruleset: RuleSet, entry: RuleEntry) -> str | None:
        return entry.source or ruleset.source or catalogue()[entry.rule].source

    def severity_of(self, entry: RuleEntry) -> Severity:
        return entry.own_severity or catalogue()[entry.rule].severity

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
        own = draft.rule == entry.rule
        params = draft.params
        if own and entry.confirm:
            params = {**params, "confirm": entry.confirm}
        self.result.drafts.setdefault(pkey, []).append(
            FindingDraft(
                rule=draft.rule,
                params=params,
                sheet=draft.sheet,
                cell=draft.cell,
                column=draft.column,
                value=draft.value,
                expected=draft.expected,
                # An entry's severity is its rule's; a finding of another rule
                # (region-unconfirmed for third-country-region) keeps its own.
                severity=entry.own_severity if own else None,
                source=self.source_of(ruleset, entry),
            )
        )

    def anchored(self, pkey: str, rule: str, **fields: Any) -> FindingDraft:
        """A proposal-level draft, placed on the cell the catalogue names for the rule."""
        return FindingDraft.at(rule, anchor(catalogue()[rule].anchor, self.sources[pkey]), **fields)


@cache
def _code(rule: str) -> str:
    return catalogue()[rule].code


# Values kept as they are (a check is made per rule per proposal: the usual
# types are found by one lookup, not a chain of isinstance calls).
_AS_IS = frozenset({type(None), str, bool, int})


def plain(value: Any) -> Value:
    """A value as the results document shows it: numbers, text, lists of them."""
    kind = type(value)
    if kind in _AS_IS:
        return value  # type: ignore[no-any-return]
    if kind is float:
        return int(value) if value.is_integer() else value
    if isinstance(value, str | bool | int):  # subclasses
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, tuple | list):
        return tuple(plain(v) for v in value)  # type: ignore[misc]
    return str(value)


def anchor(spec: str | None, source: ProposalSource) -> Place:
    """Where a proposal-level finding is shown.

    ``project:<field>`` is the field's value cell; ``partners:<column>`` is the
    header of that column in a one-proposal workbook, and the proposal's row
    on the Proposals sheet in an export (where the header is shared).
    """
    if spec is None:
        return source.project_place("proposal_id")
    table_name, _, key = spec.partition(":")
    if table_name == "partners" and source.partners is not None and source.layout == "single":
        place = partner_place(source.partners, key, source.partners.header_row)
        if place.cell is not None:
            return place
    if table_name == "partners":
        return source.project_place("proposal_id")
    return source.project_place(key)


Evaluator = Callable[[Context, RuleSet, RuleEntry, pl.DataFrame], None]
Draft = Callable[[Context, RuleEntry, dict[str, Any]], FindingDraft]


@dataclass(frozen=True, slots=True)
class Columns:
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


def default_draft(ctx: Context, entry: RuleEntry, row: dict[str, Any]) -> FindingDraft:
    return ctx.anchored(row[PKEY], entry.rule, value=row["measured"], expected=row["expected"])


def judge(
    ctx: Context, ruleset: RuleSet, entry: RuleEntry, draft: Draft, row: dict[str, Any]
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


COMPLETE = pl.col("partners_complete")


def complete(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(COMPLETE)


CLEAR = pl.col("rows_clear")
