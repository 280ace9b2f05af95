"""Agencies add or override rule sets with --rules DIR, without touching code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.api import judge
from auditor.core.catalogue import catalogue
from auditor.core.config import AuditConfig
from auditor.core.errors import RulesError
from auditor.rules.examples import batch_from_specs
from auditor.rules.rulebook import load_rulebook
from auditor.template.workbook import shown_fields

STRICTER_KA220 = """
id: cooperation-partnerships
title: {en: Cooperation Partnerships (agency rules), nl: Samenwerkingspartnerschappen}
actions: [KA220-SCH, KA220-VET, KA220-HED, KA220-ADU, KA220-YOU]
pool: eu-2021
source: Agency instruction 2024/7
rules:
  - rule: min-organisations
    min: 4
  - rule: duration
    min: 12
    max: 24
"""

NEW_ACTION = """
id: agency-demo
title: {en: An agency's own partnerships, nl: Eigen partnerschappen van een agentschap}
actions: [KA299-AGENCY]
aliases: {KA299-AGENCY: [ERASMUS-EDU-2025-AGENCY-DEMO]}
pool: eu-2021
source: Programme Guide 2025, sport
rules:
  - rule: min-organisations
    min: 3
  - rule: lump-sum
    values: [120000, 250000, 400000]
"""


def _judge(folder: Path | None, spec: dict[str, object]) -> set[str]:
    book = load_rulebook([folder] if folder else [])
    result = judge(batch_from_specs([spec], catalogue().bases), book, AuditConfig())
    return {f.rule for f in result.proposals[0].findings}


def test_an_override_replaces_the_shipped_rule_set(tmp_path: Path) -> None:
    (tmp_path / "ka220.yaml").write_text(STRICTER_KA220, encoding="utf-8")
    spec = {"base": "ka220", "project": {"duration_months": 30}}
    assert _judge(None, spec) == set()
    assert _judge(tmp_path, spec) == {"min-organisations", "duration"}
    assert load_rulebook([tmp_path]).version != load_rulebook().version


def test_a_new_action_is_a_data_file(tmp_path: Path) -> None:
    (tmp_path / "sport.yaml").write_text(NEW_ACTION, encoding="utf-8")
    spec = {
        "base": "ka220",
        "project": {"action": "ERASMUS-EDU-2025-AGENCY-DEMO", "requested_grant_eur": 1},
    }
    assert _judge(None, spec) == {"unknown-action"}
    assert _judge(tmp_path, spec) == {"lump-sum"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\nactions: [A]\nrules:\n  - rule: no-such-rule\n", "unknown rule"),
        ("id: x\nactions: [A]\nrules:\n  - rule: unreadable-file\n", "as it is read"),
        ("id: x\nactions: [A]\npool: mars\nrules: []\n", "unknown pool"),
        ("id: x\nactions: [KA220-HED]\nrules: []\n", "two rule sets"),
        ("rules: [\n", "cannot read"),
        ("just text\n", "needs an 'id'"),
        ("id: x\nactions: [A]\nstrands: {A: {1: B}}\nrules: []\n", "actions the set does not have"),
        ("id: x\nactions: [A, B]\nstrands: {A: {1.5: B}}\nrules: []\n", "whole numbers to actions"),
        (
            "id: x\nactions: [A, B]\nstrands: {A: {true: B}}\nrules: []\n",
            "whole numbers to actions",
        ),
        ("id: x\nactions: [A, B]\nstrands: {A: {one: B}}\nrules: []\n", "whole numbers to actions"),
        ("id: x\nactions: [A, B]\nstrands: {A: {1: [B]}}\nrules: []\n", "whole numbers to actions"),
    ],
)
def test_bad_rule_sets_are_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match=message):
        load_rulebook([tmp_path])


def test_norway_written_bare_in_yaml_is_explained(tmp_path: Path) -> None:
    (tmp_path / "pools.yaml").write_text(
        "pools:\n  nordic:\n    members:\n      - countries: [NO, IS]\n"
    )
    with pytest.raises(RulesError, match='"NO" in quotes'):
        load_rulebook([tmp_path])


def test_a_missing_rules_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="does not exist"):
        load_rulebook([tmp_path / "nowhere"])


def test_an_action_with_a_strand_is_data(tmp_path: Path) -> None:
    """A rule set's ``strands`` make an action given with a Strand read as the
    strand's own action, whose rules then apply (no code per action)."""
    (tmp_path / "strands.yaml").write_text(
        """
id: agency-strands
title: {en: Strands}
actions: [KA299-X, KA299-X1, KA299-X2]
pool: eu-2021
strands:
  KA299-X: {1: KA299-X1, 2: KA299-X2}
rules:
  - rule: min-organisations
    min: 4
    when: {action: {eq: KA299-X2}}
""",
        encoding="utf-8",
    )
    base = {"base": "ka220", "project": {"action": "KA299-X", "call_year": 2024}}
    one = {**base, "project": {**base["project"], "strand": 1}}
    two = {**base, "project": {**base["project"], "strand": 2}}
    assert "min-organisations" not in _judge(tmp_path, one)
    assert "min-organisations" in _judge(tmp_path, two)
    # Without one of its strands the action cannot be judged: said on the Strand cell.
    for strand in (None, 9):
        spec = {**base, "project": {**base["project"], "strand": strand}}
        assert _judge(tmp_path, spec) == {"missing-value"}
    # Its template asks for the Strand; the strands' own actions do not.
    book = load_rulebook([tmp_path])
    assert "strand" in shown_fields(book, "KA299-X")
    assert "strand" not in shown_fields(book, "KA299-X1")


# A parameter as the rule file writes it: a mapping, a key of one, "when <field> {...".
RAW_SYNTAX = re.compile(
    r"\{'|'\}|\bwhen [a-z_]+ [{\[]|\b(from_year|call_year|requested_grant_eur|per_month)\b"
)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_people_never_see_a_raw_parameter_expression(lang: str) -> None:
    """Rule parameters reach people in words: `auditor rules`, the template's
    Instructions sheet and `auditor explain`'s reasons, for every action's entries."""
    from rich.console import Console

    from auditor.report.params_text import params_text
    from auditor.report.rulebook import print_rules
    from auditor.template.workbook import build_template

    book = load_rulebook()
    said = 0
    for ruleset in book.sets.values():
        for entry in ruleset.entries:
            text = params_text(entry, lang)
            assert not RAW_SYNTAX.search(text), (ruleset.id, entry.rule, text)
            said += bool(text)
    assert said > 100
    console = Console(record=True, width=400)
    actions = sorted(a for s in book.action_sets() for a in s.actions)
    for action in actions:
        print_rules(catalogue(), book, console, lang, action)
    shown = console.export_text()
    assert not RAW_SYNTAX.search(shown), RAW_SYNTAX.search(shown)
    for action in actions[::3]:  # a third of them: a template takes a moment to build
        instructions = build_template(book, action, lang).worksheets[0]
        for row in instructions.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and RAW_SYNTAX.search(value)), (action, value)


def test_sources_shown_to_users_cite_the_guide_not_our_notes() -> None:
    """Seed pages and spec sections stay in `auditor explain`; `auditor rules`
    and the pages cite the Programme Guide or the call."""
    from rich.console import Console

    from auditor.report.params_text import public_source
    from auditor.report.rulebook import explain, print_rules

    notes = re.compile(r"\bseeds? \d{3}|actions\.md", re.IGNORECASE)
    book = load_rulebook()
    shown = [
        public_source(entry.source or ruleset.source or catalogue()[entry.rule].source)
        for ruleset in book.sets.values()
        for entry in ruleset.entries
    ]
    assert len([s for s in shown if s]) > 100
    assert not [s for s in shown if notes.search(s)]
    console = Console(record=True, width=400)
    for action in ("AFI-LOT1", "KA220-HED", "CBHE-S1"):  # whose sources carry notes
        print_rules(catalogue(), book, console, "en", action)
    assert not notes.search(console.export_text())  # rule-set notes stay in explain
    assert (
        public_source('Guide 2024 (x; y); seed 002: "a"; actions.md v2: b') == "Guide 2024 (x; y)"
    )
    background = Console(record=True, width=400)
    explain("deadline", catalogue(), book, background, "en")
    assert notes.search(background.export_text())  # kept where the reasons are read
