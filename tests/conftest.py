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
