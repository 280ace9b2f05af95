"""Hostile and broken input: every file gets an answer, nothing is lost, nothing gets in."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from auditor.api import audit
from auditor.core.catalogue import catalogue
from auditor.core.config import AuditConfig, Limits
from auditor.core.findings import Verdict
from auditor.pool.supervisor import Supervisor, WorkerError
from auditor.read.batch import lost_file
from auditor.read.discover import discover
from auditor.report.outputs import output_lock
from tests import misbehaving_readers, programs
from tests.corpus import CONVERTED, Expected, build, small

ROOT = Path(__file__).resolve().parents[2]
GIGABYTE_KB = 1024 * 1024  # ru_maxrss is in kilobytes on Linux


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expected]]:
    folder = tmp_path_factory.mktemp("corpus") / "inbox"
    return folder, build(folder)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.is_symlink()
    }


def _measured_run(*args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the CLI in a fresh interpreter that reports its children's peak memory."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(done.returncode)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    return done, int(done.stdout.strip().splitlines()[-1])


def _has(findings: list[dict[str, Any]], rule: str, variant: str | None) -> bool:
    for finding in findings:
        if finding["rule"] != rule:
            continue
        if variant is None:
            return True
        template = catalogue()[rule].messages[variant]["en"]
        if finding["message"].startswith(template.split("{")[0]):
            return True
    return False


@pytest.mark.slow
def test_the_whole_corpus_gets_its_expected_answers(
    corpus: tuple[Path, dict[str, Expected]], tmp_path: Path
) -> None:
    folder, expected = corpus
    before = _hashes(folder)
    out = tmp_path / "out"
    done, peak_kb = _measured_run("audit", str(folder), "-o", str(out), "--annotate", "all", "-q")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert peak_kb < GIGABYTE_KB, f"peak memory {peak_kb} kB"
    assert _hashes(folder) == before  # every input byte-identical
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    by_name = {Path(f["file"]).name: f for f in document["files"]}
    proposals: dict[str, list[dict[str, Any]]] = {}
    for entry in document["proposals"]:
        proposals.setdefault(Path(entry["file"]).name, []).append(entry)
    for name, answer in expected.items():
        if answer.verdict == "skipped":
            assert name not in by_name, name
            continue
        entry = by_name[name]
        assert entry["verdict"] == answer.verdict, (name, entry)
        assert len(proposals.get(name, [])) == answer.proposals, name
        findings = entry["findings"] + [f for p in proposals.get(name, []) for f in p["findings"]]
        if answer.rule:
            assert _has(findings, answer.rule, answer.variant), (name, findings)
        if answer.verdict == "eligible":
            assert not [f for f in findings if f["severity"] == "error"], (name, findings)
    assert set(by_name) == {n for n, a in expected.items() if a.verdict != "skipped"}


@pytest.mark.slow
def test_the_corpus_holds_the_legacy_and_open_document_formats(
    corpus: tuple[Path, dict[str, Expected]],
) -> None:
    """LibreOffice makes them; where it is missing the whole-corpus test runs without."""
    programs.soffice()
    folder, expected = corpus
    for name in CONVERTED:
        assert (folder / name).is_file() and expected[name].verdict == "eligible", name


@pytest.mark.slow
def test_output_names_stay_inside_the_report(
    corpus: tuple[Path, dict[str, Expected]], tmp_path: Path
) -> None:
    folder, _ = corpus
    out = tmp_path / "out"
    result = audit([str(folder)], AuditConfig())
    from auditor.report.outputs import write_reports

    links = write_reports(result, out)
    pages = set(links.pages.values())
    assert len(pages) == len(result.proposals)  # no clashes, duplicates included
    for page in pages:
        target = (out / page).resolve()
        assert target.is_relative_to(out.resolve()) and target.is_file()
        assert target.parent.name == "proposals" and "/" not in target.name
    assert (out / "proposals" / "etc_passwd.html").is_file()
    assert not list(tmp_path.parent.glob("**/passwd.html"))
    html = "".join(p.read_text(encoding="utf-8") for p in (out / "proposals").glob("*.html"))
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "جامعة القاهرة" in html and "北京大学 🎓" in html
    summary = openpyxl.load_workbook(out / "summary.xlsx")
    cells = [c for s in summary.worksheets for r in s.iter_rows() for c in r if c.value]
    assert not [c for c in cells if c.data_type == "f"]


def test_the_time_limit_stops_a_slow_file_and_the_batch_goes_on(tmp_path: Path) -> None:
    for name in ("a-first.xlsx", "slow-file.xlsx", "z-last.xlsx"):
        small(tmp_path / name, name)
    config = AuditConfig(
        limits=Limits(timeout=1.0), workers=1, reader=misbehaving_readers.read_file
    )
    result = audit([str(tmp_path)], config)
    verdicts = {Path(f.file).name: f.verdict for f in result.files}
    assert verdicts == {
        "a-first.xlsx": Verdict.ELIGIBLE,
        "slow-file.xlsx": Verdict.UNREADABLE,
        "z-last.xlsx": Verdict.ELIGIBLE,
    }
    (slow,) = [f for f in result.files if f.file.endswith("slow-file.xlsx")]
    assert "longer than 1 seconds" in slow.findings[0].message
    assert "--timeout" in slow.findings[0].message


@pytest.mark.parametrize(("name", "exit_code"), [("crash.xlsx", 3), ("raise.xlsx", 70)])
def test_a_worker_that_dies_is_replaced(tmp_path: Path, name: str, exit_code: int) -> None:
    """A reader process that dies (crash) or whose reader raises (a bug) costs one file."""
    for file_name in ("a.xlsx", name, "b.xlsx", "c.xlsx"):
        small(tmp_path / file_name, file_name)
    config = AuditConfig(workers=2, reader=misbehaving_readers.read_file)
    result = audit([str(tmp_path)], config)
    verdicts = {Path(f.file).name: f.verdict for f in result.files}
    assert verdicts[name] is Verdict.UNREADABLE
    assert (
        f"exit code {exit_code}"
        in next(f for f in result.files if f.file.endswith(name)).findings[0].message
    )
    assert {n: v for n, v in verdicts.items() if n != name} == dict.fromkeys(
        ("a.xlsx", "b.xlsx", "c.xlsx"), Verdict.ELIGIBLE
    )


def test_a_task_that_fails_outside_any_file_stops_the_run_with_its_traceback() -> None:
    """A bug in judging is not a file's fault: it must surface, not loop or vanish."""
    items = discover([str(ROOT / "samples" / "ka220-hed-eligible.xlsx")])
    supervisor = Supervisor(1, Limits(), misbehaving_readers.broken_task, lost_file)
    with pytest.raises(WorkerError, match="a bug in judging"):
        list(supervisor.stream(items))


AUDIT = [sys.executable, "-m", "auditor", "audit"]


def test_a_second_run_on_the_same_output_folder_is_refused(tmp_path: Path) -> None:
    source = ROOT / "samples" / "ka220-hed-eligible.xlsx"
    out = tmp_path / "out"
    first = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", str(source), "-o", str(out), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    before = (out / "results.json").read_text()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with output_lock(out):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        second = subprocess.run(
            [*AUDIT, str(source), "-o", str(out), "-q", "--wait", "0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        release.set()
        holder.join()
    assert second.returncode == 2
    assert "another auditor run" in second.stderr
    assert (out / "results.json").read_text() == before


def test_openpyxl_refuses_xml_entities() -> None:
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML, "defusedxml must be installed (a dependency)"
