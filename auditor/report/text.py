"""Terminal output: the batch summary of ``audit`` and the linter lines of ``check``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.core.filenames import one_line
from auditor.core.findings import Finding, Severity, Verdict, by_importance
from auditor.core.results import AuditResult, ProposalResult
from auditor.report.i18n import t
from auditor.state.changes import Changes, ProposalChange
from auditor.state.runs import RunRow

_VERDICT_STYLE = {
    Verdict.ELIGIBLE: "green",
    Verdict.INELIGIBLE: "red",
    Verdict.UNREADABLE: "magenta",
}


def summary_line(result: AuditResult) -> str:
    s = result.summary
    return t(
        "summary.line",
        result.lang,
        files=s.files,
        proposals=s.proposals,
        eligible=s.eligible,
        ineligible=s.ineligible,
        unreadable=s.unreadable,
        errors=s.errors,
        warnings=s.warnings,
    )


def _first(findings: tuple[Finding, ...]) -> str:
    ordered = by_importance(findings)
    if not ordered:
        return ""
    first = ordered[0]
    more = f" (+{len(ordered) - 1})" if len(ordered) > 1 else ""
    return f"{first.code} {first.rule}{more}"


def print_summary(result: AuditResult, console: Console) -> None:
    """One row per proposal, then the files that could not be read, then the totals.

    A run after another on the same state prints what changed since that one
    instead of every proposal again (the reports still list them all).
    """
    lang = result.lang
    changes = result.changes
    if changes is not None and changes.since is not None and result.run_id is not None:
        print_changes(changes, result.run_id, console, lang)
        console.print(Text(summary_line(result), style="bold"))
        return
    table = Table(show_lines=False, header_style="bold", expand=False)
    for key in (
        "col.verdict",
        "col.proposal",
        "col.action",
        "col.file",
        "col.errors",
        "col.warnings",
        "col.first_finding",
    ):
        table.add_column(t(key, lang), overflow="fold")
    for proposal in result.proposals:
        table.add_row(
            Text(t(f"verdict.{proposal.verdict}", lang), style=_VERDICT_STYLE[proposal.verdict]),
            Text(one_line(proposal.proposal_id or "—")),
            Text(one_line(proposal.action or "—")),
            Text(proposal.file),
            str(proposal.errors),
            str(proposal.warnings),
            Text(one_line(_first(proposal.findings))),
        )
    if result.proposals:
        console.print(table)
    unreadable = [f for f in result.files if f.verdict is Verdict.UNREADABLE]
    if unreadable:
        console.print(Text(t("summary.unreadable", lang), style="bold magenta"))
        for file in unreadable:
            for finding in file.findings:
                console.print(Text(one_line(f"  {file.file}: {finding.code} {finding.message}")))
    console.print(Text(summary_line(result), style="bold"))


def check_lines(result: AuditResult) -> list[str]:
    """Linter-style lines: ``path:Partners!F7: ELG103 min-hei error <message>``."""
    lines: list[str] = []
    for file in result.files:
        findings: list[tuple[Finding, str]] = [(f, file.file) for f in file.findings]
        proposals = [p for p in result.proposals if p.file == file.file]
        for proposal in proposals:
            findings.extend((f, file.file) for f in proposal.findings)
        for finding, path in findings:
            where = finding.location
            prefix = f"{path}:{where}:" if where else f"{path}:"
            lines.append(
                one_line(
                    f"{prefix} {finding.code} {finding.rule} {finding.severity} {finding.message}"
                )
            )
        lines.extend(_verdict_lines(file.file, file.verdict, proposals, file.findings, result.lang))
    return lines


def _verdict_lines(
    path: str,
    verdict: Verdict,
    proposals: list[ProposalResult],
    file_findings: tuple[Finding, ...],
    lang: str,
) -> list[str]:
    if not proposals:
        return [
            t(
                "check.verdict",
                lang,
                file=path,
                verdict=t(f"verdict.{verdict}", lang),
                errors=sum(1 for f in file_findings if f.severity is Severity.ERROR),
                warnings=sum(1 for f in file_findings if f.severity is Severity.WARNING),
            )
        ]
    return [
        t(
            "check.verdict",
            lang,
            file=f"{path} [{p.proposal_id}]" if len(proposals) > 1 else path,
            verdict=t(f"verdict.{p.verdict}", lang),
            errors=p.errors,
            warnings=p.warnings,
        )
        for p in proposals
    ]


def print_runs(rows: list[RunRow], console: Console, lang: str) -> None:
    """``auditor history``: one line per run."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for key in ("history.run", "history.started", "history.seconds", "col.files", "col.proposals"):
        table.add_column(
            t(key, lang), no_wrap=True, min_width=25 if key == "history.started" else 0
        )
    for key in ("verdict.eligible", "verdict.ineligible", "verdict.unreadable"):
        table.add_column(t(key, lang).capitalize(), justify="right")
    for key in ("history.read", "history.rejudged", "history.reused", "history.withdrawn"):
        table.add_column(t(key, lang), justify="right")
    for row in rows:
        c = row.counts
        table.add_row(
            str(row.id),
            row.started_at,
            f"{row.seconds:.1f}",
            str(c["files"]),
            str(c["proposals"]),
            str(c["eligible"]),
            str(c["ineligible"]),
            str(c["unreadable"]),
            str(c["read"]),
            str(c["rejudged"]),
            str(c["reused"]),
            str(c["withdrawn"]),
        )
    console.print(table)


def print_changes(changes: Changes, later: int, console: Console, lang: str) -> None:
    """``auditor diff``: the proposals that changed, grouped, with their findings."""
    since = changes.since.id if changes.since else "—"
    console.print(Text(t("diff.heading", lang, earlier=since, later=later), style="bold"))
    for kind in ("broken", "fixed", "new", "withdrawn", "changed"):
        entries: tuple[ProposalChange, ...] = getattr(changes, kind)
        if not entries:
            continue
        console.print(Text(f"{t('changes.' + kind, lang)} ({len(entries)})", style="bold"))
        for change in entries:
            before = t(f"verdict.{change.before}", lang) if change.before else "—"
            after = t(f"verdict.{change.after}", lang) if change.after else t("changes.gone", lang)
            name = change.proposal_id or t("index.no_id", lang)
            console.print(Text(f"  {name}  {before} → {after}  {change.file}"))
            for mark, findings in (("+", change.added), ("-", change.resolved)):
                for finding in findings:
                    place = f" {finding.location}" if finding.location else ""
                    console.print(Text(f"      {mark} {finding.code}{place}: {finding.message}"))
    for key, files in (
        ("changes.became_unreadable", changes.unreadable),
        ("changes.became_readable", changes.readable),
    ):
        if files:
            console.print(Text(f"{t(key, lang)} ({len(files)})", style="bold"))
            for file in files:
                console.print(Text(f"  {file}"))
    counts = changes.counts()
    console.print(Text(" ".join(f"{key}={value}" for key, value in counts.items())))
