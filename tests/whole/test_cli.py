"""The command line, through its entry point: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from samples.make_samples import org, proposal, write_proposal

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def run(
    *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``auditor ARGS`` in ``cwd``, run by its entry point (``main``: its exit codes, the
    one line of an internal error) in this process, with stdin, stdout, stderr and
    the environment of its own (click's test isolation; ``env`` is added to it).

    Starting Python, importing the auditor and starting the reader processes'
    server again for every command was about a fifth of the suite's CPU time. What
    only a program of its own shows (its imports, its umask, being stopped, the memory
    it takes) is run as one: ``process``, or the test's own command.
    """
    from auditor import cli

    code: int = 0
    previous = Path.cwd()
    with CliRunner().isolation(env={"COLUMNS": "200", **(env or {})}) as (out, err, _):
        # What the command sets for its process, put back for the tests after it.
        arguments, unraisable = sys.argv, sys.unraisablehook
        try:
            sys.argv = ["auditor", *args]
            os.chdir(cwd)
            cli.main()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
        finally:
            os.chdir(previous)
            sys.argv, sys.unraisablehook = arguments, unraisable
            cli._State.debug = False
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = (stream.getvalue().decode("utf-8", "replace") for stream in (out, err))
    return subprocess.CompletedProcess(["auditor", *args], code, stdout, stderr)


def process(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``auditor ARGS`` as a program of its own (``python -m auditor``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def eligible(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "eligible.xlsx"
    write_proposal(
        path,
        proposal(
            {
                "proposal_id": "2024-1-NL01-KA210-SCH-000000001",
                "action": "KA210-SCH",
                "call_year": 2024,
                "duration_months": 12,
                "requested_grant_eur": 30000,
                "priorities": "Inclusion",
            },
            [org("coordinator", "NL", "SCHOOL", "A"), org("partner", "BE", "SCHOOL", "B")],
        ),
    )
    return path


def test_audit_samples_writes_results_and_exits_1(tmp_path: Path) -> None:
    """The README's main command, as the program it installs."""
    done = process("audit", str(SAMPLES), "-o", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert document["schema_version"] == 1
    assert document["summary"]["ineligible"] > 0 and document["summary"]["unreadable"] == 1
    assert "ineligible" in done.stdout and "index.html" in done.stdout
    for name in ("index.html", "summary.xlsx", "proposals", "annotated"):
        assert (tmp_path / "out" / name).exists(), name


def test_audit_json_to_stdout_equals_the_file(tmp_path: Path, eligible: Path) -> None:
    done = run("audit", str(eligible), "-o", str(tmp_path), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads((tmp_path / "results.json").read_text())


def test_check_prints_linter_lines_and_a_verdict() -> None:
    path = SAMPLES / "ka220-sch-ineligible-nl.xlsx"
    done = run("check", str(path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert f"{path}:Partners!C1: ELG101 min-organisations error " in lines[0]
    assert any(line.startswith(f"{path}:Project!B8: ELG303 lump-sum error") for line in lines)
    assert lines[-1] == f"{path}: ineligible (4 errors, 0 warnings)"


def test_check_in_dutch_and_as_json() -> None:
    path = SAMPLES / "ka220-sch-ineligible-nl.xlsx"
    dutch = run("check", str(path), "--lang", "nl")
    assert "niet ontvankelijk" in dutch.stdout.splitlines()[-1]
    assert "Meegetelde organisaties" in dutch.stdout
    document = json.loads(run("check", str(path), "--format", "json").stdout)
    assert document["proposals"][0]["verdict"] == "ineligible"


def test_fail_on_levels(eligible: Path) -> None:
    warning = SAMPLES / "ka220-adu-warning.xlsx"
    assert run("check", str(eligible)).returncode == 0
    assert run("check", str(warning)).returncode == 0
    assert run("check", str(warning), "--fail-on", "warning").returncode == 1
    assert (
        run("check", str(SAMPLES / "ka210-ineligible.xlsx"), "--fail-on", "never").returncode == 0
    )


def test_unreadable_file_exits_1_with_a_finding() -> None:
    done = run("check", str(SAMPLES / "broken" / "truncated-download.xlsx"))
    assert done.returncode == 1
    assert "IO001 unreadable-file error" in done.stdout


def test_usage_errors_exit_2(tmp_path: Path, eligible: Path) -> None:
    assert run("audit", str(tmp_path / "missing")).returncode == 2
    assert run("audit", str(eligible), "--lang", "fr").returncode == 2
    bad_rules = run(
        "audit", str(eligible), "--rules", str(tmp_path / "nowhere"), "-o", str(tmp_path)
    )
    assert bad_rules.returncode == 2 and "does not exist" in bad_rules.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    unwritable = run("audit", str(eligible), "-o", str(blocker / "out"))
    assert unwritable.returncode == 2 and "cannot be written" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


def test_explain_by_name_and_by_code() -> None:
    by_name = run("explain", "min-countries")
    by_code = run("explain", "ELG102")
    assert by_name.returncode == 0 and by_name.stdout == by_code.stdout
    text = by_name.stdout
    for section in (
        "What it checks",
        "Why",
        "Eligible example",
        "Ineligible example",
        "How to fix",
    ):
        assert section in text
    assert "Programme Guide 2024, Cooperation Partnerships" in text
    assert "ELG102 error" in text  # the ineligible example, run
    assert run("explain", "no-such-rule").returncode == 2


def test_explain_in_dutch() -> None:
    text = run("explain", "min-hei", "--lang", "nl").stdout
    assert "Wat ze controleert" in text and "Hoe op te lossen" in text


def test_rules_lists_the_catalogue_and_one_action() -> None:
    listing = run("rules").stdout
    assert "ELG103" in listing and "min-hei" in listing and "IO001" in listing
    action = run("rules", "--action", "AFI-LOT1").stdout
    assert "min-full-partners" in action and "at least 8" in action
    assert "Lot 2" not in action  # the note on seed 002 is explain's background
    assert "Lot 2" in run("explain", "min-full-partners").stdout
    assert run("rules", "--action", "NOPE").returncode == 2


def test_an_empty_inbox_is_an_error_unless_allowed(tmp_path: Path) -> None:
    """A nightly run over an unmounted share must not look like a quiet night."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "notes.txt").write_text("not a workbook")
    empty = run("audit", str(tmp_path / "inbox"), "-o", str(tmp_path / "out"), "-q")
    assert empty.returncode == 2
    assert "no workbook found in" in empty.stderr and "--allow-empty" in empty.stderr
    assert not (tmp_path / "out").exists()
    allowed = run(
        "audit", str(tmp_path / "inbox"), "-o", str(tmp_path / "out"), "-q", "--allow-empty"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads((tmp_path / "out" / "results.json").read_text())["summary"]["files"] == 0


@pytest.mark.parametrize("umask", [0o022, 0o037])  # the usual; group and others apart
def test_reports_and_templates_follow_the_umask(tmp_path: Path, umask: int) -> None:
    sample = str(ROOT / "samples" / "afi-lot1-ineligible.xlsx")
    # Both commands in one program of its own (the umask is the whole process's).
    audit = ["audit", sample, "-o", "out", "-q", "--no-state"]
    template = ["template", "--action", "KA220-HED", "-o", "t.xlsx"]
    split = 1 + len(audit)
    script = (
        f"import os, sys; os.umask({umask}); from auditor.cli import main\n"
        f"for command in (sys.argv[1:{split}], sys.argv[{split}:]):\n"
        "    sys.argv = ['auditor', *command]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as done:\n"
        "        assert done.code in (0, 1, None), (command, done.code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *audit, *template],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.xlsx").is_file() and (tmp_path / "out" / "results.json").is_file()
    folder, file = 0o777 & ~umask, 0o666 & ~umask
    assert (tmp_path / "out").stat().st_mode & 0o777 == folder
    assert (tmp_path / "out" / "proposals").stat().st_mode & 0o777 == folder
    for made in [tmp_path / "t.xlsx", *(tmp_path / "out").rglob("*.*")]:
        if made.is_file() and not made.name.startswith("."):
            assert made.stat().st_mode & 0o777 == file, made


def test_a_second_run_prints_what_changed_not_the_whole_table_again(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("afi-lot1-eligible.xlsx", "afi-lot1-ineligible.xlsx"):
        (inbox / name).write_bytes((ROOT / "samples" / name).read_bytes())
    first = run("audit", "inbox", "-o", "out", cwd=tmp_path)
    assert "GREEN-BUILD" in first.stdout or "101140777" in first.stdout  # the table
    (inbox / "afi-lot2-eligible.xlsx").write_bytes(
        (ROOT / "samples" / "afi-lot2-eligible.xlsx").read_bytes()
    )
    second = run("audit", "inbox", "-o", "out", cwd=tmp_path)
    assert second.returncode == 1, second.stderr
    assert "From run 1 to run 2" in second.stdout
    assert "101140999" in second.stdout and "afi-lot2-eligible.xlsx" in second.stdout
    assert "101140777" not in second.stdout  # unchanged: not listed again
    assert "3 files, 3 proposals" in second.stdout


def test_a_command_run_in_the_test_process_leaves_it_as_it_was(tmp_path: Path) -> None:
    """What the command sets for its process (its arguments, the working directory, the
    hook that keeps a full disk's finaliser quiet, --debug) is put back for later tests."""
    from auditor import cli

    before = (sys.argv, Path.cwd(), sys.unraisablehook)
    done = run("check", str(SAMPLES / "ka210-ineligible.xlsx"), cwd=tmp_path)
    assert done.returncode == 1 and "ineligible" in done.stdout, done.stderr
    assert (sys.argv, Path.cwd(), sys.unraisablehook) == before
    assert cli._State.debug is False
    assert run("--debug", "rules", "--action", "KA999", cwd=tmp_path).returncode == 2
    assert (sys.argv, Path.cwd(), sys.unraisablehook) == before
    assert cli._State.debug is False
