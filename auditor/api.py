"""The library entry point: ``audit(paths, config) -> AuditResult``.

Read every file (read), normalise and validate the rows (validate), compute
the metrics of the proposals (aggregate), run the rule sets over them (rules),
and put the findings into words in the report language. The CLI and every
renderer sit on top of this; this module imports none of them.

Files stream in from the reader processes and are judged in windows of a
couple of thousand proposals: large enough that the per-call costs of
pandera and polars are paid rarely (perf-floors.md), small enough that memory
does not grow with the batch. The one batch-wide rule, a proposal ID used
twice, is settled at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from auditor import __version__
from auditor.aggregate import METRICS, aggregate
from auditor.core.catalogue import catalogue
from auditor.core.config import AuditConfig, Limits
from auditor.core.filenames import printable
from auditor.core.findings import (
    Finding,
    FindingDraft,
    Severity,
    Verdict,
    sort_findings,
    verdict_of,
)
from auditor.core.results import AuditResult, FileResult, ProposalResult, Summary, compact_json
from auditor.normalise.countries import country_name
from auditor.normalise.frames import n, normalise_partners, normalise_projects
from auditor.normalise.vocabulary import vocabulary
from auditor.pool.processes import fewer_collections, warm_up
from auditor.read.batch import (
    IN_PROCESS_CHUNK,
    Reader,
    batch_of,
    read_chunk,
    read_in_worker,
    stream_files,
)
from auditor.read.discover import InputFile, discover
from auditor.read.model import PKEY, ReadBatch
from auditor.read.workbook import read_file
from auditor.rules.engine import evaluate
from auditor.rules.model import RuleBook
from auditor.rules.rulebook import load_rulebook
from auditor.state.blobs import pack_content, pack_judged

if TYPE_CHECKING:
    from auditor.state.memory import Memory

Progress = Callable[[int], None]
# What the fork server imports once for the workers that judge.
JUDGE_PRELOAD = ["auditor.api", "auditor.validate"]
# Stored results handed on at a time in an incremental run.
REUSED_WINDOW = 1000
# From this many files on, the workers judge what they read.
JUDGE_IN_WORKERS_FROM = 50
# The other places a duplicate proposal ID's finding names (the rest are counted).
OTHERS_NAMED = 5


class _Names:
    """Country and vocabulary names for messages."""

    def country(self, code: str, lang: str) -> str:
        return country_name(code, lang)

    def term(self, name: str, code: str, lang: str) -> str:
        return vocabulary(name).label(code, lang)


@dataclass
class Chunk:
    """Proposals judged together, with their rows (for renderers that show them).

    ``revised`` chunks come at the end of a run: proposals whose findings
    changed once the whole batch was known (a proposal ID used twice).
    """

    proposals: list[ProposalResult]
    files: list[FileResult]
    partners: pl.DataFrame | None
    projects: pl.DataFrame | None
    revised: bool = False
    # What each file read for this chunk gave, packed (state/blobs.py), by
    # file index: an incremental run caches it.
    contents: dict[int, bytes] | None = None
    # Each proposal's and file's results.json entry (without the report
    # links), rendered where the chunk was judged: by proposal key, by file.
    texts: dict[str, str] | None = None
    file_texts: dict[str, str] | None = None
    # What the state of an incremental run keeps of each file's results
    # (state/blobs.py pack_judged), packed where the chunk was judged.
    judged: dict[str, tuple[bytes, bytes]] | None = None
    # Each file's real name, by its shown one (they differ for names that are
    # not UTF-8 or hold control characters: core/filenames.py).
    paths: dict[str, str] | None = None

    def render_texts(self) -> None:
        self.texts = {p.key: compact_json(p.to_dict()) for p in self.proposals}
        self.file_texts = {f.file: compact_json(f.to_dict()) for f in self.files}


@dataclass
class _Judged:
    proposals: list[ProposalResult] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)
    partners: list[pl.DataFrame] = field(default_factory=list)
    projects: list[pl.DataFrame] = field(default_factory=list)


def audit(
    paths: Sequence[str],
    config: AuditConfig | None = None,
    progress: Progress | None = None,
    on_files: Callable[[int], None] | None = None,
    on_chunk: Callable[[Chunk], None] | None = None,
    keep_rows: bool = True,
    memory: Memory | None = None,
    chunk_rows: bool = True,
    started_at: str | None = None,
    reused_rows: bool = True,
    labels: Mapping[str, str] | None = None,
) -> AuditResult:
    """Audit the workbooks found under ``paths``.

    ``on_files`` is told how many files were found before reading starts,
    ``progress`` is called as files are read, and ``on_chunk`` gets each
    window of judged proposals with their rows (unless ``chunk_rows`` is
    False) as soon as it is ready (the reports are written that way). With
    ``keep_rows=False`` the rows are not kept in the result, so memory stays
    flat however large the batch.

    With ``memory`` (state/memory.py) the run is incremental: unchanged files
    keep their stored results or are judged from their cached rows, and only
    the others are read. Reused results come without rows unless
    ``reused_rows`` (the reports fetch the rows they still need: ``rows_of``).
    ``labels`` shows a path's files under another name (read/discover.py).

    Worker processes are started; they never import the calling script
    (pool/supervisor.py), so a script needs no ``if __name__ == "__main__":``
    guard.
    """
    config = config or AuditConfig()
    started = started_at or datetime.now().astimezone().isoformat(timespec="seconds")
    items = discover(list(paths), config.follow_links, labels)
    rows = keep_rows or (on_chunk is not None and chunk_rows)
    plan = memory.plan(items, rows and reused_rows) if memory is not None else None
    to_read = plan.read if plan is not None else items
    # A batch is judged where it is read, spread over the workers; a few files
    # are only read there and judged here, this process getting ready to
    # judge while the workers read (an applicant's ``check`` waits on both).
    in_workers = len(to_read) >= JUDGE_IN_WORKERS_FROM
    if config.limits.timeout and to_read:
        warm_up(JUDGE_PRELOAD if in_workers else ["auditor.read.batch"])
    book = load_rulebook(config.rules_dirs, config.eche)
    if on_files is not None:
        on_files(len(items))
    judged = _Judged()
    options: dict[str, Any] = {"reader": config.reader, "contents": memory is not None}
    task = None
    if in_workers:
        task, options = read_and_judge, {**options, "config": config, "rows": rows}
    chunks = stream_files(to_read, config.limits, config.workers, progress, task, options)
    if not in_workers and to_read:
        judge_chunk(ReadBatch(), book, config)  # imports and builds what judging needs

    real = {item.display: str(item.path) for item in items if str(item.path) != item.display}

    def take(chunk: Chunk, remember: bool = True) -> None:
        if real:
            chunk.paths = {f.file: real[f.file] for f in chunk.files if f.file in real}
        judged.proposals.extend(chunk.proposals)
        judged.files.extend(chunk.files)
        if keep_rows and chunk.partners is not None and chunk.projects is not None:
            judged.partners.append(chunk.partners)
            judged.projects.append(chunk.projects)
        if memory is not None and remember:
            memory.remember(chunk)
        if on_chunk is not None:
            on_chunk(chunk)

    # Unchanged files whose stored results or rows cannot be used (a damaged
    # state): read like the others, once the first reading is under way.
    again: list[InputFile] = []
    if memory is not None and plan is not None:  # (the one goes with the other)
        # Unchanged files, while the workers read the changed ones, in windows
        # as the workers' chunks are: what the reports make of a chunk (pages
        # whose rows must be fetched) stays bounded.
        for start in range(0, len(plan.reuse), REUSED_WINDOW):
            some = plan.reuse[start : start + REUSED_WINDOW]
            files, proposals, texts, file_texts, missing = memory.stored_results(some)
            again.extend(missing)
            take(Chunk(proposals, files, None, None, texts=texts, file_texts=file_texts), False)
            if progress is not None:
                progress(len(some) - len(missing))
        for start in range(0, len(plan.rejudge), IN_PROCESS_CHUNK):
            some = plan.rejudge[start : start + IN_PROCESS_CHUNK]
            cached = [(item, memory.cached_content(item)) for item in some]
            again.extend(item for item, content in cached if content is None)
            contents = [content for _, content in cached if content is not None]
            if contents:
                take(judge_chunk(batch_of(contents), book, config))
            if progress is not None:
                progress(len(contents))

    def judged_parts(parts: Iterable[Any]) -> None:
        for part in parts:
            # Workers send judged chunks; files read here, or lost to a time
            # limit or a crash, come as what was read, and are judged here.
            if isinstance(part, Chunk):
                take(part)
            else:
                chunk = judge_chunk(part, book, config)
                if memory is not None:
                    chunk.contents = {c.read.index: pack_content(c) for c in part.contents}
                take(chunk)

    with fewer_collections():
        judged_parts(chunks)
    if again:
        if memory is not None:
            memory.to_read(again)
        judged_parts(stream_files(again, config.limits, config.workers, progress, task, options))
    # Without reused rows, the reports fetch the rows of revised proposals.
    complete = memory.complete if memory is not None else None
    _settle_duplicates(judged, items, book, config, on_chunk, rows and reused_rows, complete)
    shown = tuple(printable((labels or {}).get(p, p)) for p in paths)
    return _result(judged, book, config, shown, started)


def rows_of(
    files: Sequence[str], memory: Memory, book: RuleBook, config: AuditConfig
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The rows (partners, projects) of files of an incremental run whose results were reused.

    Judged again from the rows the state keeps; a file whose rows it does not
    keep is read (it was read without trouble before).
    """
    read = config.reader or read_file
    contents = []
    for display in files:
        item = memory.items[display]
        content = memory.cached_content(item)
        contents.append(content if content is not None else read(item, config.limits))
    chunk = judge_chunk(batch_of(contents), book, config)
    return chunk.partners, chunk.projects


def read_and_judge(
    items: Sequence[InputFile],
    limits: Limits,
    on_file: Callable[[str, int], Any] | None = None,
    config: AuditConfig | None = None,
    rows: bool = False,
    reader: Reader | None = None,
    contents: bool = False,
) -> Chunk:
    """A reader process's task: read a chunk of files and judge its proposals.

    Judging where the files were read spreads the whole audit over the
    workers; only the results (and the rows, when reports need them) travel
    back.
    """
    config = config or AuditConfig()
    batch = read_in_worker(items, limits, on_file, reader, contents)
    chunk = judge_chunk(batch, load_rulebook(config.rules_dirs, config.eche), config)
    if not rows:
        chunk.partners = chunk.projects = None
    # Here, in parallel, not in the process that gathers the chunks: the
    # results.json entries and what an incremental run's state keeps.
    chunk.render_texts()
    if contents:
        chunk.contents = {c.read.index: pack_content(c) for c in batch.contents}
        chunk.judged = pack_judged(chunk.files, chunk.proposals, chunk.texts, chunk.file_texts)
    return chunk


def judge(
    batch: ReadBatch,
    book: RuleBook,
    config: AuditConfig,
    inputs: tuple[str, ...] = (),
    started_at: str | None = None,
) -> AuditResult:
    """Judge what was read as one batch (the rule examples and tests use this)."""
    chunk = judge_chunk(batch, book, config)
    judged = _Judged(chunk.proposals, chunk.files)
    if chunk.partners is not None and chunk.projects is not None:
        judged.partners.append(chunk.partners)
        judged.projects.append(chunk.projects)
    _settle_duplicates(judged, [], book, config, None, rows=True)
    started = started_at or datetime.now().astimezone().isoformat(timespec="seconds")
    return _result(judged, book, config, inputs, started)


def _merge(*parts: dict[str, list[FindingDraft]]) -> dict[str, list[FindingDraft]]:
    merged: dict[str, list[FindingDraft]] = {}
    for part in parts:
        for key, drafts in part.items():
            merged.setdefault(key, []).extend(drafts)
    return merged


def _context(projects: pl.DataFrame, batch: ReadBatch, book: RuleBook) -> pl.DataFrame:
    """Add each proposal's pool and whether its partner table can be judged."""
    pools = {a: s.pool for s in book.action_sets() for a in s.actions if s.pool}
    complete = {k: s.partners_complete for k, s in batch.sources.items()}
    return projects.with_columns(
        pl.col(n("action"))
        .replace_strict(pools, default=None, return_dtype=pl.String)
        .alias("pool"),
        pl.col(PKEY)
        .replace_strict(complete, default=False, return_dtype=pl.Boolean)
        .alias("partners_complete"),
    )


def judge_chunk(batch: ReadBatch, book: RuleBook, config: AuditConfig) -> Chunk:
    """Validate, aggregate and check the proposals of ``batch`` (all rules but duplicates)."""
    # pandera is imported only by the processes that judge: a nightly run
    # that reuses every result never pays for it.
    from auditor import validate

    projects = normalise_projects(batch.projects, book.lookup_action, book.strand_action)
    partners = normalise_partners(batch.partners)
    drafts = _merge(
        batch.drafts,
        validate.validate_projects(projects, batch.sources, {"strand": book.actions_with_strands}),
        validate.validate_partners(partners, batch.sources),
    )
    projects = _context(projects, batch, book)
    aggregates = aggregate(partners, projects, book.pool_frame(), book.eu_frame())
    evaluation = evaluate(book, aggregates, batch.sources)
    drafts = _merge(drafts, evaluation.drafts)
    proposals = _proposals(batch, config, aggregates.proposals, drafts, evaluation.checks)
    by_file: dict[str, list[ProposalResult]] = {}
    for proposal in proposals:
        by_file.setdefault(proposal.file, []).append(proposal)
    files = [_file_result(read, by_file.get(read.file, []), config) for read in batch.files]
    return Chunk(proposals, files, aggregates.partners, aggregates.proposals)


def _render(
    drafts: Sequence[FindingDraft], file: str, lang: str, limit: int
) -> tuple[Finding, ...]:
    """The drafts about ``file`` in words, in their order."""
    rules, names = catalogue(), _Names()
    return sort_findings([rules.render(d, lang, names, file) for d in capped(drafts, limit)])


def _draft_order(draft: FindingDraft) -> tuple[str, int, int, str]:
    row, column = draft.cell.order() if draft.cell else (0, 0)
    return (draft.sheet or "", row, column, draft.rule)


def capped(drafts: Sequence[FindingDraft], limit: int) -> Sequence[FindingDraft]:
    """At most ``limit`` findings, the first in the workbook's order, and one that sums up
    the rest (with the highest severity among them, so the verdict stays what it was).

    A workbook with a hundred thousand bad rows needs its first rows fixed,
    not a page of a hundred thousand findings.
    """
    if len(drafts) <= limit:
        return drafts
    ordered = sorted(drafts, key=_draft_order)
    kept, rest = ordered[:limit], ordered[limit:]
    rules = catalogue()
    errors = sum(1 for d in rest if (d.severity or rules[d.rule].severity) is Severity.ERROR)
    summary = FindingDraft(
        "too-many-findings",
        params={
            "more": len(rest),
            "errors": errors,
            "warnings": len(rest) - errors,
            "shown": limit,
        },
        sheet=kept[-1].sheet,
        severity=Severity.ERROR if errors else Severity.WARNING,
    )
    return [*kept, summary]


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    number: int | float = value
    return number


def _proposals(
    batch: ReadBatch,
    config: AuditConfig,
    frame: pl.DataFrame,
    drafts: dict[str, list[FindingDraft]],
    checks: dict[str, list[Any]],
) -> list[ProposalResult]:
    results: list[ProposalResult] = []
    columns = [PKEY, "proposal_id", "action", n("action"), "year", "title", "acronym", *METRICS]
    for row in frame.select(columns).iter_rows(named=True):
        pkey = row[PKEY]
        source = batch.sources[pkey]
        findings = _render(
            drafts.get(pkey, []), source.file, config.lang, config.limits.max_findings
        )
        results.append(
            ProposalResult(
                proposal_id=row["proposal_id"] or "",
                file=source.file,
                relative=source.relative,
                action=row[n("action")] or row["action"],
                call_year=row["year"],
                verdict=verdict_of(findings),
                metrics={metric: _number(row[metric]) for metric in METRICS},
                findings=findings,
                checks=tuple(sorted(checks.get(pkey, []), key=lambda c: c.code)),
                title=row["title"],
                acronym=row["acronym"],
                key=pkey,
                partner_sheet=source.partners.sheet if source.partners else None,
                partner_letters=dict(source.partners.letters) if source.partners else {},
                project_sheet=source.project_sheet,
                id_cell=source.project_cell("proposal_id"),
                in_export=source.project_row is not None,
            )
        )
    return results


def _file_result(read: Any, mine: Sequence[ProposalResult], config: AuditConfig) -> FileResult:
    findings = _render(read.drafts, read.file, config.lang, config.limits.max_findings)
    return FileResult(
        read.file,
        read.relative,
        _file_verdict(read.unreadable, findings, mine),
        tuple(p.proposal_id for p in mine),
        findings,
    )


def _file_verdict(
    unreadable: bool, findings: Sequence[Finding], proposals: Sequence[ProposalResult]
) -> Verdict:
    if unreadable or not proposals:
        return Verdict.UNREADABLE  # a workbook without a single proposal in it too
    if any(f.severity is Severity.ERROR for f in findings) or any(
        p.verdict is Verdict.INELIGIBLE for p in proposals
    ):
        return Verdict.INELIGIBLE
    return Verdict.ELIGIBLE


def with_file_findings(
    result: AuditResult, drafts: Mapping[str, Sequence[FindingDraft]]
) -> AuditResult:
    """``result`` with findings added to files (by file): what the reports learnt of them
    (a copy that could not be made), after the files were judged."""
    if not drafts:
        return result
    files = []
    added: list[Finding] = []
    for file in result.files:
        extra = drafts.get(file.file)
        if not extra:
            files.append(file)
            continue
        new = _render(list(extra), file.file, result.lang, len(extra))
        added.extend(new)
        files.append(replace(file, findings=sort_findings([*file.findings, *new])))
    errors = sum(1 for f in added if f.severity is Severity.ERROR)
    summary = replace(
        result.summary,
        errors=result.summary.errors + errors,
        warnings=result.summary.warnings + len(added) - errors,
    )
    return replace(result, files=tuple(files), summary=summary)


def _place(proposal: ProposalResult) -> str:
    if proposal.in_export:
        return f"{proposal.file} ({proposal.project_sheet}!{proposal.id_cell or ''})"
    return proposal.file


def _settle_duplicates(
    judged: _Judged,
    items: Sequence[InputFile],
    book: RuleBook,
    config: AuditConfig,
    on_chunk: Callable[[Chunk], None] | None,
    rows: bool,
    complete: Callable[[ProposalResult], ProposalResult] | None = None,
) -> None:
    """A proposal ID in two places of the batch: every place is told of the others.

    Chunks already handed to ``on_chunk`` are handed over again, revised:
    when ``on_chunk`` wants rows, the files concerned are read and judged once
    more (their other findings do not change) and given the new findings.
    """
    groups: dict[str, list[int]] = {}
    for position, proposal in enumerate(judged.proposals):
        if proposal.proposal_id:
            groups.setdefault(proposal.proposal_id, []).append(position)
    repeated = {pid: places for pid, places in groups.items() if len(places) > 1}
    if not repeated:
        return

    def order(place: int) -> tuple[str, int]:
        """Places in reading order: by file, then by row on a Proposals sheet."""
        proposal = judged.proposals[place]
        row = proposal.id_cell.row if proposal.in_export and proposal.id_cell else 0
        return (proposal.file, row)

    extra: dict[str, FindingDraft] = {}
    for proposal_id, places in repeated.items():
        # Each copy names a few of the others and counts the rest: one
        # finding per copy, however many copies (linear, not quadratic).
        named = [_place(judged.proposals[place]) for place in sorted(places, key=order)]
        for place in places:
            proposal = judged.proposals[place]
            own = _place(proposal)
            shown = [other for other in named[: OTHERS_NAMED + 1] if other != own]
            shown = shown[:OTHERS_NAMED]
            more = len(places) - 1 - len(shown)
            params: dict[str, Any] = {"other": ", ".join(shown)}
            if more > 0:
                params.update(variant="many", more=more)
            extra[proposal.key] = FindingDraft(
                "duplicate-proposal-id",
                params=params,
                sheet=proposal.project_sheet,
                cell=proposal.id_cell,
                column="proposal_id",
                value=proposal_id,
            )

    def revise(proposal: ProposalResult) -> ProposalResult:
        draft = extra.get(proposal.key)
        if draft is None:
            return proposal
        if complete is not None:  # a stored result loaded without its rule checks
            proposal = complete(proposal)
        new = _render([draft], proposal.file, config.lang, 1)
        findings = sort_findings([*proposal.findings, *new])
        return replace(proposal, findings=findings, verdict=verdict_of(findings))

    judged.proposals[:] = [revise(p) for p in judged.proposals]
    touched = {judged.proposals[place].file for places in repeated.values() for place in places}
    by_file: dict[str, list[ProposalResult]] = {}
    for proposal in judged.proposals:
        if proposal.file in touched:
            by_file.setdefault(proposal.file, []).append(proposal)
    for position, file in enumerate(judged.files):
        if file.file in touched:
            mine = by_file.get(file.file, [])
            verdict = _file_verdict(file.verdict is Verdict.UNREADABLE, file.findings, mine)
            judged.files[position] = replace(file, verdict=verdict)
    if on_chunk is None or not items:
        return
    real = {item.display: str(item.path) for item in items if item.display in touched}
    if not rows:
        mine = [p for p in judged.proposals if p.file in touched]
        files = [f for f in judged.files if f.file in touched]
        on_chunk(Chunk(mine, files, None, None, revised=True, paths=real))
        return
    again = [item for item in items if item.display in touched]
    chunk = judge_chunk(read_chunk(again, config.limits), book, config)
    revised = [revise(p) for p in chunk.proposals]
    files = [f for f in judged.files if f.file in touched]
    on_chunk(Chunk(revised, files, chunk.partners, chunk.projects, revised=True, paths=real))


def _result(
    judged: _Judged,
    book: RuleBook,
    config: AuditConfig,
    inputs: tuple[str, ...],
    started_at: str,
) -> AuditResult:
    proposals = sorted(judged.proposals, key=lambda p: (p.file, p.proposal_id, p.key))
    files = sorted(judged.files, key=lambda f: f.file)
    findings = [f for p in proposals for f in p.findings] + [
        f for file in files for f in file.findings
    ]
    summary = Summary(
        files=len(files),
        proposals=len(proposals),
        eligible=sum(1 for p in proposals if p.verdict is Verdict.ELIGIBLE),
        ineligible=sum(1 for p in proposals if p.verdict is Verdict.INELIGIBLE),
        unreadable=sum(1 for f in files if f.verdict is Verdict.UNREADABLE),
        errors=sum(1 for f in findings if f.severity is Severity.ERROR),
        warnings=sum(1 for f in findings if f.severity is Severity.WARNING),
    )
    return AuditResult(
        tool_version=__version__,
        started_at=started_at,
        inputs=inputs,
        rules_version=book.version,
        lang=config.lang,
        summary=summary,
        proposals=tuple(proposals),
        files=tuple(files),
        partners=pl.concat(judged.partners, how="diagonal") if judged.partners else None,
        projects=pl.concat(judged.projects, how="diagonal") if judged.projects else None,
    )
