"""Shared fixtures: the rule book, judging proposal specs, writing workbooks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the sample writer lives in samples/
    sys.path.insert(0, str(ROOT))

from auditor.api import judge  # noqa: E402
from auditor.core.catalogue import catalogue  # noqa: E402
from auditor.core.config import AuditConfig  # noqa: E402
from auditor.core.results import AuditResult  # noqa: E402
from auditor.rules.examples import batch_from_specs  # noqa: E402
from auditor.rules.rulebook import RuleBook, load_rulebook  # noqa: E402

SAMPLES = ROOT / "samples"

# No PDFs unless a test asks for them (pdf=True, --pdf): printing every report
# in Chromium would triple the suite's time. Commands run by tests inherit it.
os.environ.setdefault("AUDITOR_PDF", "0")


@pytest.fixture(scope="session", autouse=True)
def _fork_server() -> None:
    """The worker processes' fork server, started once for the session with
    everything the workers of any test import: each audit's readers and
    report workers are then forked ready, instead of importing polars,
    pandera, openpyxl and the report modules again in every run (they did,
    whenever the test that started the server had preloaded less).

    A fixture, not a session hook: started inside the first test's capture,
    the server and its workers write where the tests' output is captured
    (and shown with a failing test), as a server a test started always did.
    """
    from auditor.api import JUDGE_PRELOAD
    from auditor.pool.processes import warm_up

    # The report jobs' module, and what it imports only where a job needs it.
    reports = ["report.jobs", "report.annotate", "report.letters", "report.summary"]
    warm_up([*JUDGE_PRELOAD, *(f"auditor.{name}" for name in reports)])


@pytest.fixture(scope="session")
def book() -> RuleBook:
    return load_rulebook()


Judge = Callable[..., AuditResult]


@pytest.fixture(scope="session")
def judge_specs(book: RuleBook) -> Judge:
    """Judge proposal specs (see auditor/rules/examples.py) as if read from workbooks."""

    def run(
        specs: Sequence[Mapping[str, Any]] | Mapping[str, Any], lang: str = "en"
    ) -> AuditResult:
        items = [specs] if isinstance(specs, Mapping) else list(specs)
        return judge(batch_from_specs(items, catalogue().bases), book, AuditConfig(lang=lang))

    return run


def fired(judge_specs: Judge, spec: Mapping[str, Any]) -> dict[str, str]:
    """Each rule that gave a finding on the proposal ``spec``, with its severity."""
    result = judge_specs(spec)
    return {f.rule: str(f.severity) for p in result.proposals for f in p.findings}


def rules_of(result: AuditResult) -> set[str]:
    return {f.rule for p in result.proposals for f in p.findings} | {
        f.rule for file in result.files for f in file.findings
    }
