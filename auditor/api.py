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

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from auditor import __version__
from auditor.aggregate import aggregate
from auditor.core.config import AuditConfig, Limits
from auditor.core.filenames import printable
from auditor.core.findings import Severity, Verdict
from auditor.core.results import (
    AuditResult,
    FileResult,
    HeldLinks,
    ProposalResult,
    Summary,
    compact_json,
)
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
from auditor.read.model import ReadBatch
from auditor.read.workbook import read_file
from auditor.rules.duplicates import duplicate_ids, with_draft
from auditor.rules.engine import evaluate
from auditor.rules.model import RuleBook
from auditor.rules.rulebook import load_rulebook
from auditor.rules.verdicts import file_verdict, results
from auditor.state.blobs import Packed, pack_content, pack_judged
from auditor.validate import validate

if TYPE_CHECKING:
    from auditor.state.memory import Memory, Plan

Progress = Callable[[int], None]
# What the fork server imports once for the workers that judge.
JUDGE_PRELOAD = ["auditor.api", "auditor.validate.checks"]
# Stored results handed on at a time in an incremental run.
REUSED_WINDOW = 1000
# From this many files on, the workers judge what they read.
JUDGE_IN_WORKERS_FROM = 50
# ... and from this many bytes of workbooks: an agency's export of 200,000
# partner rows (12 MB) gives 64 MB of rows, which cost as much to send here as
# to judge where they are, and judged here, most of the run's memory (680 MB
# against 210 MB for the process that gathers the results, results only).
JUDGE_IN_WORKERS_BYTES = 4 << 20
# The rule books this process has judged with (by what loads them: rule
# folders and ECHE list): judging an empty batch once, as the workers read,
# readies imports and what judging builds; again it would only cost.
_READY: set[tuple[tuple[Path, ...], Path | None]] = set()


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
    # Each proposal's and file's results.json entry as a run without pages or
    # copies writes it, rendered where the chunk was judged: by proposal key,
    # by file.
    texts: dict[str, str] | None = None
    file_texts: dict[str, str] | None = None
    # The links each of those texts holds, where it holds some (kept by the
    # state as last written): by proposal key, by file.
    held: dict[str, HeldLinks] | None = None
    file_held: dict[str, HeldLinks] | None = None
    # What the state of an incremental run keeps of each file's results
    # (state/blobs.py pack_judged), packed where the chunk was judged.
    judged: dict[str, Packed] | None = None
    # Each file's real name, by its shown one (they differ for names that are
    # not UTF-8 or hold control characters: core/filenames.py).
    paths: dict[str, str] | None = None

    def render_texts(self) -> None:
        self.texts = {p.key: compact_json(p.entry()) for p in self.proposals}
        self.file_texts = {f.file: compact_json(f.entry()) for f in self.files}


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
    # The state, on the way in: which files are unchanged (their stored
    # results or rows serve), and which must be read.
    plan = memory.plan(items, rows and reused_rows) if memory is not None else None
    run = _Run(items, config, memory, progress, rows, keep_rows, on_chunk)
    if on_files is not None:
        on_files(len(items))
    reading = run.read(plan.read if plan is not None else items)  # the workers start
    again = run.unchanged(plan) if plan is not None else []  # meanwhile, here
    with fewer_collections():
        run.judged(reading)
    if again:  # unchanged files whose stored results or rows cannot be used: read too
        if memory is not None:
            memory.to_read(again)
        run.judged(run.read(again))
    run.settle_duplicates(rows and reused_rows)
    shown = tuple(printable((labels or {}).get(p, p)) for p in paths)
    return _result(run.found, run.book, config, shown, started)


class _Run:
    """One audit on its way down the stages: read, judged, kept (the state, on the way
    out, and ``on_chunk``: the reports)."""

    def __init__(
        self,
        items: Sequence[InputFile],
        config: AuditConfig,
        memory: Memory | None,
        progress: Progress | None,
        rows: bool,
        keep_rows: bool,
        on_chunk: Callable[[Chunk], None] | None,
    ) -> None:
        self.items, self.config, self.memory, self.progress = items, config, memory, progress
        self.rows, self.keep_rows, self.on_chunk = rows, keep_rows, on_chunk
        self.found = _Judged()
        # Each file's real name, where it is not the one shown.
        self.real = {
            item.display: str(item.path) for item in items if str(item.path) != item.display
        }

    @cached_property
    def book(self) -> RuleBook:
        """The rules, loaded as the fork server gets ready for the workers."""
        return load_rulebook(self.config.rules_dirs, self.config.eche)

    def read(self, items: Sequence[InputFile]) -> Iterator[Any]:
        """Read ``items`` in the worker processes: judged chunks, or read batches to judge.

        A batch is judged where it is read, spread over the workers; a few
        small files are only read there and judged here, this process getting
        ready to judge while the workers read (an applicant's ``check`` waits on
        both).
        """
        config = self.config
        in_workers = judged_in_workers(items)
        if config.limits.timeout and items:
            warm_up(JUDGE_PRELOAD if in_workers else ["auditor.read.batch"])
        book = self.book  # rules that cannot be loaded stop the run before any reading
        options: dict[str, Any] = {"reader": config.reader, "contents": self.memory is not None}
        task = None
        if in_workers:
            task, options = read_and_judge, {**options, "config": config, "rows": self.rows}
        chunks = stream_files(items, config.limits, config.workers, self.progress, task, options)
        loaded = (tuple(config.rules_dirs), config.eche)
        if not in_workers and items and loaded not in _READY:
            judge_chunk(ReadBatch(), book, config)  # imports and builds what judging needs
            _READY.add(loaded)
        return chunks

    def unchanged(self, plan: Plan) -> list[InputFile]:
        """Take the unchanged files from the state: their stored results, or their rows
        judged again; returns the files whose results or rows cannot be used (a
        damaged state), to be read.

        In windows as the workers' chunks are: what the reports make of a
        chunk (pages whose rows must be fetched) stays bounded.
        """
        memory, progress = self.memory, self.progress
        assert memory is not None  # a plan comes from the state
        again: list[InputFile] = []
        for start in range(0, len(plan.reuse), REUSED_WINDOW):
            some = plan.reuse[start : start + REUSED_WINDOW]
            stored = memory.stored_results(some)
            again.extend(stored.missing)
            chunk = Chunk(
                stored.proposals,
                stored.files,
                None,
                None,
                texts=stored.texts,
                file_texts=stored.file_texts,
                held=stored.held,
                file_held=stored.file_held,
            )
            self.take(chunk, remember=False)
            if progress is not None:
                progress(len(some) - len(stored.missing))
        for start in range(0, len(plan.rejudge), IN_PROCESS_CHUNK):
            some = plan.rejudge[start : start + IN_PROCESS_CHUNK]
            cached = [(item, memory.cached_content(item)) for item in some]
            again.extend(item for item, content in cached if content is None)
            contents = [content for _, content in cached if content is not None]
            if contents:
                self.take(judge_chunk(batch_of(contents), self.book, self.config))
            if progress is not None:
                progress(len(contents))
        return again

    def judged(self, parts: Iterable[Any]) -> None:
        """Take what the workers send: judged chunks; files read but not judged there (a
        few files, or those lost to a time limit or a crash) are judged here."""
        for part in parts:
            if isinstance(part, Chunk):
                self.take(part)
            else:
                chunk = judge_chunk(part, self.book, self.config)
                if self.memory is not None:
                    chunk.contents = {c.read.index: pack_content(c) for c in part.contents}
                self.take(chunk)

    def take(self, chunk: Chunk, remember: bool = True) -> None:
        """Keep a judged chunk: in the result, in the state (on the way out), and in the
        reports (``on_chunk``)."""
        if self.real:
            chunk.paths = {f.file: self.real[f.file] for f in chunk.files if f.file in self.real}
        found = self.found
        found.proposals.extend(chunk.proposals)
        found.files.extend(chunk.files)
        if self.keep_rows and chunk.partners is not None and chunk.projects is not None:
            found.partners.append(chunk.partners)
            found.projects.append(chunk.projects)
        if self.memory is not None and remember:
            if chunk.texts is None:  # judged here: rendered once, for the state and the report
                chunk.render_texts()
            self.memory.remember(chunk)
        if self.on_chunk is not None:
            self.on_chunk(chunk)

    def settle_duplicates(self, rows: bool) -> None:
        """The batch-wide rule, once every chunk is in (``rows``: revised chunks with rows)."""
        complete = self.memory.complete if self.memory is not None else None
        _settle_duplicates(
            self.found, self.items, self.book, self.config, self.on_chunk, rows, complete
        )


def judged_in_workers(items: Sequence[InputFile]) -> bool:
    """Whether the workers judge what they read: many files, or large ones."""
    if len(items) >= JUDGE_IN_WORKERS_FROM:
        return True
    size = 0
    for item in items:
        if item.refusal is not None:  # never opened (a link out of the folder, a FIFO)
            continue
        with contextlib.suppress(OSError):  # a file gone is the reader's to answer
            size += item.path.stat().st_size
    return size >= JUDGE_IN_WORKERS_BYTES


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
) -> Chunk | ReadBatch:
    """A reader process's task: read a chunk of files and judge its proposals.

    Judging where the files were read spreads the whole audit over the
    workers; only the results (and the rows, when reports need them) travel
    back. A chunk that cannot be judged within the worker's memory comes back
    read, not judged.
    """
    config = config or AuditConfig()
    batch = read_in_worker(items, limits, on_file, reader, contents)
    try:
        chunk = judge_chunk(batch, load_rulebook(config.rules_dirs, config.eche), config)
    except MemoryError:
        # Over this worker's --max-memory while judging (a large export): the
        # rows go to the main process and are judged there, as a few small
        # files' always are, rather than stopping the run.
        return batch
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


def judge_chunk(batch: ReadBatch, book: RuleBook, config: AuditConfig) -> Chunk:
    """Judge what was read, in one pass: validate, aggregate, the rules, the verdicts.

    Every rule but the batch-wide one (a proposal ID used twice: settled at
    the end of a run).
    """
    validated = validate(batch, book)
    aggregates = aggregate(validated, book.pool_of, book.pool_frame(), book.eu_frame())
    evaluation = evaluate(book, aggregates)
    proposals, files = results(aggregates, evaluation, config.lang, config.limits.max_findings)
    return Chunk(proposals, files, aggregates.partners, aggregates.proposals)


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
    drafts = duplicate_ids(judged.proposals)
    if not drafts:
        return

    def revise(proposal: ProposalResult) -> ProposalResult:
        draft = drafts.get(proposal.key)
        if draft is None:
            return proposal
        if complete is not None:  # a stored result loaded without its rule checks
            proposal = complete(proposal)
        return with_draft(proposal, draft, config.lang)

    judged.proposals[:] = [revise(p) for p in judged.proposals]
    touched = {p.file for p in judged.proposals if p.key in drafts}
    by_file: dict[str, list[ProposalResult]] = {}
    for proposal in judged.proposals:
        if proposal.file in touched:
            by_file.setdefault(proposal.file, []).append(proposal)
    for position, file in enumerate(judged.files):
        if file.file in touched:
            mine = by_file.get(file.file, [])
            verdict = file_verdict(file.verdict is Verdict.UNREADABLE, file.findings, mine)
            judged.files[position] = replace(file, verdict=verdict)
    if on_chunk is None or not items:
        return
    real = {item.display: str(item.path) for item in items if item.display in touched}
    files = [f for f in judged.files if f.file in touched]
    if not rows:
        mine = [p for p in judged.proposals if p.file in touched]
        on_chunk(Chunk(mine, files, None, None, revised=True, paths=real))
        return
    again = [item for item in items if item.display in touched]
    chunk = judge_chunk(read_chunk(again, config.limits), book, config)
    revised = [revise(p) for p in chunk.proposals]
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
