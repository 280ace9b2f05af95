"""The README stays true: its rule catalogue and its commands."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auditor.api import JUDGE_IN_WORKERS_FROM
from auditor.core.catalogue import catalogue
from auditor.report.rulebook import rules_markdown
from auditor.rules.rulebook import RuleBook

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _command(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```sh\n(.+?)\n```", README)
    assert match, marker
    return match.group(1)


def test_rule_catalogue_in_readme_is_current(book: RuleBook) -> None:
    section = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", README, re.S)
    assert section, "README lost its rules section"
    assert section.group(1) == rules_markdown(catalogue(), book)


def test_the_two_commands() -> None:
    assert "auditor audit samples/" in _command("main-command")
    assert "pytest" in _command("test-command")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci  # CI runs the README's test command itself


def test_every_command_and_audit_option_is_in_the_readme() -> None:
    from auditor.cli import audit, cli

    block = README[README.index("## Commands") : README.index("Exit codes:")]
    for name in cli.commands:
        assert f"auditor {name}" in block, name
    for parameter in audit.params:
        for option in parameter.opts:
            if option.startswith("--"):
                assert option in block, option


def test_every_serve_option_is_in_the_readme() -> None:
    from auditor.cli import _LIMIT_OPTIONS, serve

    block = README[README.index("## Web application") : README.index("### Deployment")]
    limits = {option for decorator in _LIMIT_OPTIONS for option in _names(decorator)}
    for parameter in serve.params:
        for option in parameter.opts:
            if option.startswith("--") and option not in limits and option != "--help":
                assert option in block, option


def _names(decorator: Any) -> list[str]:
    """The option names a click.option decorator adds."""

    @decorator
    def probe() -> None: ...

    return [o for p in probe.__click_params__ for o in p.opts]  # type: ignore[attr-defined]


def _run_example(folder: Path, code: str, command: list[str]) -> subprocess.CompletedProcess[str]:
    """A README example saved as ``folder/example.py`` and run as ``command``; it must succeed."""
    (folder / "example.py").write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, *command],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.parametrize("how", ["script", "module"])
def test_the_python_example_runs_as_a_script_without_a_guard(tmp_path: Path, how: str) -> None:
    """The README's library example, saved as a file and run as it is (no
    ``if __name__ == "__main__":``), over enough files to start workers."""
    match = re.search(r"```python\n(from auditor import .+?)\n```", README, re.DOTALL)
    assert match, "the README's Python example"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sample = ROOT / "samples" / "ka220-hed-eligible.xlsx"
    for number in range(JUDGE_IN_WORKERS_FROM + 10):
        shutil.copy(sample, inbox / f"proposal-{number}.xlsx")
    command = ["example.py"] if how == "script" else ["-m", "example"]
    done = _run_example(tmp_path, match.group(1), command)
    assert len(done.stdout.splitlines()) == JUDGE_IN_WORKERS_FROM + 10


def test_the_python_run_example_writes_the_reports(tmp_path: Path) -> None:
    """The README's AuditRun example, saved as a file and run as it is."""
    match = re.search(
        r"```python\n(from pathlib import Path\n.+?AuditRun.+?)\n```", README, re.DOTALL
    )
    assert match, "the README's AuditRun example"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "samples" / "ka220-hed-eligible.xlsx", inbox)
    _run_example(tmp_path, match.group(1), ["example.py"])
    assert (tmp_path / "report" / "results.json").is_file()
    assert (tmp_path / "report.state.sqlite").is_file()
