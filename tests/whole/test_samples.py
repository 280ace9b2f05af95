"""The samples: golden results, a valid results document, deterministic order.

After a deliberate change of results, rewrite the golden file with
``python tests/whole/test_samples.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "samples-results.json"
SCHEMA = Path(__file__).resolve().parents[1] / "results.schema.json"


def _audit_samples(**options: Any) -> dict[str, Any]:
    from auditor.api import audit
    from auditor.core.config import AuditConfig

    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        document = audit(["samples"], AuditConfig(**options)).to_dict()
    finally:
        os.chdir(cwd)
    return document


def _stable(document: dict[str, Any]) -> dict[str, Any]:
    """Without what changes from run to run or with the rule text version."""
    run = dict(document["run"])
    run.pop("started_at")
    run.pop("rules_version")
    return {**document, "run": run, "tool": {"name": document["tool"]["name"]}}


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return _audit_samples()


def test_samples_match_the_golden_results(results: dict[str, Any]) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert _stable(results) == golden


def test_results_document_is_valid(results: dict[str, Any]) -> None:
    jsonschema.validate(results, json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_every_rule_set_has_an_eligible_and_an_ineligible_sample(
    results: dict[str, Any],
) -> None:
    """From the rule book, not a list here: a rule set added without samples fails."""
    from auditor.rules.rulebook import load_rulebook

    book = load_rulebook()
    seen: dict[str, set[str]] = {ruleset.id: set() for ruleset in book.action_sets()}
    for proposal in results["proposals"]:
        ruleset = book.ruleset_of(proposal["action"])
        if ruleset is not None:
            seen[ruleset.id].add(proposal["verdict"])
    missing = {
        rid: verdicts for rid, verdicts in seen.items() if verdicts != {"eligible", "ineligible"}
    }
    assert not missing, missing


def test_order_is_deterministic(results: dict[str, Any]) -> None:
    keys = [(p["file"], p["proposal_id"]) for p in results["proposals"]]
    assert keys == sorted(keys)
    for proposal in results["proposals"]:
        located = [(f["sheet"] or "", f["row"] or 0) for f in proposal["findings"]]
        assert located == sorted(located)
    assert _stable(_audit_samples(workers=2)) == _stable(results)


def test_dutch_run_gives_the_same_verdicts(results: dict[str, Any]) -> None:
    dutch = _audit_samples(lang="nl")
    assert [p["verdict"] for p in dutch["proposals"]] == [
        p["verdict"] for p in results["proposals"]
    ]
    messages = [f["message"] for p in dutch["proposals"] for f in p["findings"]]
    assert any("minstens" in m for m in messages)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    GOLDEN.write_text(
        json.dumps(_stable(_audit_samples()), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"wrote {GOLDEN}")
