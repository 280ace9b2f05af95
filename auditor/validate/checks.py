"""Validating every row of the batch with pandera, in one lazy call per table.

pandera's cost is per call, not per row (perf-floors.md, section 2: about
10 ms a call against 0.08 ms a file when batched), so the partner rows of all
proposals are validated together and each failure case is mapped back to its
proposal and cell. No pandera exception reaches the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
from pandera.errors import SchemaErrors

from auditor.core.findings import FindingDraft, Place
from auditor.core.tables import table_spec
from auditor.normalise.frames import n
from auditor.read.model import PKEY, ROW, ProposalSource, partner_place
from auditor.validate import Drafts
from auditor.validate.schema import OID_OR_PIC, schema


def _failure_cases(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    try:
        schema(name).validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases: pl.DataFrame = errors.failure_cases
        return cases.select("column", "check", "failure_case", pl.col("index").cast(pl.Int64))
    return pl.DataFrame(
        schema={
            "column": pl.String,
            "check": pl.String,
            "failure_case": pl.String,
            "index": pl.Int64,
        }
    )


def _rule_of(check: str, column: str | None) -> tuple[str, str | None, str | None]:
    """(rule, message variant, column) of a pandera check name."""
    if check == "not_nullable":
        return "missing-value", None, column
    if check == OID_OR_PIC:
        return "missing-value", "oid-or-pic", "oid"
    rule, _, variant = check.partition(":")
    return rule, variant or None, column


def validate_partners(partners: pl.DataFrame, sources: Mapping[str, ProposalSource]) -> Drafts:
    """Row findings for the partner rows of the whole batch."""
    drafts: Drafts = {}
    if partners.height == 0:
        return drafts
    cases = _failure_cases(partners, "partners")
    if cases.height == 0:
        return drafts
    origin = (
        partners.select(PKEY, ROW)
        .with_row_index("index")
        .with_columns(pl.col("index").cast(pl.Int64))
    )
    located = cases.join(origin, on="index", how="left").sort("index", "column")
    for column, check, value, _, pkey, row in located.iter_rows():
        source = sources[pkey]
        table = source.partners
        rule, variant, key = _rule_of(check, column)
        if table is None or key is None:
            continue
        if key == "oid" and "oid" not in table.letters:
            key = "pic"
        place = partner_place(table, key, row)
        if place.cell is None:  # the column is absent: reported once as missing-column
            continue
        drafts.setdefault(pkey, []).append(_case_draft(rule, variant, place, value))
    return drafts


def _case_draft(rule: str, variant: str | None, place: Place, value: Any) -> FindingDraft:
    """The draft of one failure case of pandera's, at its cell (a missing value has none)."""
    return FindingDraft.at(
        rule,
        place,
        params={"variant": variant} if variant else {},
        value=None if rule == "missing-value" else value,
    )


def validate_projects(
    projects: pl.DataFrame,
    sources: Mapping[str, ProposalSource],
    required_for: Mapping[str, tuple[str, ...]] | None = None,
) -> Drafts:
    """Field findings for the project fields of every proposal."""
    drafts: Drafts = {}
    if projects.height == 0:
        return drafts
    # No call year written, and none to read from the proposal ID or the date:
    # the pools of 2014-2020 actions and the later region rules depend on it.
    missing = [(pl.col("year").is_null() & pl.col("call_year").is_null(), "call_year", "call-year")]
    # A field some actions cannot be judged without (schemas/project.yaml
    # required_for): the field turns them into another action (CBHE and its
    # Strand into CBHE-S1 ...), so one still named here lacks it, or has a
    # value it does not know (Strand 4).
    # ``required_for`` adds what the rule sets say (the actions with strands).
    needed = {name: spec.required_for for name, spec in table_spec("project").columns.items()}
    for name, actions in (required_for or {}).items():
        needed[name] = (*needed.get(name, ()), *actions)
    missing += [
        (pl.col(n("action")).is_in(list(actions)), name, name)
        for name, actions in needed.items()
        if actions
    ]
    for condition, field, wording in missing:
        for (pkey,) in projects.filter(condition).select(PKEY).rows():
            source = sources[pkey]
            drafts.setdefault(pkey, []).append(
                FindingDraft.at(
                    "missing-value",
                    source.project_place(field, fallback="proposal_id"),
                    params={"variant": wording},
                )
            )
    cases = _failure_cases(projects, "project")
    if cases.height == 0:
        return drafts
    keys = projects.get_column(PKEY).to_list()
    for column, check, value, index in cases.sort("index", "column").iter_rows():
        pkey = keys[index]
        source = sources[pkey]
        rule, variant, key = _rule_of(check, column)
        place = source.project_place(key) if key else None
        if place is None or place.cell is None:  # the field's row is absent: the reader said so
            continue
        drafts.setdefault(pkey, []).append(_case_draft(rule, variant, place, value))
    return drafts
