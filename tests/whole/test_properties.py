"""Property tests: workbooks with junk in every cell never crash the auditor.

Whatever the cells hold, every file gets a verdict or an ``unreadable-file``
(or ``missing-sheet``) finding, the reports are written, and no input changes.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from auditor.api import audit
from auditor.core.config import AuditConfig, Limits
from auditor.core.findings import Severity, Verdict
from auditor.core.results import ProposalResult
from auditor.core.tables import table_spec
from auditor.report.excel import put
from auditor.report.outputs import ReportOptions, write_reports

LABELS = [c.label("en") for c in table_spec("project").columns.values()]
HEADERS = [c.label("nl") for c in table_spec("partners").columns.values()]
junk_text = st.text(max_size=30).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s))
cell = st.one_of(
    st.none(),
    junk_text,
    st.sampled_from(
        [
            "coordinator",
            "partner",
            "NL",
            "HEI",
            "E12345678",
            "123456789",
            "=1+1",
            "<b>x</b>",
            "1.000.000",
            "Atlantis",
            "",
            " ",
            "KA220-HED",
            "2024",
        ]
    ),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.booleans(),
)
workbook_spec = st.fixed_dictionaries(
    {
        "project_sheet": st.sampled_from(["Project", "Projectgegevens", "Sheet1", "Proposals"]),
        "partner_sheet": st.sampled_from(["Partners", "Partnerorganisaties", "Data"]),
        "values": st.lists(cell, min_size=len(LABELS), max_size=len(LABELS)),
        "headers": st.lists(
            st.one_of(st.sampled_from(HEADERS), junk_text), min_size=1, max_size=12
        ),
        "rows": st.lists(st.lists(cell, min_size=0, max_size=12), max_size=8),
    }
)


def _write(path: Path, spec: dict[str, Any]) -> None:
    workbook = openpyxl.Workbook()
    project = workbook.active
    project.title = spec["project_sheet"]
    for row, (label, value) in enumerate(zip(LABELS, spec["values"], strict=True), start=1):
        put(project, row, 1, label)
        put(project, row, 2, value)
    partners = workbook.create_sheet(spec["partner_sheet"])
    for column, header in enumerate(spec["headers"], start=1):
        put(partners, 1, column, header)
    for row, values in enumerate(spec["rows"], start=2):
        for column, value in enumerate(values, start=1):
            put(partners, row, column, value)
    workbook.save(path)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(workbook_spec, min_size=1, max_size=3))
def test_junk_never_crashes_and_every_file_gets_an_answer(specs: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        inbox = Path(scratch) / "inbox"
        inbox.mkdir()
        for number, spec in enumerate(specs):
            _write(inbox / f"junk-{number}.xlsx", spec)
        before = {p.name: hashlib.sha256(p.read_bytes()).digest() for p in inbox.iterdir()}
        result = audit([str(inbox)], AuditConfig(limits=Limits(timeout=0)))
        assert len(result.files) == len(specs)
        # Every finding names the workbook it is about.
        assert all(f.file == p.file for p in result.proposals for f in p.findings)
        assert all(f.file == file.file for file in result.files for f in file.findings)
        by_file: dict[str, list[ProposalResult]] = {}
        for proposal in result.proposals:
            # A proposal is ineligible exactly when one of its findings is an error.
            errors = [f for f in proposal.findings if f.severity is Severity.ERROR]
            assert (proposal.verdict is Verdict.INELIGIBLE) == bool(errors), proposal
            assert proposal.verdict is not Verdict.UNREADABLE
            by_file.setdefault(proposal.file, []).append(proposal)
        for file in result.files:
            held = by_file.get(file.file, [])
            assert [p.proposal_id for p in held] == list(file.proposals)
            if file.verdict is Verdict.UNREADABLE:
                # Unreadable only with nothing judged, and always said why, on a cell or the file.
                assert not held
                assert {f.rule for f in file.findings} & {
                    "unreadable-file",
                    "missing-sheet",
                    "missing-column",
                }, file.findings
            else:
                failed = any(f.severity is Severity.ERROR for f in file.findings) or any(
                    p.verdict is Verdict.INELIGIBLE for p in held
                )
                assert held and (file.verdict is Verdict.INELIGIBLE) == failed, file
        write_reports(result, Path(scratch) / "out", ReportOptions(annotate="all"))
        assert (Path(scratch) / "out" / "index.html").is_file()
        after = {p.name: hashlib.sha256(p.read_bytes()).digest() for p in inbox.iterdir()}
        assert after == before
