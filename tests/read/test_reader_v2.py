"""Reading like a careful person (workbook-format.md v2): one test per reader rule.

Each test starts from a sample workbook, changes it the way applicants do,
and asks what a person would answer. Each failed before reader v2 (commit
a5e0140): the issue-12 note lists what it gave then. The layout fuzzer
(test_layout_fuzz.py) checks the same rules over thousands of mixed variants;
these name them one by one.

Only the public API is used (``auditor.audit``), so the same file runs against
any version of the auditor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from auditor import AuditConfig, audit

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "ka220-hed-eligible.xlsx"
ORGANISATIONS = 4  # the sample's coordinator and three full partners


def _judged(tmp_path: Path, change: Any) -> Any:
    workbook = openpyxl.load_workbook(SAMPLE)
    change(workbook["Project"], workbook["Partners"])
    path = tmp_path / "changed.xlsx"
    workbook.save(path)
    result = audit([str(path)], AuditConfig(workers=1))
    (proposal,) = result.proposals
    return proposal


def _counted(proposal: Any, rule: str = "min-organisations") -> Any:
    return next(check.measured for check in proposal.checks if check.rule == rule)


def _rules(proposal: Any) -> list[str]:
    return sorted(f.rule for f in proposal.findings)


def _project_row(sheet: Any, label: str) -> int:
    return next(row for row in range(1, sheet.max_row + 1) if sheet.cell(row, 1).value == label)


@pytest.mark.parametrize("prefix", ["Total", "Som", "Sum", "Totaal", "Subtotal"])
def test_an_organisation_named_like_a_totals_row_is_a_partner(tmp_path: Path, prefix: str) -> None:
    """A totals row is a totals label standing alone, not a name that begins with one.
    Before: the partner was dropped (3 organisations counted)."""

    def rename(project: Any, partners: Any) -> None:
        partners.cell(5, 3).value = f"{prefix} Digital Soluciones SL"

    proposal = _judged(tmp_path, rename)
    assert _counted(proposal) == ORGANISATIONS and not proposal.findings


@pytest.mark.parametrize(
    "note",
    [
        ["Signed by the rector", "12 March"],
        ["Version 2", "Confidential", "p.t.o."],
        ["See the annex for the letters of intent"],
    ],
)
def test_a_note_below_the_partner_table_is_no_partner(tmp_path: Path, note: list[str]) -> None:
    """Notes of one to three cells below the table hold no role, no identifier,
    no country: they are notes. Before: a partner row with an unknown role and
    missing values (ineligible)."""

    def add_note(project: Any, partners: Any) -> None:
        row = partners.max_row + 2
        for offset, text in enumerate(note):
            partners.cell(row, 2 + offset).value = text

    proposal = _judged(tmp_path, add_note)
    assert str(proposal.verdict) == "eligible", _rules(proposal)
    assert _counted(proposal) == ORGANISATIONS and not proposal.findings


def test_help_text_beside_an_empty_value_is_not_the_value(tmp_path: Path) -> None:
    """Values come from the value column only. Before: the guidance in column C
    was read as the submission time (invalid-date) and the acronym."""

    def guide(project: Any, partners: Any) -> None:
        project.cell(_project_row(project, "Submitted at"), 3).value = "dd-mm-yyyy hh:mm (CET)"
        acronym = _project_row(project, "Acronym")
        project.cell(acronym, 2).value = None
        project.cell(acronym, 3).value = "Max. 20 characters"

    proposal = _judged(tmp_path, guide)
    assert not proposal.findings, _rules(proposal)
    assert proposal.acronym is None


@pytest.mark.parametrize(
    ("label", "value"),
    [("Call", "2023 round 2"), ("Budget", 999_999), ("Key action", "KA2"), ("Total cost", 5)],
)
def test_a_field_with_a_confusable_name_does_not_replace_the_contracts_field(
    tmp_path: Path, label: str, value: Any
) -> None:
    """The contract's own labels win; "Call", "Budget", "Key action" are no aliases.
    Before: read as Call year, Requested grant or Action (ineligible)."""

    def confuse(project: Any, partners: Any) -> None:
        project.insert_rows(2)  # above the contract's fields: first is not best
        project.cell(2, 1).value = label
        project.cell(2, 2).value = value

    proposal = _judged(tmp_path, confuse)
    assert not proposal.findings, _rules(proposal)
    assert (proposal.action, proposal.call_year) == ("KA220-HED", 2024)


@pytest.mark.parametrize(
    ("label", "value"), [("Budget", 1000), ("Call", 2023), ("Key action", "KA2")]
)
def test_a_partner_column_with_a_confusable_name_is_not_a_contract_column(
    tmp_path: Path, label: str, value: Any
) -> None:
    """Before: a "Budget" column was read as the partners' requested grants (an
    associated partner asking a grant, grants not adding up: ineligible)."""

    def confuse(project: Any, partners: Any) -> None:
        column = partners.max_column + 1
        partners.cell(1, column).value = label
        for row in range(2, partners.max_row + 1):
            partners.cell(row, column).value = value

    proposal = _judged(tmp_path, confuse)
    assert not proposal.findings, _rules(proposal)


@pytest.mark.parametrize(
    ("written", "row"),
    [
        ("Onderneming / Bedrijf", 5),
        ("Instelling voor hoger onderwijs / Hogeschool / Universiteit", 3),
        ("Andere / Overig", 6),
    ],
)
def test_the_contracts_dutch_organisation_types_are_read_verbatim(
    tmp_path: Path, written: str, row: int
) -> None:
    """Before: unknown-organisation-type for the labels exactly as the contract lists them."""

    def dutch(project: Any, partners: Any) -> None:
        partners.cell(row, 7).value = written

    proposal = _judged(tmp_path, dutch)
    assert "unknown-organisation-type" not in _rules(proposal)
    assert str(proposal.verdict) == "eligible", _rules(proposal)


@pytest.mark.parametrize(
    "written",
    [
        "2024-03-07 17:00:00 UTC+01:00",
        "2024-03-07 17:00 +01",
        "07-03-2024 17:00 (CET)",
        "2024-03-07 17:00:00.250 UTC+1",
        "2024-03-07T16:00:00.250Z",
    ],
)
def test_submission_times_in_the_common_zone_notations(tmp_path: Path, written: str) -> None:
    """Before: invalid-date for these forms (and fractions of a second dropped)."""

    def submitted(project: Any, partners: Any) -> None:
        project.cell(_project_row(project, "Submitted at"), 2).value = written

    proposal = _judged(tmp_path, submitted)
    assert "invalid-date" not in _rules(proposal), [f.message for f in proposal.findings]


@pytest.mark.parametrize("placeholder", ["n/a", "-", "nvt", "geen", "none"])
def test_a_placeholder_in_an_optional_field_is_empty(tmp_path: Path, placeholder: str) -> None:
    """Before: "n/a" as a start date or partnership type was an invalid value."""

    def filler(project: Any, partners: Any) -> None:
        for label in ("Start date", "Partnership type", "EQF levels"):
            project.cell(_project_row(project, label), 2).value = placeholder

    proposal = _judged(tmp_path, filler)
    assert not proposal.findings, _rules(proposal)


@pytest.mark.parametrize(
    ("written", "microseconds"),
    [("2024-03-07 16:59:59.250 UTC+01:00", 250_000), ("2024-03-07T15:59:59.5Z", 500_000)],
)
def test_fractions_of_a_second_are_kept(written: str, microseconds: int) -> None:
    """A submission at 16:59:59.250 is before a 17:00 deadline, at 17:00:00.5 after.
    Before: the fraction was dropped."""
    from auditor.normalise.dates import parse_datetime

    moment = parse_datetime(written)
    assert moment is not None and moment.microsecond == microseconds
