"""``auditor rules`` and ``auditor explain``: the rule catalogue for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.api import judge
from auditor.core.catalogue import Catalogue, RuleDef
from auditor.core.config import AuditConfig
from auditor.core.errors import ConfigError
from auditor.report.i18n import t
from auditor.report.params_text import params_text, public_source
from auditor.rules.examples import batch_from_specs, expand, partner_columns
from auditor.rules.model import RuleBook, RuleEntry, RuleSet

_SCHEMA_SCOPES = ("file", "row", "batch")


def uses(book: RuleBook, rule: str) -> list[tuple[RuleSet, RuleEntry]]:
    return [(s, e) for s in book.sets.values() for e in s.entries if e.rule == rule]


def _scope_text(ruleset: RuleSet, lang: str) -> str:
    if ruleset.universal:
        return t("rules.all_actions", lang)
    return ", ".join(ruleset.actions)


def _scope_of(rule: RuleDef, book: RuleBook, lang: str) -> str:
    used = uses(book, rule.name)
    if any(s.universal for s, _ in used) or (rule.scope in _SCHEMA_SCOPES and not used):
        return t("rules.all_actions", lang)
    return ", ".join(sorted({a for s, _ in used for a in s.actions}))


def rules_markdown(catalogue: Catalogue, book: RuleBook, lang: str = "en") -> str:
    """The catalogue as a Markdown table (the README embeds it)."""
    header = [
        t(k, lang) for k in ("col.code", "col.rule", "col.severity", "col.title", "col.actions")
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rule in sorted(catalogue.rules.values(), key=lambda r: r.code):
        cells = [
            rule.code,
            f"`{rule.name}`",
            str(rule.severity),
            rule.text("title", lang),
            _scope_of(rule, book, lang),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def print_rules(
    catalogue: Catalogue, book: RuleBook, console: Console, lang: str, action: str | None
) -> None:
    if action is None:
        table = Table(header_style="bold")
        for key in ("col.code", "col.rule", "col.severity", "col.title", "col.actions"):
            table.add_column(t(key, lang), overflow="fold")
        for rule in sorted(catalogue.rules.values(), key=lambda r: r.code):
            table.add_row(
                rule.code,
                rule.name,
                str(rule.severity),
                rule.text("title", lang),
                _scope_of(rule, book, lang),
            )
        console.print(table)
        return
    action_key, _ = book.lookup_action(action)
    ruleset = book.ruleset_of(action_key)
    if ruleset is None:
        raise ConfigError(f"unknown action {action!r}; known actions: {', '.join(book.actions)}")
    console.print(
        Text(f"{ruleset.text('title', lang)} ({', '.join(ruleset.actions)})", style="bold")
    )
    # The note (how we read a source that conflicts) is explain's background only.
    if ruleset.not_checked:
        console.print(
            Text(
                f"{t('explain.not_checked', lang)}: {ruleset.text('not_checked', lang)}",
                style="italic",
            )
        )
    table = Table(header_style="bold")
    for column in ("col.code", "col.rule", "col.severity", "col.parameters", "col.source"):
        table.add_column(t(column, lang), overflow="fold")
    entries = [(s, e) for s in (*book.universal_sets(), ruleset) for e in s.entries]
    for owner, entry in sorted(entries, key=lambda item: catalogue[item[1].rule].code):
        rule = catalogue[entry.rule]
        table.add_row(
            rule.code,
            rule.name,
            str(entry.own_severity or rule.severity),
            params_text(entry, lang),
            public_source(entry.source or owner.source or rule.source),
        )
    console.print(table)


def _example_lines(example: dict[str, Any], catalogue: Catalogue, lang: str) -> list[str]:
    if "describe" in example:
        return [f"  {example['describe'].get(lang) or example['describe']['en']}"]
    specs = example.get("proposals", [example])
    lines: list[str] = []
    for spec in specs:
        proposal = expand(spec, catalogue.bases)
        fields = ", ".join(f"{k}={v}" for k, v in proposal["project"].items() if v is not None)
        lines.append(f"  Project: {fields}")
        columns = [c for c in partner_columns() if any(r.get(c) for r in proposal["partners"])]
        lines.append("  Partners: " + " | ".join(columns))
        for row in proposal["partners"]:
            lines.append("    " + " | ".join(str(row.get(c) or "") for c in columns))
    return lines


def _outcome(
    rule: RuleDef, example: dict[str, Any], catalogue: Catalogue, book: RuleBook, lang: str
) -> list[str]:
    if "describe" in example:
        return []
    specs = example.get("proposals", [example])
    result = judge(batch_from_specs(specs, catalogue.bases), book, AuditConfig(lang=lang))
    found = [f for p in result.proposals for f in p.findings if f.rule == rule.name]
    if not found:
        return [f"  {t('explain.says', lang)}: {t('explain.nothing', lang)}"]
    return [f"  {t('explain.says', lang)}:"] + [
        f"    {f.location}: {f.code} {f.severity} {f.message}" for f in found
    ]


def explain(name: str, catalogue: Catalogue, book: RuleBook, console: Console, lang: str) -> None:
    """The rule's fixed sections: what, why, applied by, examples, how to fix."""
    rule = catalogue.find(name)
    if rule is None:
        raise ConfigError(f"no rule is called or coded {name!r}; `auditor rules` lists them")
    console.print(Text(f"{rule.code} {rule.name} — {rule.text('title', lang)}", style="bold"))
    console.print(f"{t('explain.severity', lang)}: {rule.severity}")
    console.print(Text(t("explain.checks", lang), style="bold"))
    console.print(f"  {rule.text('checks', lang)}")
    console.print(Text(t("explain.why", lang), style="bold"))
    used = uses(book, rule.name)
    if rule.source:
        console.print(f"  {rule.source}")
    said: set[tuple[str, str]] = set()
    for ruleset, entry in used:
        params = params_text(entry, lang)
        source = entry.source or ruleset.source or ""
        console.print(
            f"  - {ruleset.text('title', lang)} [{_scope_text(ruleset, lang)}]"
            + (f": {params}" if params else "")
        )
        if source:
            console.print(f"    {source}")
        for part in ("note", "not_checked"):
            if getattr(ruleset, part) and (ruleset.id, part) not in said:
                said.add((ruleset.id, part))  # once per rule set, under its first entry
                console.print(f"    {t(f'explain.{part}', lang)}: {ruleset.text(part, lang)}")
    for kind in ("eligible", "ineligible"):
        example = rule.examples.get(kind)
        if not example:
            continue
        console.print(Text(t(f"explain.{kind}", lang), style="bold"))
        for line in _example_lines(example, catalogue, lang) + _outcome(
            rule, example, catalogue, book, lang
        ):
            console.print(Text(line))
    console.print(Text(t("explain.fix", lang), style="bold"))
    console.print(f"  {rule.text('fix', lang)}")
