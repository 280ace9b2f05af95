"""The README stays true: its rule catalogue and its commands."""

from __future__ import annotations

import re
from pathlib import Path

from auditor.core.catalogue import catalogue
from auditor.report.rulebook import rules_markdown
from auditor.rules.rulebook import RuleBook

ROOT = Path(__file__).resolve().parent.parent
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
