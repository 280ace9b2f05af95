"""Writing every report of a run into OUTDIR, all or nothing.

Reports are written to a staging folder beside OUTDIR and swapped into
place when complete, so a crash never leaves half a report, and a re-run
replaces the previous report of the same folder. OUTDIR holds a marker file;
a folder the auditor did not write is never replaced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.api import Chunk
from auditor.core.errors import OutputError
from auditor.core.findings import Verdict
from auditor.core.locks import hold
from auditor.core.results import AuditResult, FileResult, ProposalResult
from auditor.read.isolation import worker_context
from auditor.report.annotate import ANNOTATABLE
from auditor.report.html import (
    ProposalRows,
    RunContext,
    index_context,
    render_index,
    rows_by_proposal,
    run_context,
)
from auditor.report.i18n import t
from auditor.report.jobs import CopyJob, PageJob, Staging, annotate_files, render_pages
from auditor.report.json import EntryCache, render_json
from auditor.report.names import Links, UniqueNames, safe_relative, safe_stem
from auditor.report.summary import build_summary

MARKER = ".auditor-report"
ANNOTATE_MODES = ("failing", "all", "none")


@dataclass(frozen=True)
class ReportOptions:
    annotate: str = "failing"  # failing | all | none
    results_only: bool = False  # only results.json: no pages, copies or summary


def _lock_path(outdir: Path) -> Path:
    return outdir.parent / f".{outdir.name}.lock"


def output_lock(outdir: Path, wait: float = 0.0) -> contextlib.AbstractContextManager[None]:
    """Hold OUTDIR for this run; a second run waits ``wait`` seconds, then gives up."""
    return hold(
        _lock_path(outdir),
        wait,
        lambda holder: (
            f"another auditor run ({holder}) is writing {outdir}; "
            "wait for it to finish, or choose another output folder"
        ),
    )


def check_outdir(outdir: Path) -> None:
    """Refuse, before any work, an OUTDIR that cannot be written or is not ours to replace."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"the output folder {outdir} cannot be written: it is a file")
    if outdir.is_dir() and any(outdir.iterdir()) and not (outdir / MARKER).exists():
        raise OutputError(
            f"the output folder {outdir} holds files the auditor did not write; "
            "choose a new or empty folder (the auditor replaces its output folder as a whole)"
        )
    parent = outdir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=parent, prefix=".auditor-probe-")
        os.close(handle)
        Path(probe).unlink()
    except OSError as error:
        raise OutputError(
            f"the output folder {outdir} cannot be written: {error.strerror or error}"
        ) from error


def _failing(file: FileResult, proposals: list[ProposalResult]) -> bool:
    return bool(file.findings) or any(p.findings for p in proposals)


# Pages and copies per job sent to a worker: enough to keep the pickling small
# next to the work, few enough to spread over the workers.
PAGES_PER_JOB = 100
COPIES_PER_JOB = 10


class ReportWriter:
    """Writes the reports of a run while it goes on, chunk by chunk.

    Proposal pages and annotated copies are made in worker processes as soon
    as a chunk of proposals is judged; ``finish`` writes what needs the whole
    batch (index.html, summary.xlsx, results.json) and swaps the finished
    report into place. Only small per-proposal results stay in memory.
    """

    def __init__(
        self,
        outdir: Path,
        run: RunContext,
        lang: str,
        options: ReportOptions = ReportOptions(),
        notes: Mapping[str, str] | None = None,
        workers: int | None = None,
        wait: float = 0.0,
        history: Mapping[tuple[str, str], Sequence[tuple[int, str, str]]] | None = None,
    ) -> None:
        """``history``: each proposal's verdicts in earlier runs (state/memory.py), by
        (file, proposal ID), for its page."""
        if options.annotate not in ANNOTATE_MODES:
            raise OutputError(f"--annotate must be one of {', '.join(ANNOTATE_MODES)}")
        check_outdir(outdir)
        self.outdir, self.run, self.lang, self.options = outdir, run, lang, options
        self.notes = dict(notes or {})
        self.history = history or {}
        self._lock = output_lock(outdir, wait)
        self._lock.__enter__()
        # Holding the lock, any staging folder of this OUTDIR is a killed run's.
        for stale in outdir.parent.glob(f".{outdir.name}.staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for previous in outdir.parent.glob(f".{outdir.name}.previous-*"):
            if outdir.exists():
                shutil.rmtree(previous, ignore_errors=True)
            else:  # killed in the middle of the swap: the previous report comes back
                previous.rename(outdir)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.staging-", dir=outdir.parent))
        self.out = Staging(self.staging)
        self.out.text(MARKER, "written by auditor; replaced as a whole on every run\n")
        self.links = Links()
        self._pages, self._copies = UniqueNames(), UniqueNames()
        count = workers or os.cpu_count() or 1
        self.pool = (
            None
            if options.results_only
            else ProcessPoolExecutor(max_workers=max(1, count), mp_context=worker_context())
        )
        self.futures: list[Future[Any]] = []
        self.entries = EntryCache()

    def add(self, chunk: Chunk) -> None:
        """Make the pages and annotated copies of a chunk of judged proposals."""
        if self.pool is None:
            self.entries.add(chunk.proposals, self.links)
            return
        if chunk.revised:  # the same names again: let earlier jobs for them finish first
            self._drain()
        by_file: dict[str, list[ProposalResult]] = {}
        for proposal in chunk.proposals:
            by_file.setdefault(proposal.file, []).append(proposal)
        copies = []
        for file in chunk.files:
            target = self._copy_name(file, by_file.get(file.file, []))
            if target is not None:
                copies.append(CopyJob(file.file, target, file, by_file.get(file.file, [])))
        rows = rows_by_proposal(chunk.partners, chunk.projects)
        pages = []
        for proposal in chunk.proposals:
            page = self.links.pages.get(proposal.key)
            if page is None:
                stem = safe_stem(proposal.proposal_id)
                page = self.links.pages[proposal.key] = (
                    f"proposals/{self._pages.take(stem, '.html')}"
                )
            pages.append(
                PageJob(
                    page,
                    proposal,
                    rows.get(proposal.key, ProposalRows({}, [])),
                    self.links.annotated.get(proposal.file),
                    self._history(proposal),
                )
            )
        folder = str(self.staging)
        for start in range(0, len(copies), COPIES_PER_JOB):
            some_copies = copies[start : start + COPIES_PER_JOB]
            self.futures.append(self.pool.submit(annotate_files, folder, self.lang, some_copies))
        for start in range(0, len(pages), PAGES_PER_JOB):
            some_pages = pages[start : start + PAGES_PER_JOB]
            self.futures.append(
                self.pool.submit(render_pages, folder, self.run, self.lang, self.notes, some_pages)
            )
        self.entries.add(chunk.proposals, self.links)

    def _history(self, proposal: ProposalResult) -> tuple[tuple[int | None, str, str], ...]:
        earlier = self.history.get((proposal.file, proposal.proposal_id), ())
        if not earlier and self.run.run_id is None:
            return ()
        now = (None, self.run.started_at, str(proposal.verdict))
        return (*earlier, now)

    def _copy_name(self, file: FileResult, proposals: list[ProposalResult]) -> str | None:
        known = self.links.annotated.get(file.file)
        if known is not None:
            return known
        if (
            self.options.annotate == "none"
            or file.verdict is Verdict.UNREADABLE
            or Path(file.file).suffix.lower() not in ANNOTATABLE
            or (self.options.annotate == "failing" and not _failing(file, proposals))
        ):
            return None
        relative = safe_relative(file.relative)
        name = f"annotated/{self._copies.take(str(relative.with_suffix('')), relative.suffix)}"
        self.links.annotated[file.file] = name
        return name

    def _drain(self) -> None:
        futures, self.futures = self.futures, []
        for future in futures:
            failed = future.result()
            for file, error in failed or []:
                self.links.annotated.pop(file, None)
                self.entries.forget_file(file)
                message = t("report.annotation_failed", self.lang, file=file, error=error)
                print(f"auditor: {message}", file=sys.stderr)

    def finish(self, result: AuditResult) -> Links:
        """Write the batch-wide reports and put the finished report in place."""
        try:
            if self.pool is not None:
                self._drain()
                self.pool.shutdown()
                self.out.text("index.html", render_index(index_context(result, self.links)))
                self.out.workbook("summary.xlsx", build_summary(result, self.links.annotated))
            self.out.text("results.json", render_json(result, self.links, self.entries))
            _swap(self.staging, self.outdir)
        except BaseException:
            self.abort()
            raise
        self._release()
        return self.links

    def abort(self) -> None:
        """Leave the previous report as it was."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None  # type: ignore[assignment]


def write_reports(
    result: AuditResult,
    outdir: Path,
    options: ReportOptions = ReportOptions(),
    notes: Mapping[str, str] | None = None,
    wait: float = 0.0,
    workers: int | None = None,
) -> Links:
    """Write results.json, index.html, proposals/, annotated/ and summary.xlsx for ``result``.

    ``result`` must have kept its rows (``audit(..., keep_rows=True)``, the default).
    """
    writer = ReportWriter(outdir, run_context(result), result.lang, options, notes, workers, wait)
    try:
        writer.add(
            Chunk(list(result.proposals), list(result.files), result.partners, result.projects)
        )
    except BaseException:
        writer.abort()
        raise
    return writer.finish(result)


def _swap(staging: Path, outdir: Path) -> None:
    """Put the finished report in place of the previous one."""
    if not outdir.exists():
        staging.rename(outdir)
        return
    previous = outdir.with_name(f".{outdir.name}.previous-{os.getpid()}")
    outdir.rename(previous)
    try:
        staging.rename(outdir)
    except OSError:
        previous.rename(outdir)
        raise
    shutil.rmtree(previous, ignore_errors=True)
