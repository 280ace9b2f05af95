"""Nightly audits: the state between runs, incremental reading, what changed, history.

Reads are counted with a reader that logs every workbook it opens
(misbehaving_readers.counting_read_file), in the worker processes where
reading happens.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from auditor.api import audit
from auditor.core.config import AuditConfig
from auditor.core.errors import OutputError, StateError
from auditor.core.results import AuditResult
from auditor.rules.rulebook import load_rulebook
from auditor.state.memory import Memory
from auditor.state.runs import diff, resolve_run, runs
from auditor.state.store import SCHEMA_VERSION, connect, lock
from tests import misbehaving_readers
from tests.corpus import tidy
from tests.rules.test_rulebook import STRICTER_KA220
from tests.whole.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
COUNTING = misbehaving_readers.counting_read_file


def _inbox(tmp_path: Path, count: int = 6) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for number in range(count):
        tidy(inbox / f"p{number}.xlsx", f"2024-1-NL01-KA220-SCH-{number:09d}")
    return inbox


def _reads(tmp_path: Path) -> list[str]:
    log = tmp_path / "reads.log"
    reads = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return sorted(Path(line).name for line in reads)


def _run(
    tmp_path: Path, inbox: Path, rules: Path | None = None, **config: Any
) -> tuple[AuditResult, Memory]:
    """One incremental run through the library, as the CLI does it (results only)."""
    settings = AuditConfig(reader=COUNTING, rules_dirs=(rules,) if rules else (), **config)
    version = load_rulebook(settings.rules_dirs).version
    memory = Memory(tmp_path / "state.sqlite", settings, version)
    try:
        result = audit([str(inbox)], settings, keep_rows=False, memory=memory)
        from dataclasses import replace

        result = replace(result, run_id=memory.run_id, changes=memory.changes(result))
        memory.commit(result, result.started_at, 0.0)
    finally:
        memory.close()
    return result, memory


def _judged(result: AuditResult) -> Any:
    document = result.to_dict()
    del document["run"], document["since_last_run"]
    return document


def test_a_second_run_over_an_unchanged_inbox_reads_nothing_and_says_the_same(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path)
    first, memory = _run(tmp_path, inbox)
    assert _reads(tmp_path) == [f"p{n}.xlsx" for n in range(6)]
    assert memory.counts.read == 6

    second, memory = _run(tmp_path, inbox)
    assert _reads(tmp_path) == []
    assert (memory.counts.read, memory.counts.rejudged, memory.counts.reused) == (0, 0, 6)
    assert _judged(second) == _judged(first)
    assert second.changes is not None and second.changes.counts()["unchanged"] == 6


def test_touching_a_file_hashes_it_and_editing_one_reads_only_that_one(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    first, _ = _run(tmp_path, inbox)
    _reads(tmp_path)

    later = time.time() + 10
    os.utime(inbox / "p2.xlsx", (later, later))  # touched: same bytes, newer time
    second, memory = _run(tmp_path, inbox)
    assert _reads(tmp_path) == []
    assert memory.counts.hashed == 1  # its time moved: hashed, found the same
    assert memory.counts.reused == 6
    assert _judged(second) == _judged(first)

    book = openpyxl.load_workbook(inbox / "p4.xlsx")  # new bytes, the same proposal
    book.properties.creator = "a colleague"
    book.save(inbox / "p4.xlsx")
    third, memory = _run(tmp_path, inbox)
    assert memory.counts.hashed == 1
    assert _reads(tmp_path) == ["p4.xlsx"]
    assert (memory.counts.read, memory.counts.reused) == (1, 5)
    assert _judged(third) == _judged(first)


def test_editing_a_rule_parameter_rejudges_every_proposal_without_reading(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path)
    first, _ = _run(tmp_path, inbox)
    _reads(tmp_path)
    assert {p.verdict for p in first.proposals} == {"eligible"}

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ka220.yaml").write_text(STRICTER_KA220, encoding="utf-8")  # at least 4 now
    second, memory = _run(tmp_path, inbox, rules)
    assert _reads(tmp_path) == []  # judged again from the rows the state keeps
    assert (memory.counts.read, memory.counts.rejudged, memory.counts.reused) == (0, 6, 0)
    assert {p.verdict for p in second.proposals} == {"ineligible"}
    assert all("min-organisations" in {f.rule for f in p.findings} for p in second.proposals)
    assert second.changes is not None and len(second.changes.broken) == 6


def test_the_diff_tells_exactly_what_a_sequence_of_inbox_changes_did(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 5)
    _run(tmp_path, inbox)  # run 1: p0..p4 eligible
    _reads(tmp_path)

    # run 2: p1 broken (duration), p2 withdrawn, p5 new, p3 unreadable
    tidy(inbox / "p1.xlsx", "2024-1-NL01-KA220-SCH-000000001", duration_months=6)
    (inbox / "p2.xlsx").unlink()
    tidy(inbox / "p5.xlsx", "2024-1-NL01-KA220-SCH-000000005")
    (inbox / "p3.xlsx").write_bytes(b"not a workbook")
    second, memory = _run(tmp_path, inbox)
    changes = second.changes
    assert changes is not None
    assert [c.file for c in changes.broken] == [str(inbox / "p1.xlsx")]
    assert [(c.before, c.after) for c in changes.broken] == [("eligible", "ineligible")]
    assert [f.code for f in changes.broken[0].added] == ["ELG301"]  # duration
    assert [c.file for c in changes.withdrawn] == [str(inbox / "p2.xlsx")]
    assert [c.file for c in changes.new] == [str(inbox / "p5.xlsx")]
    assert changes.fixed == ()
    assert changes.unreadable == (str(inbox / "p3.xlsx"),)
    assert memory.counts.withdrawn == 1
    assert sorted(_reads(tmp_path)) == ["p1.xlsx", "p3.xlsx", "p5.xlsx"]

    # run 3: p1 fixed, p3 readable again
    tidy(inbox / "p1.xlsx", "2024-1-NL01-KA220-SCH-000000001")
    tidy(inbox / "p3.xlsx", "2024-1-NL01-KA220-SCH-000000003")
    third, _ = _run(tmp_path, inbox)
    changes = third.changes
    assert changes is not None
    assert [(c.file, c.before, c.after) for c in changes.fixed] == [
        (str(inbox / "p1.xlsx"), "ineligible", "eligible")
    ]
    assert [c.file for c in changes.new] == [str(inbox / "p3.xlsx")]
    assert changes.broken == changes.withdrawn == ()
    assert changes.readable == (str(inbox / "p3.xlsx"),)
    assert changes.findings_resolved == 1 and changes.findings_added == 0

    # the stored history says the same, between any two runs
    db = connect(tmp_path / "state.sqlite", create=False)
    assert [r.id for r in runs(db)] == [1, 2, 3]
    from_first = diff(db, resolve_run(db, "1"), resolve_run(db, "last"))
    assert from_first.broken == from_first.fixed == ()  # p1 is as it was
    assert [c.file for c in from_first.withdrawn] == [str(inbox / "p2.xlsx")]
    assert [c.file for c in from_first.new] == [str(inbox / "p5.xlsx")]
    again = diff(db, resolve_run(db, "1"), resolve_run(db, "2"))
    assert again.to_dict()["counts"] == second.changes.to_dict()["counts"]  # type: ignore[union-attr]
    db.close()


def test_duplicate_ids_are_judged_across_the_whole_inbox(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 3)
    _run(tmp_path, inbox)
    _reads(tmp_path)
    tidy(inbox / "p9.xlsx", "2024-1-NL01-KA220-SCH-000000001")  # p1's ID, in a new file
    result, memory = _run(tmp_path, inbox)
    assert _reads(tmp_path) == ["p9.xlsx"] and memory.counts.reused == 3
    flagged = sorted(
        Path(p.file).name
        for p in result.proposals
        if "duplicate-proposal-id" in {f.rule for f in p.findings}
    )
    assert flagged == ["p1.xlsx", "p9.xlsx"]
    assert result.changes is not None
    assert [Path(c.file).name for c in result.changes.broken] == ["p1.xlsx"]


def test_the_reports_say_what_changed_and_the_commands_list_runs(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 3)
    first = run("audit", "inbox", "-o", "out", "-q", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("auditor exit=0 run=1 files=3 proposals=3 eligible=3")
    assert (tmp_path / "out.state.sqlite").exists()
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert document["run"]["id"] == 1 and document["since_last_run"] is None

    tidy(inbox / "p1.xlsx", "2024-1-NL01-KA220-SCH-000000001", duration_months=6)
    second = run("audit", "inbox", "-o", "out", "-q", "--lang", "nl", cwd=tmp_path)
    assert second.returncode == 1, second.stderr
    fields = dict(pair.split("=", 1) for pair in second.stdout.split()[1:])
    assert (fields["run"], fields["read"], fields["broken"], fields["new"]) == ("2", "1", "1", "0")
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    since = document["since_last_run"]
    assert since["since_run"]["id"] == 1
    assert [c["file"] for c in since["broken"]] == ["inbox/p1.xlsx"]
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "Sinds de vorige run (run 1" in index and "inbox/p1.xlsx" in index
    page = next((tmp_path / "out" / "proposals").glob("*000000001*.html"))
    text = page.read_text(encoding="utf-8")
    assert "Verloop van het oordeel" in text
    history = text[text.index('id="history"') : text.index('id="rules"')]
    assert history.index("run 1 (") < history.index("ontvankelijk")
    assert history.index("run 2 (") < history.index("niet ontvankelijk")
    unchanged = next((tmp_path / "out" / "proposals").glob("*000000002*.html"))
    text = unchanged.read_text(encoding="utf-8")
    history = text[text.index('id="history"') : text.index('id="rules"')]
    assert "run 1 (" in history and "run 2 (" not in history

    history = run("history", "-o", "out", "--format", "json", cwd=tmp_path)
    assert history.returncode == 0, history.stderr
    listed = json.loads(history.stdout)
    assert [(r["id"], r["read"], r["ineligible"]) for r in listed] == [(1, 3, 0), (2, 1, 1)]
    shown = run("diff", "1", "2", "-o", "out", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "inbox/p1.xlsx" in shown.stdout and "ELG301" in shown.stdout
    missing = run("diff", "1", "7", "-o", "out", cwd=tmp_path)
    assert missing.returncode == 2 and "no run 7" in missing.stderr
    # A run is never compared with itself ("diff last" alone was one).
    for same in (["last"], ["2", "last"], ["previous", "1"]):
        refused = run("diff", *same, "-o", "out", cwd=tmp_path)
        assert refused.returncode == 2 and "nothing to compare" in refused.stderr, same
    # In the order given: from the last run back to the previous, p1 was fixed.
    backwards = run("diff", "last", "previous", "-o", "out", "--format", "json", cwd=tmp_path)
    assert backwards.returncode == 0, backwards.stderr
    document = json.loads(backwards.stdout)
    assert document["later_run"]["id"] == 1
    assert [c["file"] for c in document["fixed"]] == ["inbox/p1.xlsx"]


@pytest.mark.slow
def test_a_second_run_on_the_same_state_waits_then_gives_up_clearly(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 1)
    settings = AuditConfig()
    version = load_rulebook().version
    holder = Memory(tmp_path / "out.state.sqlite", settings, version)
    try:
        with pytest.raises(OutputError, match="another auditor run"):
            Memory(tmp_path / "out.state.sqlite", settings, version, wait=0.3)
        blocked = run("audit", "inbox", "-o", "out", "--wait", "1", cwd=tmp_path)
        assert "waiting up to 1 s" in blocked.stderr  # it said it waits, then gave up
        assert blocked.returncode == 2
        assert "is using the state" in blocked.stderr and "--wait" in blocked.stderr
    finally:
        holder.close()
    assert not (tmp_path / "out").exists()
    done = run("audit", str(inbox), "-o", "out", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    # A run that finds the state held waits for it, and goes on once it is free.
    held = lock(tmp_path / "out.state.sqlite", 0)  # the state's lock, as a run holds it
    held.__enter__()
    release = threading.Timer(1.0, held.__exit__, (None, None, None))
    release.start()
    try:
        waited = run("audit", "inbox", "-o", "out", "--wait", "120", cwd=tmp_path)
    finally:
        release.cancel()
        release.join()
    assert waited.returncode == 0, waited.stderr
    assert "waiting up to 120 s" in waited.stderr  # it found the state held, and waited
    assert (tmp_path / "out.state.sqlite").is_file()
    assert json.loads((tmp_path / "out" / "results.json").read_bytes())["run"]["id"] == 2


def test_a_run_killed_half_way_leaves_reports_and_state_intact(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 4)
    assert run("audit", "inbox", "-o", "out", "-q", cwd=tmp_path).returncode == 0
    before = (tmp_path / "out" / "results.json").read_bytes()
    for number in range(4, 60):  # enough work to be killed in the middle of
        tidy(inbox / f"q{number}.xlsx", f"2024-1-NL01-KA220-SCH-{number:09d}")
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", "audit", "inbox", "-o", "out", "-q", "--workers", "1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until it is writing proposal pages
        if any(tmp_path.glob(".out.staging-*/proposals/*.html")):
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    assert (tmp_path / "out" / "results.json").read_bytes() == before
    db = connect(tmp_path / "out.state.sqlite", create=False)
    assert [r.id for r in runs(db)] == [1]
    assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 4
    db.close()

    done = run("audit", "inbox", "-o", "out", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "run=2 files=60" in done.stdout
    assert not list(tmp_path.glob(".out.staging-*"))  # the killed run's leftovers are gone
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert len(document["since_last_run"]["new"]) == 56


def test_a_newer_state_is_refused_and_a_new_one_gets_the_schema(
    tmp_path: Path,
) -> None:
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match="newer auditor"):
        connect(newer)
    fresh = connect(tmp_path / "fresh.sqlite")
    assert fresh.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {row[0] for row in fresh.execute("SELECT name FROM sqlite_master")}
    assert {"runs", "files", "proposal_states", "file_states"} <= tables
    fresh.close()


def test_a_state_of_the_previous_schema_is_judged_anew_from_its_rows(tmp_path: Path) -> None:
    """Schema 2 kept results.json's entries inside the results' blob. Once migrated,
    every file is judged again from the rows the state keeps: none is read, none of
    the old results is used, and the results are a fresh run's."""
    inbox = _inbox(tmp_path, 3)
    first, _ = _run(tmp_path, inbox)
    _reads(tmp_path)
    with sqlite3.connect(tmp_path / "state.sqlite") as db:  # the file as schema 2 left it
        db.execute("ALTER TABLE files DROP COLUMN entries")
        db.execute("PRAGMA user_version = 2")
    second, memory = _run(tmp_path, inbox)
    assert _reads(tmp_path) == []
    assert (memory.counts.read, memory.counts.rejudged, memory.counts.reused) == (0, 3, 0)
    assert memory.damaged == 0
    assert _judged(second) == _judged(first)
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT count(*) FROM files WHERE entries IS NULL").fetchone() == (0,)
    third, memory = _run(tmp_path, inbox)
    assert (memory.counts.read, memory.counts.rejudged, memory.counts.reused) == (0, 0, 3)
    assert _judged(third) == _judged(first)


def test_unchanged_pages_and_copies_are_taken_from_the_previous_report(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 3)
    tidy(inbox / "p1.xlsx", "2024-1-NL01-KA220-SCH-000000001", duration_months=6)
    assert run("audit", "inbox", "-o", "out", "-q", cwd=tmp_path).returncode == 1
    out = tmp_path / "out"
    pages = {page.name: page.stat().st_ino for page in (out / "proposals").glob("*.html")}
    copy = out / "annotated" / "p1.xlsx"
    copied = copy.stat().st_ino

    # p9 takes p0's ID: p0's results are reused, but its page must say so
    tidy(inbox / "p9.xlsx", "2024-1-NL01-KA220-SCH-000000000")
    second = run("audit", "inbox", "-o", "out", "-q", cwd=tmp_path)
    assert second.returncode == 1, second.stderr
    assert " read=1 " in second.stdout and " reused=3 " in second.stdout
    assert " linked=3 " in second.stdout  # the pages of p1 and p2, the copy of p1
    now = {page.name: page.stat().st_ino for page in (out / "proposals").glob("*.html")}
    p0 = "2024-1-NL01-KA220-SCH-000000000.html"
    p1 = "2024-1-NL01-KA220-SCH-000000001.html"
    p2 = "2024-1-NL01-KA220-SCH-000000002.html"
    assert now[p1] == pages[p1] and now[p2] == pages[p2]  # linked: the same file
    assert now[p0] != pages[p0]  # made again, with its partner rows fetched from the state
    page = (out / "proposals" / p0).read_text(encoding="utf-8")
    assert "IO004" in page and "Basisschool De Linde" in page and "GO! Atheneum Gent" in page
    assert "<code>ELG101</code>" in page  # its rule checks, loaded from the state for it
    assert copy.stat().st_ino == copied
    # the copies of p0 and p9 (now failing) are new; p1's is the one made last night
    assert {p.name for p in (out / "annotated").iterdir()} == {"p0.xlsx", "p1.xlsx", "p9.xlsx"}


def test_entries_made_in_workers_and_kept_in_the_state_are_the_canonical_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.api import JUDGE_IN_WORKERS_FROM
    from auditor.report.json import render_json
    from auditor.report.names import Links

    _inbox(tmp_path, JUDGE_IN_WORKERS_FROM + 2)  # judged, and rendered, in the workers
    tidy(tmp_path / "inbox" / "p1.xlsx", "2024-1-NL01-KA220-SCH-000000001", duration_months=6)
    texts = []
    for _ in range(2):  # read, then reused from the state
        done = run("audit", "inbox", "-o", "out", "-q", "--reports", "results", cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        texts.append((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    shown = run(
        "audit", "inbox", "-o", "out", "--reports", "results", "--format", "json", cwd=tmp_path
    )
    texts.append(shown.stdout)
    monkeypatch.chdir(tmp_path)
    canonical = render_json(audit(["inbox"], AuditConfig()), Links())

    def entries(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("    {")]

    assert len(entries(canonical)) == 2 * (JUDGE_IN_WORKERS_FROM + 2)
    assert entries(texts[0]) == entries(canonical)
    assert entries(texts[1]) == entries(canonical)
    assert entries(texts[2]) == entries(canonical)


@pytest.mark.slow
def test_reused_results_keep_their_rule_checks_in_a_full_report(tmp_path: Path) -> None:
    """A nightly run loads unchanged proposals without their rule checks; the entries
    of results.json, given the links to pages and copies, still hold every check."""
    inbox = _inbox(tmp_path, 3)
    tidy(inbox / "p1.xlsx", "2024-1-NL01-KA220-SCH-000000001", duration_months=6)
    documents = []
    for _ in range(2):  # read, then reused from the state
        done = run("audit", "inbox", "-o", "out", "-q", "--annotate", "all", cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert "reused=3" in done.stdout or not documents, done.stdout
        documents.append(json.loads((tmp_path / "out" / "results.json").read_text("utf-8")))
    first, second = documents
    assert second["proposals"] == first["proposals"]
    assert second["files"] == first["files"]
    assert all(p["checks"] and p["report"]["page"] for p in second["proposals"])
    assert all(f["annotated"] for f in second["files"])


def test_rehash_finds_a_change_that_kept_size_and_time(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 2)
    _run(tmp_path, inbox)
    _reads(tmp_path)
    target = inbox / "p1.xlsx"
    status = target.stat()
    data = bytearray(target.read_bytes())
    data[-30] ^= 0x01  # a byte of the zip's central directory comment area: same size
    target.write_bytes(bytes(data))
    os.utime(target, ns=(status.st_atime_ns, status.st_mtime_ns))  # and the same time

    settings = AuditConfig(reader=COUNTING)
    version = load_rulebook().version
    for rehash, expected in ((False, []), (True, ["p1.xlsx"])):
        memory = Memory(tmp_path / "state.sqlite", settings, version, rehash=rehash)
        try:
            audit([str(inbox)], settings, keep_rows=False, memory=memory)
        finally:
            memory.close()  # not committed: the next run sees the same state
        assert _reads(tmp_path) == expected, rehash


def test_entries_keep_the_links_they_were_written_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """results.json's entries are kept by the state as written, with their links: an
    unchanged night writes them as they are (no entry is changed again), and every
    night's results.json is the one a run without a state writes."""
    from auditor.report import json as results_json
    from auditor.runner import AuditRun
    from auditor.state.blobs import unpack_entries

    inbox = _inbox(tmp_path, 3)
    tidy(inbox / "p1.xlsx", "2024-1-NL01-KA220-SCH-000000001", duration_months=6)
    # An export: one file, many proposals, each entry on its own line of the file's.
    shutil.copy(ROOT / "samples" / "agency-export-2024.xlsx", inbox / "export.xlsx")
    changed: list[str] = []
    relinked = results_json._relinked

    def counted(text: str, key: str, links: Any) -> str:
        changed.append(key)
        return relinked(text, key, links)

    monkeypatch.setattr(results_json, "_relinked", counted)
    # Entries rewritten in the state a file at a time: every batch ends somewhere.
    monkeypatch.setattr("auditor.state.memory.RELINK_BATCH", 1)
    config = AuditConfig(workers=1)

    def night(out: str, state: bool = True, **options: Any) -> tuple[list[Any], list[Any]]:
        changed.clear()
        paths = [str(inbox)]
        with AuditRun(paths, tmp_path / out, config, state=state, pdf=False, **options) as run:
            run.execute()
        document = json.loads((tmp_path / out / "results.json").read_text(encoding="utf-8"))
        return document["proposals"], document["files"]

    def stateless(**options: Any) -> tuple[list[Any], list[Any]]:
        shutil.rmtree(tmp_path / "plain", ignore_errors=True)
        return night("plain", state=False, **options)

    first = night("out")
    # Each proposal took its page (and copy), once; each file with a copy, its copy.
    copies = [f for f in first[1] if f["annotated"] is not None]
    assert sum(e["file"].endswith("export.xlsx") for e in first[0]) >= 2 and len(copies) >= 2
    assert sorted(changed) == ["annotated"] * len(copies) + ["report"] * len(first[0])
    with sqlite3.connect(tmp_path / "out.state.sqlite") as db:
        kept = {}
        for (blob,) in db.execute("SELECT entries FROM files"):
            lines, held = unpack_entries(blob)
            for entry, links in zip(lines, held, strict=True):
                kept[entry] = links
    written = [json.dumps(e, ensure_ascii=False, separators=(", ", ": ")) for e in first[0]]
    assert {kept[text] for text in written} == {
        (e["report"]["page"], e["report"]["annotated"]) for e in first[0]
    }
    assert first == stateless()

    assert night("out") == first
    assert changed == []  # an unchanged night changes no entry

    tidy(inbox / "p1.xlsx", "2024-1-NL01-KA220-SCH-000000001")  # mended: no copy now
    third = night("out")
    assert [e["report"]["annotated"] for e in third[0] if e["file"].endswith("p1.xlsx")] == [None]
    assert third == stateless()
    assert night("out") == third
    assert changed == []

    # Links taken away (no copies; then no pages either): null, as without a state.
    uncopied = night("out", annotate="none")
    assert "annotated" in changed  # the copies' links changed to null, as data
    assert uncopied == stateless(annotate="none")
    assert night("out", results_only=True) == stateless(results_only=True)
    assert night("out") == third
