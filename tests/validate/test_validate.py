"""Row validation: one pandera call per table for the whole batch, failures mapped to cells."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pandera.polars as pa
import pytest

from tests.conftest import Judge


def test_one_pandera_call_per_table_for_the_whole_batch(
    judge_specs: Judge, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = pa.DataFrameSchema.validate

    def counting(self: Any, frame: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(frame.height)
        return original(self, frame, *args, **kwargs)

    monkeypatch.setattr(pa.DataFrameSchema, "validate", counting)
    specs = [
        {"base": "ka220", "project": {"proposal_id": f"P{i}"}, "add": ["partner|FR|SCHOOL|oid=E1"]}
        for i in range(25)
    ]
    result = judge_specs(specs)
    assert len(calls) == 2  # partners and project, for 25 proposals
    assert sorted(calls) == [25, 25 * 4]
    assert all(any(f.rule == "invalid-oid" for f in p.findings) for p in result.proposals)


def test_failures_point_to_their_cells(judge_specs: Judge) -> None:
    result = judge_specs(
        {
            "base": "ka220",
            "add": ["partner|Atlantis|SCHOOL|oid=E1|pic=12|grant=-5|erasmus_code=X"],
            "project": {"duration_months": "two years", "submitted_at": "soon"},
        }
    )
    found = {(f.rule, f.address, f.value) for f in result.proposals[0].findings}
    assert ("unknown-country", "F5", "Atlantis") in found
    assert ("invalid-oid", "D5", "E1") in found
    assert ("invalid-pic", "E5", "12") in found
    assert ("invalid-number", "I5", "-5") in found
    assert ("invalid-erasmus-code", "H5", "X") in found
    assert ("invalid-number", "B7", "two years") in found
    assert ("invalid-date", "B10", "soon") in found


def test_one_bad_cell_is_one_finding(judge_specs: Judge) -> None:
    result = judge_specs(
        {
            "base": "ka220",
            "partners": ["coordinator|NL|SCHOOL", "partner|BE|SCHOOL", "partner|Atlantis|NGO"],
        }
    )
    rules = sorted(f.rule for f in result.proposals[0].findings)
    # No min-countries or min-organisations on top: the unknown country is the finding.
    assert rules == ["unknown-country"]
    checks = {c.rule: c.passed for c in result.proposals[0].checks}
    assert checks["min-countries"] is None  # not judged


def test_oid_or_pic_is_required(judge_specs: Judge) -> None:
    result = judge_specs({"base": "ka220", "add": ["partner|FR|SCHOOL|oid=|pic="]})
    (finding,) = [f for f in result.proposals[0].findings if f.rule == "missing-value"]
    assert finding.address == "D5" and "OID" in finding.message


def test_pandera_is_loaded_only_to_validate_rows() -> None:
    """A nightly run that reuses every stored result validates nothing: the run's
    modules (the stages after validation included) load without pandera."""
    code = (
        "import sys, auditor.runner, auditor.api, auditor.aggregate, auditor.rules.verdicts; "
        "print('pandera' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.stdout.strip() == "False", loaded.stderr
