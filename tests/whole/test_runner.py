"""The library owns the run (auditor/runner.py): state, reports, commit, lock."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.core.config import AuditConfig
from auditor.core.errors import OutputError
from auditor.runner import AuditRun

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ["ka220-hed-eligible.xlsx", "ka210-ineligible.xlsx", "cove-eligible.xlsx"]


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in SAMPLES:
        shutil.copy(ROOT / "samples" / name, inbox / name)
    return inbox


def test_a_run_writes_its_reports_then_commits_and_the_next_is_incremental(
    tmp_path: Path,
) -> None:
    inbox, report = _inbox(tmp_path), tmp_path / "report"
    config = AuditConfig(lang="nl")
    with AuditRun([str(inbox)], report, config, results_only=True) as run:
        first = run.execute()
    assert first.result.run_id == 1 and first.result.changes is None  # nothing to compare with
    assert first.counts is not None and first.counts.read == len(SAMPLES)
    document = json.loads((report / "results.json").read_text(encoding="utf-8"))
    assert document["summary"]["files"] == len(SAMPLES)
    (inbox / SAMPLES[1]).unlink()
    with AuditRun([str(inbox)], report, config, results_only=True) as run:
        second = run.execute()
    assert second.result.run_id == 2
    assert second.counts is not None and second.counts.read == 0  # nothing changed was read
    assert second.result.changes is not None
    assert second.result.changes.counts()["withdrawn"] == 1
    assert len(second.result.proposals) == len(SAMPLES) - 1


def test_a_run_holds_its_state_until_it_is_left(tmp_path: Path) -> None:
    """Entered, a run holds the state's lock: a second run on it waits, then
    gives up with a clear error; once the first is left, the second runs."""
    inbox, report = _inbox(tmp_path), tmp_path / "report"
    config = AuditConfig()
    told: list[Path] = []
    with (
        AuditRun([str(inbox)], report, config, results_only=True),
        pytest.raises(OutputError, match="another"),
        AuditRun([str(inbox)], report, config, results_only=True, wait=0.2, on_wait=told.append),
    ):
        pass
    assert told == [report.parent / f"{report.name}.state.sqlite"]
    with AuditRun([str(inbox)], report, config, results_only=True) as run:
        assert run.execute().result.run_id == 1


def test_a_run_without_a_state_keeps_no_history(tmp_path: Path) -> None:
    inbox, report = _inbox(tmp_path), tmp_path / "report"
    with AuditRun([str(inbox)], report, AuditConfig(), state=False) as run:
        outcome = run.execute()
    assert outcome.result.run_id is None and outcome.counts is None
    assert (report / "index.html").is_file()
    assert not list(tmp_path.glob("*.sqlite"))


def test_a_large_export_is_judged_where_it_is_read_with_the_same_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An export of many rows is judged in the worker that read it, not in the process
    that gathers the results; the results are those of the export judged there."""
    from auditor import api
    from auditor.read.discover import discover
    from auditor.report.json import results_document

    export = ROOT / "samples" / "agency-export-2024.xlsx"
    judged_here: list[int] = []
    judge_chunk = api.judge_chunk

    def counted(*args: object, **options: object) -> object:
        judged_here.append(1)
        return judge_chunk(*args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "judge_chunk", counted)
    assert not api.judged_in_workers(discover([str(export)]))  # a small one: judged here
    here = api.audit([str(export)])
    assert judged_here
    judged_here.clear()
    monkeypatch.setattr(api, "JUDGE_IN_WORKERS_BYTES", export.stat().st_size)  # large now
    assert api.judged_in_workers(discover([str(export)]))
    there = api.audit([str(export)])
    assert not judged_here  # nothing judged in this process
    assert len(there.proposals) == len(here.proposals) == 3
    documents = [results_document(result) for result in (here, there)]
    for document in documents:
        document["run"].pop("started_at")
    assert documents[0] == documents[1]


def test_a_chunk_over_the_workers_memory_while_judged_comes_back_to_be_judged_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Judging in a worker under --max-memory may run out (a large export): the worker
    hands back what it read, which the main process judges, as it judges a few
    small files; the run does not stop."""
    from auditor import api
    from auditor.core.config import Limits
    from auditor.read.discover import discover
    from auditor.read.model import ReadBatch
    from auditor.rules.rulebook import load_rulebook

    export = ROOT / "samples" / "agency-export-2024.xlsx"
    judge_chunk = api.judge_chunk

    def over_the_limit(*args: object, **options: object) -> object:
        raise MemoryError

    monkeypatch.setattr(api, "judge_chunk", over_the_limit)
    part = api.read_and_judge(discover([str(export)]), Limits(timeout=0), config=AuditConfig())
    assert isinstance(part, ReadBatch) and len(part.files) == 1
    monkeypatch.setattr(api, "judge_chunk", judge_chunk)
    judged = api.judge_chunk(part, load_rulebook(), AuditConfig())
    assert len(judged.proposals) == len(api.audit([str(export)]).proposals) == 3
