"""Every rule's examples from the catalogue are executable and say what they claim."""

from __future__ import annotations

import pytest

from auditor.core.catalogue import catalogue
from auditor.core.findings import Verdict
from tests.conftest import Judge

EXAMPLES = [
    (name, kind)
    for name, rule in sorted(catalogue().rules.items())
    for kind in ("eligible", "ineligible")
    if "describe" not in rule.examples[kind]
]


@pytest.mark.parametrize(("rule", "kind"), EXAMPLES, ids=[f"{r}-{k}" for r, k in EXAMPLES])
def test_rule_example(rule: str, kind: str, judge_specs: Judge) -> None:
    example = catalogue()[rule].examples[kind]
    result = judge_specs(example.get("proposals", [example]))
    fired = [f for p in result.proposals for f in p.findings if f.rule == rule]
    if kind == "eligible":
        assert not fired, [f.message for f in fired]
        assert all(p.verdict is Verdict.ELIGIBLE for p in result.proposals), [
            (f.rule, f.message) for p in result.proposals for f in p.findings
        ]
    else:
        assert fired, f"{rule} did not fire on its ineligible example"
        assert all(f.code == catalogue()[rule].code for f in fired)
        assert all(f.cell for f in fired), "every finding of an example points to a cell"


def test_file_rules_describe_their_examples() -> None:
    described = {n for n, r in catalogue().rules.items() if "describe" in r.examples["eligible"]}
    assert described == {
        "unreadable-file",
        "missing-sheet",
        "missing-column",
        "too-many-findings",
        "annotation-failed",
    }
