"""Safe to point at an agency's real data (issue 11).

Nothing deleted (inputs, report folder and state proved apart; a report
folder replaced only by the state that wrote it), nothing run (a state
holds data, never pickles; lock files are never written through links), no
single input takes the machine (regular files only; work linear in the
input; findings, pages, copies and workers bounded; rule files checked),
any file name, and clean ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.api import audit
from auditor.core.config import AuditConfig, Limits
from auditor.core.errors import PlacesError, RulesError
from auditor.core.filenames import printable
from auditor.core.lifeline import MAIN_PID
from auditor.core.places import check_places
from auditor.read.discover import discover
from auditor.read.hashing import hash_all
from auditor.report.jobs import CopyJob, annotate_files
from auditor.report.names import UniqueNames
from auditor.report.outputs import ReportOptions, write_reports
from auditor.rules.registry import REGISTRY
from auditor.rules.rulebook import load_rulebook
from tests import misbehaving_readers
from tests.corpus import small
from tests.hostile_workbooks import duplicate_export, failing_rows
from tests.whole.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
ELIGIBLE = SAMPLES / "ka220-hed-eligible.xlsx"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _inbox(tmp_path: Path, *names: str) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in names or ("ka220-hed-eligible.xlsx", "ka210-ineligible.xlsx"):
        shutil.copy(SAMPLES / name, inbox / name)
    return inbox


def _results(outdir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((outdir / "results.json").read_text(encoding="utf-8"))
    return document


def _variants(document: dict[str, Any]) -> dict[str, list[str]]:
    """Each file's findings as rule or rule:variant-ish text (by file)."""
    return {f["file"]: [x["rule"] for x in f["findings"]] for f in document["files"]}


# -- 1. inputs and outputs never overlap ---------------------------------------


def test_an_empty_inbox_given_as_its_own_report_folder_is_refused(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    first = run("audit", str(inbox), "-o", str(inbox))
    assert first.returncode == 2 and "inside the report folder" in first.stderr, first.stderr
    assert not (inbox / ".auditor-report").exists()
    shutil.copy(ELIGIBLE, inbox / "a.xlsx")
    before = _digests(inbox)
    second = run("audit", str(inbox), "-o", str(inbox))
    assert second.returncode == 2, second.stderr
    assert _digests(inbox) == before


def test_re_auditing_the_annotated_copies_into_their_own_report_is_refused(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path)
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out), "--annotate", "all").returncode == 1
    copies = out / "annotated"
    before = _digests(copies)
    assert before
    done = run("audit", str(copies), "-o", str(out))
    assert done.returncode == 2 and "would be deleted" in done.stderr, done.stderr
    assert _digests(copies) == before


@pytest.mark.parametrize(
    ("inputs", "outdir", "state", "says"),
    [
        (["inbox"], "inbox", None, "inside the report folder"),
        (["inbox/a.xlsx"], "inbox", None, "inside the report folder"),
        (["inbox"], "inbox/report", None, "lies inside the input"),
        (["inbox"], ".", None, "inside the report folder"),
        (["inbox"], "out", "out/state.sqlite", "inside the report folder"),
        (["inbox"], "out", "inbox/state.sqlite", "inside the input"),
        (["inbox"], "out", None, None),
        (["inbox"], "inbox-out", "inbox-out.state.sqlite", None),
    ],
)
def test_inputs_report_folder_and_state_are_proved_apart(
    tmp_path: Path, inputs: list[str], outdir: str, state: str | None, says: str | None
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(b"x")
    (tmp_path / "link").symlink_to(inbox)
    paths = [str(tmp_path / p) for p in inputs]
    state_path = tmp_path / state if state else None
    if says is None:
        check_places(paths, tmp_path / outdir, state_path)
        return
    with pytest.raises(PlacesError, match=says):
        check_places(paths, tmp_path / outdir, state_path)
    # The same through a symbolic link to the inbox: paths are compared resolved.
    linked = [p.replace(str(inbox), str(tmp_path / "link")) for p in paths]
    with pytest.raises(PlacesError):
        check_places(linked, tmp_path / outdir.replace("inbox", "link"), state_path)


def test_a_report_folder_inside_an_inbox_is_never_read_as_input(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out), "--annotate", "all").returncode == 1
    shutil.copytree(out, inbox / "last-week")  # an officer files the report with the inbox
    names = [item.display for item in discover([str(inbox)])]
    assert names == [str(inbox / "ka210-ineligible.xlsx"), str(inbox / "ka220-hed-eligible.xlsx")]


def test_a_report_folder_of_another_state_is_not_replaced(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out)).returncode == 1
    before = _digests(out)
    other = tmp_path / "other.sqlite"
    done = run("audit", str(inbox), "-o", str(out), "--state", str(other))
    assert done.returncode == 2 and "another state" in done.stderr, done.stderr
    assert _digests(out) == before and not other.exists()
    # The state that wrote it goes on replacing it.
    assert run("audit", str(inbox), "-o", str(out)).returncode == 1


def test_a_report_folder_named_with_glob_characters_leaves_other_folders_alone(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    others = tmp_path / ".repX.staging-12345"
    others.mkdir()
    (others / "page.html").write_text("another run's", encoding="utf-8")
    done = run("audit", str(inbox), "-o", str(tmp_path / "rep*"), "--no-state")
    assert done.returncode == 0, done.stderr
    assert (others / "page.html").read_text(encoding="utf-8") == "another run's"


# -- 2. the state is data ------------------------------------------------------


class _Planted:
    """What an attacker would store: unpickling it creates a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.target,))


def test_a_poisoned_state_runs_nothing_and_its_files_are_read_again(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    out = tmp_path / "out"
    first = run("audit", str(inbox), "-o", str(out), "-q")
    assert first.returncode == 1, first.stderr
    before = _results(out)
    state = tmp_path / "out.state.sqlite"
    sentinel = tmp_path / "pwned"
    poison = pickle.dumps(_Planted(sentinel))
    with sqlite3.connect(state) as db:
        for column in ("content", "judged", "checks", "entries"):
            db.execute(f"UPDATE files SET {column} = ?", (poison,))
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM files WHERE judged = ?", (poison,)).fetchone()[0]
    again = run("audit", str(inbox), "-o", str(out), "-q")
    assert again.returncode == 1, again.stderr
    assert not sentinel.exists()
    assert "read=2" in again.stdout and "reused=0" in again.stdout, again.stdout
    after = _results(out)
    assert after["proposals"] == before["proposals"] and after["summary"] == before["summary"]
    # Compressed the way the old state compressed its pickles: the same.
    with sqlite3.connect(state) as db:
        db.execute("UPDATE files SET judged = ?", (zlib.compress(poison),))
    assert run("audit", str(inbox), "-o", str(out), "-q").returncode == 1
    assert not sentinel.exists()


@pytest.mark.parametrize(
    "forged",
    [
        '{"proposal_id": "x", "FORGED"',  # not a JSON object
        '["FORGED"]',  # not an object
        '{"proposal_id": "\x1b[2JFORGED"}',  # a terminal's escape, raw
    ],
)
def test_a_forged_results_entry_in_the_state_is_never_written(tmp_path: Path, forged: str) -> None:
    """Kept entries are written as the state keeps them; one that is not an entry the
    auditor writes (no auditor writes any of these) makes its file be read again."""
    inbox = _inbox(tmp_path)
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out), "-q").returncode == 1
    before = _results(out)
    state = tmp_path / "out.state.sqlite"
    with sqlite3.connect(state) as db:
        for path, blob in db.execute("SELECT path, entries FROM files").fetchall():
            version, links, *entries = zlib.decompress(blob).decode("utf-8").split("\n")
            lines = [version, links, *(forged for _ in entries)]
            db.execute(
                "UPDATE files SET entries = ? WHERE path = ?",
                (zlib.compress("\n".join(lines).encode("utf-8")), path),
            )
    again = run("audit", str(inbox), "-o", str(out), "-q")
    assert again.returncode == 1, again.stderr
    assert "reused=0" in again.stdout and "read=2" in again.stdout, again.stdout
    text = (out / "results.json").read_text(encoding="utf-8")
    assert "FORGED" not in text and "\x1b" not in text
    after = json.loads(text)
    assert after["proposals"] == before["proposals"] and after["files"] == before["files"]


def test_output_names_in_a_forged_state_are_never_given_again(tmp_path: Path) -> None:
    """The state remembers each page's and copy's name; a name that is not one the
    report gives (out of its folder) is not used: the page gets a name of its own."""
    inbox = _inbox(tmp_path)
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out), "-q").returncode == 1
    state = tmp_path / "out.state.sqlite"
    with sqlite3.connect(state) as db:
        db.execute("UPDATE outputs SET name = '../../escaped-' || rowid || '.html'")
    assert run("audit", str(inbox), "-o", str(out), "-q").returncode == 1
    document = _results(out)
    pages = [p["report"]["page"] for p in document["proposals"]]
    copies = [f["annotated"] for f in document["files"] if f["annotated"]]
    assert pages and copies
    assert all(page.startswith("proposals/") and ".." not in page for page in pages), pages
    assert all(copy.startswith("annotated/") and ".." not in copy for copy in copies), copies
    assert all((out / page).is_file() for page in pages + copies)
    assert not list(tmp_path.rglob("escaped-*"))


def test_no_pickle_is_read_anywhere_in_the_package() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "auditor").rglob("*.py"))
    assert "import pickle" not in sources and "pickle.load" not in sources


def test_the_state_is_made_readable_by_its_owner_only(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    previous = os.umask(0o022)
    try:
        assert run("audit", str(inbox), "-o", str(tmp_path / "out")).returncode == 0
    finally:
        os.umask(previous)
    for path in tmp_path.glob("out.state.sqlite*"):
        assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))


@pytest.mark.parametrize("lock", ["out.state.sqlite.lock", ".out.lock"])
@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_lock_files_are_never_written_through_links(tmp_path: Path, lock: str, kind: str) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n" * 10, encoding="utf-8")
    if kind == "symlink":
        (tmp_path / lock).symlink_to(victim)
    else:
        os.link(victim, tmp_path / lock)
    done = run("audit", str(inbox), "-o", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert "lock file" in done.stderr and "internal error" not in done.stderr
    assert victim.read_text(encoding="utf-8") == "precious\n" * 10


@pytest.mark.slow
def test_a_damaged_state_is_found_before_the_run_with_the_way_out(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out)).returncode == 0
    before = _digests(out)
    state = tmp_path / "out.state.sqlite"
    state.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    done = run("audit", str(inbox), "-o", str(out))
    assert done.returncode == 2, done.stderr
    assert str(state) in done.stderr and "--no-state" in done.stderr, done.stderr
    assert "move it aside" in done.stderr and "internal error" not in done.stderr
    assert _digests(out) == before
    # Both ways out work: without a state, and with the damaged one moved aside.
    assert run("audit", str(inbox), "-o", str(out), "--no-state").returncode == 0
    state.rename(tmp_path / "damaged.sqlite")
    again = run("audit", str(inbox), "-o", str(out))
    assert again.returncode == 0, again.stderr
    assert state.exists()


def test_a_state_that_cannot_be_written_is_found_before_the_run(tmp_path: Path) -> None:
    # As root every file is writable: the run is made as "nobody" then.
    folder = Path(tempfile.mkdtemp(prefix="auditor-ro-", dir="/tmp"))
    try:
        folder.chmod(0o777)
        inbox = _inbox(folder, "ka220-hed-eligible.xlsx")
        inbox.chmod(0o777)
        assert run("audit", str(inbox), "-o", str(folder / "out")).returncode == 0
        state = folder / "out.state.sqlite"
        (folder / "out.state.sqlite.lock").unlink()
        (folder / ".out.lock").unlink()
        shutil.rmtree(folder / "out")
        state.chmod(0o444)
        prefix = []
        if os.geteuid() == 0:
            os.chown(state, 65534, 65534)  # the state is the nightly user's own
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [*prefix, sys.executable, "-m", "auditor", "audit", str(inbox)]
        done = subprocess.run(
            [*command, "-o", str(folder / "out")],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            timeout=300,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert "cannot be written" in done.stderr and str(state) in done.stderr, done.stderr
        assert not (folder / "out").exists()  # found before any report was written
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- 3. bounded work for every input ---------------------------------------------


def test_a_fifo_and_a_link_to_dev_zero_get_a_finding_each_and_the_run_ends(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    os.mkfifo(inbox / "pipe.xlsx")
    (inbox / "zero.xlsx").symlink_to("/dev/zero")
    (inbox / "sparse.xlsx").touch()
    os.truncate(inbox / "sparse.xlsx", 20 * 1024**3)  # 20 GB, no blocks
    done = run("audit", str(inbox), "-o", str(tmp_path / "out"), "-q")
    assert done.returncode == 1, done.stderr
    assert "hashed=1 " in done.stdout, done.stdout  # the workbook; none of the others
    messages = {f["file"]: f["findings"] for f in _results(tmp_path / "out")["files"]}
    assert "not a regular file but a fifo" in messages[f"{inbox}/pipe.xlsx"][0]["message"]
    assert "outside the folder" in messages[f"{inbox}/zero.xlsx"][0]["message"]
    assert "above the limit" in messages[f"{inbox}/sparse.xlsx"][0]["message"]
    # Followed on request, the link leads to a device: still never read.
    done = run("audit", str(inbox), "-o", str(tmp_path / "out2"), "--follow-links", "--no-state")
    messages = {f["file"]: f["findings"] for f in _results(tmp_path / "out2")["files"]}
    assert "not a regular file but a device" in messages[f"{inbox}/zero.xlsx"][0]["message"]


def test_links_inside_the_inbox_are_followed_and_hashing_refuses_what_is_not_a_file(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    (inbox / "again.xlsx").symlink_to(inbox / "ka220-hed-eligible.xlsx")
    os.mkfifo(tmp_path / "pipe.xlsx")
    items = discover([str(inbox), str(tmp_path / "pipe.xlsx")])
    assert [i.refusal for i in items] == [None, "not-regular"]  # the link is the same file
    digests = hash_all(items, Limits(timeout=30), workers=1)
    assert digests[items[0].index] == hashlib.sha256(ELIGIBLE.read_bytes()).hexdigest()
    assert digests[items[1].index] is None


@pytest.mark.slow
def test_duplicate_ids_name_a_few_others_and_count_the_rest(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    duplicate_export(inbox / "export.xlsx", copies=300)
    out = tmp_path / "out"
    done = run("audit", str(inbox), "-o", str(out), "-q", "--annotate", "none")
    assert done.returncode == 1, done.stderr
    document = _results(out)
    assert len(document["proposals"]) == 300
    for proposal in document["proposals"]:
        duplicate = [f for f in proposal["findings"] if f["rule"] == "duplicate-proposal-id"]
        assert len(duplicate) == 1
        assert duplicate[0]["message"].count("Proposals!") == 5
        assert "and 294 other places" in duplicate[0]["message"]
    first = next(f for f in document["proposals"][0]["findings"] if f["rule"].startswith("dup"))
    assert "Proposals!A3)" in first["message"]  # the next copies, in reading order
    assert len(list((out / "proposals").glob("*.html"))) == 300


def test_unique_names_for_thousands_of_repeats() -> None:
    names = UniqueNames()
    names.reserve("p-3.html")
    given = [names.take("p", ".html") for _ in range(5000)]
    assert len(set(given)) == 5000 and "p-3.html" not in given
    assert given[:3] == ["p.html", "p-2.html", "p-4.html"]


def test_findings_are_capped_per_proposal_and_the_rest_counted(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    failing_rows(inbox / "many.xlsx", rows=3000)
    out = tmp_path / "out"
    done = run("audit", str(inbox), "-o", str(out), "--max-findings", "100", "--annotate", "none")
    assert done.returncode == 1, done.stderr
    (proposal,) = _results(out)["proposals"]
    assert len(proposal["findings"]) == 101 and proposal["verdict"] == "ineligible"
    (summary,) = [f for f in proposal["findings"] if f["rule"] == "too-many-findings"]
    assert summary["severity"] == "error"
    assert "2,900 more findings (2,900 errors, 0 warnings)" in summary["message"]
    cells = [f["cell"] for f in proposal["findings"] if f["rule"] == "missing-value"]
    assert cells[0] == "F2" and cells[-1] == "F101"  # the first rows of the workbook
    (page,) = (out / "proposals").glob("*.html")
    text = page.read_text(encoding="utf-8")
    assert "IO005" in text and "2000 more partner rows are not shown" in text


def test_a_copy_that_runs_over_its_time_gets_a_finding_and_no_copy(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    failing_rows(inbox / "slow-copy.xlsx", rows=20_000)
    result = audit([str(inbox)], AuditConfig(limits=Limits(max_findings=10)))
    out = tmp_path / "out"
    options = ReportOptions(annotate="all", limits=Limits(timeout=0.05))
    links = write_reports(result, out, options)
    assert links.annotated == {} and not list((out / "annotated").glob("**/*.xlsx"))
    (entry,) = _results(out)["files"]
    (finding,) = entry["findings"]
    assert finding["rule"] == "annotation-failed" and finding["severity"] == "warning"
    assert "longer than 0.05 seconds" in finding["message"]
    # In the worker itself: the job says why, and leaves nothing behind.
    (proposal,) = result.proposals
    (file,) = result.files
    job = CopyJob(str(inbox / "slow-copy.xlsx"), "annotated/x.xlsx", file, [proposal])
    failed = annotate_files(str(tmp_path / "staging"), "en", [job], Limits(timeout=0.05))
    assert failed == [(file.file, {"variant": "timeout", "limit": "0.05"})]
    assert not list((tmp_path / "staging").rglob("*.xlsx*"))


def test_a_file_that_takes_a_worker_over_its_memory_cap_costs_that_file_only(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    shutil.copy(ELIGIBLE, inbox / "greedy.xlsx")
    config = AuditConfig(
        reader=misbehaving_readers.greedy_read_file,
        limits=Limits(max_memory_bytes=500_000_000, timeout=60),
    )
    result = audit([str(inbox)], config)
    verdicts = {Path(f.file).name: str(f.verdict) for f in result.files}
    assert verdicts == {"greedy.xlsx": "unreadable", "ka220-hed-eligible.xlsx": "eligible"}
    (greedy,) = [f for f in result.files if f.file.endswith("greedy.xlsx")]
    assert "more than 500 MB of memory" in greedy.findings[0].message
    # Below what a worker needs to judge anything, the cap is refused up front.
    done = run("check", str(ELIGIBLE), "--max-memory", "100")
    assert done.returncode == 2 and "--max-memory" in done.stderr, done.stderr


def _rules_dir(tmp_path: Path, text: str, name: str = "rules") -> Path:
    folder = tmp_path / name  # (rule books are cached by folder: one folder, one text)
    folder.mkdir()
    (folder / "extra.yaml").write_text(text, encoding="utf-8")
    return folder


def test_a_yaml_alias_bomb_is_refused_before_it_grows(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    lines += ["id: bomb", "rules: [*i]"]
    folder = _rules_dir(tmp_path, "\n".join(lines) + "\n")
    assert (folder / "extra.yaml").stat().st_size < 700
    with pytest.raises(RulesError, match="aliases"):
        load_rulebook([folder])
    done = run("check", str(ELIGIBLE), "--rules", str(folder))
    assert done.returncode == 2 and "aliases" in done.stderr, done.stderr


def test_a_catastrophic_pattern_cannot_hang_judging(tmp_path: Path) -> None:
    folder = _rules_dir(
        tmp_path,
        "id: slow\nactions: [KA999]\npatterns:\n  KA999: '^(a+)+$'\n"
        "rules:\n  - rule: min-organisations\n    min: 2\n",
    )
    book = load_rulebook([folder])
    assert book.lookup_action("a" * 60 + "!") == (None, None)  # Python's re: years
    assert book.lookup_action("a" * 60) == ("KA999", None)
    bad = _rules_dir(
        tmp_path,
        "id: bad\nactions: [KA998]\npatterns:\n  KA998: '(?<=x)y'\nrules: []\n",
        "bad",
    )
    with pytest.raises(RulesError, match=r"extra\.yaml patterns KA998"):
        load_rulebook([bad])


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("rule: min-countries\n    min: three", "(min-countries): min must be"),
        ("rule: min-countries", "(min-countries): give one of min, max, exactly or one_of"),
        ("rule: duration\n    values: [24, x]", "(duration): values must be a list"),
        ("rule: deadline\n    deadlines: {2025: tomorrow}", "(deadline): deadlines must be"),
        ("rule: lump-sum\n    values: 60000", "(lump-sum): values must be"),
        ("rule: grant-ceiling\n    max: [{when: {colour: {eq: 1}}, value: 5}]", "colour"),
        ("rule: min-hei\n    min: 1\n    when: {call_year: {about: 2025}}", "'when' must be"),
        ("rule: min-hei\n    min: 1\n    maximum: 4", "unknown parameter 'maximum'"),
        ("rule: min-hei\n    min: 1\n    severity: fatal", "severity must be"),
    ],
)
def test_rule_parameters_are_checked_with_file_rule_and_field(
    tmp_path: Path, entry: str, says: str
) -> None:
    folder = _rules_dir(tmp_path, f"id: extra\nactions: [KA997]\nrules:\n  - {entry}\n")
    with pytest.raises(RulesError) as raised:
        load_rulebook([folder])
    assert "extra.yaml rule 1" in str(raised.value) and says in str(raised.value)


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 3000) | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rule=st.sampled_from(sorted(REGISTRY)),
    values=st.dictionaries(
        st.sampled_from(
            [
                "min",
                "max",
                "exactly",
                "one_of",
                "count",
                "values",
                "when",
                "roles",
                "require",
                "deadlines",
                "ranges",
                "regions",
            ]
        ),
        _VALUES,
        max_size=3,
    ),
)
def test_any_rule_set_the_loader_accepts_can_be_judged(
    tmp_path_factory: pytest.TempPathFactory, rule: str, values: dict[str, Any]
) -> None:
    """Whatever an agency writes: refused with a RulesError, or judged without a crash."""
    folder = tmp_path_factory.mktemp("rules")
    entry = {"rule": rule, **values}
    document = {"id": "fuzzed", "actions": ["KA220-SCH"], "rules": [entry]}
    (folder / "fuzzed.yaml").write_text(json.dumps(document), encoding="utf-8")
    try:
        load_rulebook([folder])
    except RulesError:
        return
    config = AuditConfig(rules_dirs=(folder,), limits=Limits(timeout=0), workers=1)
    result = audit([str(SAMPLES / "ka220-sch-ineligible-nl.xlsx")], config)
    assert len(result.proposals) == 1


# -- 4. any file name ------------------------------------------------------------


def test_names_that_are_not_utf8_or_hold_control_characters_are_audited_like_any(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    odd = [b"caf\xe9.xlsx", b"two\nlines.xlsx", b"\x1b[31mred.xlsx", b"plain.xlsx"]
    for number, name in enumerate(odd):
        small(
            Path(os.fsdecode(os.fsencode(inbox) + b"/" + name)), f"2024-1-NL01-KA210-SCH-00{number}"
        )
    out = tmp_path / "out"
    done = run("audit", str(inbox), "-o", str(out), "--annotate", "all")
    assert done.returncode == 0, done.stderr
    document = _results(out)
    files = sorted(f["file"] for f in document["files"])
    shown = ["caf\\xe9.xlsx", "two\\nlines.xlsx", "\\x1b[31mred.xlsx", "plain.xlsx"]
    assert files == sorted(f"{inbox}/{name}" for name in shown)
    assert all(f["verdict"] == "eligible" for f in document["files"])
    assert "\x1b" not in done.stdout and "two\nlines" not in done.stdout
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "caf\\xe9.xlsx" in index and "\x1b" not in index
    copies = list((out / "annotated").iterdir())  # escapes make no subfolders
    assert len(copies) == 4 and all(c.is_file() and c.suffix == ".xlsx" for c in copies)
    # Run again with the state: the odd names are keys like any other.
    again = run("audit", str(inbox), "-o", str(out), "-q")
    assert again.returncode == 0 and "reused=4" in again.stdout, again.stdout
    assert printable("caf\udce9\n.xlsx") == "caf\\xe9\\n.xlsx"


# -- 5. clean ends ---------------------------------------------------------------


def _auditor_processes(main: int) -> list[int]:
    """Processes started for the run of ``main`` (they carry its pid in their environment)."""
    found = []
    marker = f"{MAIN_PID}={main}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == main:
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def big_inbox(tmp_path: Path) -> Iterator[Path]:
    inbox = tmp_path / "inbox"
    for copy in range(15):
        shutil.copytree(SAMPLES, inbox / str(copy), ignore=shutil.ignore_patterns("*.py"))
    yield inbox


def test_no_process_is_left_behind_when_the_main_process_is_killed(
    tmp_path: Path, big_inbox: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "auditor", "audit", str(big_inbox), "-o", str(tmp_path / "o")]
    main = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_auditor_processes(main.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_auditor_processes(main.pid)) >= 2, "the workers never started"
        main.send_signal(signal.SIGKILL)
        main.wait()
        deadline = time.monotonic() + 10
        while _auditor_processes(main.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _auditor_processes(main.pid) == []
    finally:
        for pid in _auditor_processes(main.pid):
            os.kill(pid, signal.SIGKILL)


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))


def test_a_full_disk_is_said_in_one_line_and_the_previous_report_kept(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path)
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out), "--no-state").returncode == 1
    before = _digests(out)
    big = tmp_path / "inbox" / "big.xlsx"
    failing_rows(big, rows=4000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", str(inbox), "-o", str(out), "--no-state"],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_limit_file_size,  # writes past 150 KB fail, as on a full disk
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "internal error" not in done.stderr and "File too large" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2, done.stderr
    assert _digests(out) == before


def test_a_malformed_rule_parameter_is_a_message_not_an_internal_error(tmp_path: Path) -> None:
    folder = _rules_dir(
        tmp_path, "id: x\nactions: [KA996]\nrules:\n  - rule: duration\n    min: {}\n"
    )
    done = run("check", str(ELIGIBLE), "--rules", str(folder))
    assert done.returncode == 2 and "internal error" not in done.stderr
    assert "extra.yaml rule 1 (duration): min must be" in done.stderr, done.stderr


def test_stored_rule_checks_of_a_large_export_are_unpacked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nightly run re-shows thousands of proposals of one export: linear, not quadratic."""
    from auditor.state import memory as memory_module
    from auditor.state.memory import Memory

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    duplicate_export(inbox / "export.xlsx", copies=300)
    config = AuditConfig()
    version = load_rulebook().version
    for _ in range(2):
        memory = Memory(tmp_path / "state.sqlite", config, version, lazy_checks=True)
        try:
            result = audit([str(inbox)], config, keep_rows=False, memory=memory, reused_rows=False)
            memory.commit(result, result.started_at, 0.0)
        finally:
            memory.close()
    unpacked = []
    real = memory_module.unpack_checks
    monkeypatch.setattr(
        memory_module, "unpack_checks", lambda blob: unpacked.append(1) or real(blob)
    )
    memory = Memory(tmp_path / "state.sqlite", config, version, lazy_checks=True)
    try:
        result = audit([str(inbox)], config, keep_rows=False, memory=memory, reused_rows=False)
        assert memory.counts.reused == 1
        completed = [memory.complete(p) for p in result.proposals]
    finally:
        memory.close()
    assert len(completed) == 300 and all(p.checks for p in completed)
    assert len(unpacked) == 1


# -- found by the review of this work (each a class of input) ----------------------


def test_control_characters_in_cells_reach_no_output_raw(tmp_path: Path) -> None:
    import openpyxl

    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    path = inbox / "ka220-hed-eligible.xlsx"
    workbook = openpyxl.load_workbook(path)
    # A vertical tab pasted with the acronym: the sheet's XML escapes it so.
    workbook["Project"]["B3"] = "AGRI_x000B_COVE"
    workbook["Partners"]["C2"] = "Forged\nsamples/x.xlsx: eligible (0 errors, 0 warnings)"
    workbook.save(path)
    done = run("audit", str(inbox), "-o", str(tmp_path / "out"), "--no-state")
    assert done.returncode in (0, 1) and (tmp_path / "out" / "summary.xlsx").exists(), done.stderr
    check = run("check", str(path))
    assert all(line.startswith(str(path)) for line in check.stdout.splitlines()), check.stdout


def test_names_that_print_alike_stay_two_files(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    small(Path(os.fsdecode(os.fsencode(inbox) + b"/a\n.xlsx")), "2024-1-NL01-KA210-SCH-000000011")
    small(inbox / "a\\n.xlsx", "2024-1-NL01-KA210-SCH-000000012")
    out = tmp_path / "out"
    for _ in range(2):
        assert run("audit", str(inbox), "-o", str(out)).returncode == 0
        files = sorted(f["file"] for f in _results(out)["files"])
        assert files == [f"{inbox}/a\\\\n.xlsx", f"{inbox}/a\\n.xlsx"]
        assert len(_results(out)["proposals"]) == 2


def test_another_programs_database_is_never_written(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    for version, tables in ((0, ["users"]), (1, ["files", "outputs"])):
        other = tmp_path / f"app{version}.db"
        with sqlite3.connect(other) as db:
            for table in tables:
                db.execute(f"CREATE TABLE {table} (a)")
                db.execute(f"INSERT INTO {table} VALUES (1)")
            db.execute(f"PRAGMA user_version = {version}")
        before = other.read_bytes()
        for command in (["history"], ["audit", str(inbox), "-o", str(tmp_path / "o")]):
            done = run(*command, "--state", str(other))
            assert done.returncode == 2 and "another program's database" in done.stderr
        assert other.read_bytes() == before


def test_a_state_of_another_user_is_refused_and_our_own_made_private(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out)).returncode == 0
    state = tmp_path / "out.state.sqlite"
    state.chmod(0o666)
    assert run("audit", str(inbox), "-o", str(out)).returncode == 0
    assert state.stat().st_mode & 0o777 == 0o600
    if os.geteuid() == 0:  # only root can give a file away
        os.chown(state, 65534, 65534)
        done = run("audit", str(inbox), "-o", str(out))
        assert done.returncode == 2 and "belongs to another user" in done.stderr


def test_rule_folders_and_marker_files_are_checked_for_what_they_are(tmp_path: Path) -> None:
    fifo_rules = tmp_path / "fifo-rules"
    fifo_rules.mkdir()
    os.mkfifo(fifo_rules / "x.yaml")
    done = run("rules", "--rules", str(fifo_rules))
    assert done.returncode == 2 and "not a regular file" in done.stderr, done.stderr
    # An empty marker file hides nothing, and replaces nothing.
    inbox = _inbox(tmp_path, "ka220-hed-eligible.xlsx")
    (inbox / ".auditor-report").touch()
    assert len(discover([str(inbox)])) == 1
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "thesis.docx").write_text("years of work", encoding="utf-8")
    (folder / ".auditor-report").touch()
    done = run("audit", str(inbox), "-o", str(folder))
    assert done.returncode == 2 and (folder / "thesis.docx").exists()
    # A folder inside a report is a report too.
    out = tmp_path / "out"
    assert run("audit", str(inbox), "-o", str(out), "--annotate", "all").returncode == 0
    assert discover([str(out / "annotated")]) == []
    # The current folder is never a report folder.
    done = run(
        "audit",
        str(inbox / "ka220-hed-eligible.xlsx"),
        "-o",
        ".",
        "--no-state",
        cwd=tmp_path / "out",
    )
    assert done.returncode == 2 and "current folder" in done.stderr, done.stderr


@pytest.mark.parametrize(
    "entry",
    [
        "rule: min-hei\n    min: 99999999999999999999999999",
        "rule: min-hei\n    min: .inf",
        "rule: min-hei\n    min: 1\n    when: {call_year: {ge: '2020'}}",
        "rule: min-hei\n    min: 1\n    when: {action: {in: [1, 2]}}",
        "rule: min-hei\n    min: 1\n    when: {action: {ge: 5}}",
        "rule: min-hei\n    min: 1\n    when: {call_year: true}",
        "rule: grant-ceiling\n    max: -5",
    ],
)
def test_rule_operands_must_fit_their_field(tmp_path: Path, entry: str) -> None:
    folder = _rules_dir(tmp_path, f"id: extra\nactions: [KA995]\nrules:\n  - {entry}\n")
    with pytest.raises(RulesError, match=r"extra\.yaml rule 1"):
        load_rulebook([folder])


def test_a_file_replaced_by_a_link_after_discovery_is_not_read(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, "ka210-ineligible.xlsx")
    outside = tmp_path / "secret.xlsx"
    shutil.copy(ELIGIBLE, outside)
    upload = inbox / "ka210-ineligible.xlsx"

    def swap(count: int) -> None:  # between discovery and reading
        upload.unlink()
        upload.symlink_to(outside)

    result = audit([str(inbox)], AuditConfig(limits=Limits(timeout=30)), on_files=swap)
    (file,) = result.files
    assert str(file.verdict) == "unreadable" and not result.proposals
    assert "replaced while the folder was being audited" in file.findings[0].message
