"""Rule cases per action: thresholds, call years and pools (tests/cases/*.yaml).

Each case is a proposal spec and what the auditor must say about it: the
verdict, rules that must fire, rules that must not, and every finding it gives
(``findings``: code and cell, in the order of the report). A case without
``findings`` expects none: one bad cell, one finding, and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Judge

CASES = [
    (path.stem, case)
    for path in sorted((Path(__file__).resolve().parents[1] / "cases").glob("*.yaml"))
    for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
]


@pytest.mark.parametrize(("suite", "case"), CASES, ids=[f"{s}: {c['name']}" for s, c in CASES])
def test_case(suite: str, case: dict[str, Any], judge_specs: Judge) -> None:
    result = judge_specs(case["spec"])
    (proposal,) = result.proposals
    fired = {f.rule for f in proposal.findings}
    described = [(f.rule, f.message) for f in proposal.findings]
    if "verdict" in case:
        assert proposal.verdict == case["verdict"], described
    for rule in case.get("expect", []):
        assert rule in fired, (rule, described)
    for rule in case.get("absent", []):
        assert rule not in fired, (rule, described)
    located = [f"{f.code} {f.location or '-'}" for f in proposal.findings]
    assert located == case.get("findings", []), described
    for metric, value in case.get("metrics", {}).items():
        assert proposal.metrics[metric] == value, (metric, proposal.metrics)
