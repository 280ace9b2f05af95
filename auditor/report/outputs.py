"""Writing every report of a run into OUTDIR, all or nothing.

Reports are written to a staging folder beside OUTDIR and swapped into
place when complete, so a crash never leaves half a report, and a re-run
replaces the previous report of the same folder. OUTDIR holds a marker file;
a folder the auditor did not write is never replaced.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor.api import Chunk
from auditor.core.config import Limits
from auditor.core.errors import OutputError
from auditor.core.findings import FindingDraft, Verdict
from auditor.core.locks import hold
from auditor.core.marker import MARKER, marker_text, read_marker
from auditor.core.places import check_places
from auditor.core.results import AuditResult, FileResult, ProposalResult
from auditor.pool.processes import worker_context, worker_start
from auditor.report.files import FOLDER_MODE
from auditor.report.html import (
    ProposalRows,
    RunContext,
    index_context,
    render_index,
    rows_by_proposal,
    run_context,
)
from auditor.report.jobs import (
    CopyJob,
    PageJob,
    Staging,
    annotate_files,
    render_pages,
    write_summary_file,
)
from auditor.report.json import EntryCache, json_lines
from auditor.report.names import ANNOTATABLE, Links, UniqueNames, safe_relative, safe_stem
from auditor.report.printing import PrintJob, Renderers, letters_to_pdf, print_pages, renderers
from auditor.report.reuse import Output, Reuse
from auditor.rules.verdicts import with_file_findings

ANNOTATE_MODES = ("failing", "all", "none")


def _pdf_asked(option: bool | None) -> bool | None:
    """``--pdf``/``--no-pdf``, else AUDITOR_PDF (1 or 0), else None: where Chromium is found.

    The variable lets a machine that prints nothing worth keeping (a test run, a
    nightly job over thousands of proposals) say so once, not on every command.
    """
    if option is not None:
        return option
    setting = os.environ.get("AUDITOR_PDF", "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return None


@dataclass(frozen=True)
class ReportOptions:
    annotate: str = "failing"  # failing | all | none
    results_only: bool = False  # only results.json: no pages, copies or summary
    # The run's limits: a page or copy gets the time and memory a file gets.
    limits: Limits = field(default_factory=Limits)
    # PDFs of the pages and letters: True, False, or None: where a renderer is found.
    pdf: bool | None = None
    letters: bool = True  # a draft letter per ineligible proposal
    letter_template: Path | None = None  # an agency's (else the auditor's own)


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


def check_outdir(outdir: Path, state_id: str | None = None, state: Path | None = None) -> None:
    """Refuse, before any work, an OUTDIR that cannot be written or is not ours to replace.

    Ours: it carries the marker, and the marker names no state, this state
    (``state_id``), or a state file that is gone or is this run's own file
    made anew: two live states writing one folder would each take the
    other's pages for their own. A run without a state may replace any
    report folder (it links nothing from it).
    """
    if not outdir.absolute().name or outdir.absolute().resolve() == Path.cwd().resolve():
        raise OutputError(
            f"the output folder {outdir} is the current folder (or the root); the auditor "
            "replaces its output folder as a whole: name a folder of its own, such as -o out"
        )
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"the output folder {outdir} cannot be written: it is a file")
    if outdir.is_dir() and any(outdir.iterdir()):
        found = read_marker(outdir)
        if found is None:
            raise OutputError(
                f"the output folder {outdir} holds files the auditor did not write; "
                "choose a new or empty folder (the auditor replaces its output folder as a whole)"
            )
        other = found.state_path
        if (
            state is not None
            and found.state_id is not None
            and found.state_id != state_id
            and other is not None
            and Path(other).exists()
            and Path(other) != state.absolute()
        ):
            raise OutputError(
                f"the output folder {outdir} is the report of another state file ({other}); "
                f"run with --state {other}, or choose another output folder"
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


def _leftovers(outdir: Path, kind: str) -> list[Path]:
    """Staging or previous folders of OUTDIR left by a killed run (names compared as text:
    a folder named with glob characters must not match other runs' folders)."""
    prefix = f".{outdir.name}.{kind}-"
    try:
        names = os.listdir(outdir.parent)  # noqa: PTH208 (names only, compared as text)
    except OSError:
        return []
    return [outdir.parent / name for name in names if name.startswith(prefix)]


def _with_suffix(name: str, suffix: str) -> str:
    """``Path(name).with_suffix(suffix)``, as text: asked for every page of a run."""
    return os.path.splitext(name)[0] + suffix  # noqa: PTH122


def _failing(file: FileResult, proposals: list[ProposalResult]) -> bool:
    return bool(file.findings) or any(p.findings for p in proposals)


# Pages and copies per job sent to a worker: enough to keep the pickling small
# next to the work, few enough to spread over the workers.
PAGES_PER_JOB = 100
_NO_ROWS = ProposalRows({}, [])
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
        reuse: Reuse | None = None,
        state: Path | None = None,
    ) -> None:
        """``history``: each proposal's verdicts in earlier runs (state/memory.py), by
        (file, proposal ID), for its page; ``reuse``: what the previous report
        offers (report/reuse.py), in an incremental run; ``state``: the state
        file, proved apart from the inputs and OUTDIR with them."""
        if options.annotate not in ANNOTATE_MODES:
            raise OutputError(f"--annotate must be one of {', '.join(ANNOTATE_MODES)}")
        check_places(run.inputs, outdir, state)
        check_outdir(outdir, run.state_id, state)
        self.outdir, self.run, self.lang, self.options = outdir, run, lang, options
        self.notes = dict(notes or {})
        self.history = history or {}
        self.reuse = reuse
        # With a state, pages carry the run of each verdict in their history,
        # not this run's time: an unchanged proposal's page stays the same.
        self.page_run = replace(run, started_at="") if run.run_id is not None else run
        self._lock = output_lock(outdir, wait)
        self._lock.__enter__()
        # Holding the lock, any staging folder of this OUTDIR is a killed run's.
        for stale in _leftovers(outdir, "staging"):
            shutil.rmtree(stale, ignore_errors=True)
        for previous in _leftovers(outdir, "previous"):
            if outdir.exists():
                shutil.rmtree(previous, ignore_errors=True)
            else:  # killed in the middle of the swap: the previous report comes back
                previous.rename(outdir)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.staging-", dir=outdir.parent))
        self.staging.chmod(FOLDER_MODE)  # it becomes OUTDIR: as the umask says, not private
        self.out = Staging(self.staging)
        state_path = str(state.absolute()) if state is not None and run.state_id else None
        self.out.text(MARKER, marker_text(run.run_id, run.state_id, state_path))
        self.links = Links()
        self._pages, self._copies = UniqueNames(), UniqueNames()
        if reuse is not None:  # last run's names stay theirs
            for name, output in reuse.outputs.items():
                if output.kind == "page":
                    self._pages.reserve(name.removeprefix("proposals/"))
                else:
                    self._copies.reserve(name.removeprefix("annotated/"))
        self._named: set[str] = set()
        self.outputs: dict[str, Output] = {}
        # Pages and copies taken from the previous report (and not made again
        # later in the run: a proposal revised at the end gets a new page).
        self._linked: set[str] = set()
        # What the report will hold besides pages and copies: PDFs where a
        # renderer is found (a run that asked for them fails here, before any
        # work, without one), letters from a template checked before any work.
        self.notices: list[str] = []
        self.renderers = Renderers(None, None)
        asked = _pdf_asked(options.pdf)
        self.want_pdf = not options.results_only and asked is not False
        if self.want_pdf:
            self.renderers = renderers()
            if self.renderers.chromium is None:
                if asked:
                    raise OutputError(f"--pdf: {self.renderers.why_no_chromium}")
                self.notices.append(f"no PDFs: {self.renderers.why_no_chromium}")
        self.letters = options.letters and not options.results_only
        template = options.letter_template
        self.template = None if template is None else str(template.resolve())
        template_hash = ""
        if template is not None and self.letters:
            from auditor.report.letters import read_template  # docx only when asked

            template_hash = hashlib.sha256(read_template(template)).hexdigest()
        # Part of every page's fingerprint: a page taken from the previous
        # report brings its PDF and letter, made the same way.
        self.extras = f"pdf={self.printing};letters={self.letters};{template_hash}"
        self._printed: list[str] = []  # pages made this run, to print
        self._letters: list[str] = []  # letters made this run
        count = workers or os.cpu_count() or 1
        self.workers = max(1, count)
        self.pool = (
            None
            if options.results_only
            else ProcessPoolExecutor(
                max_workers=max(1, count),
                mp_context=worker_context(),
                initializer=worker_start,
                initargs=(options.limits.max_memory_bytes,),
            )
        )
        # Files whose annotated copy could not be made: the params of their finding.
        self.failed: dict[str, dict[str, Any]] = {}
        self.futures: list[Future[Any]] = []
        self._running: set[Future[Any]] = set()
        self.most_running = 4 * max(1, count)
        self.entries = EntryCache(spool=self.staging)
        self.result: AuditResult | None = None

    @property
    def printing(self) -> bool:
        return self.renderers.chromium is not None

    def add(self, chunk: Chunk) -> None:
        """Make the pages and annotated copies of a chunk of judged proposals."""
        self.entries.add_files(chunk.files, chunk.file_texts, chunk.file_held)
        if self.pool is None:
            self.entries.add(chunk.proposals, chunk.texts, chunk.held)
            return
        if chunk.revised:  # the same names again: let earlier jobs for them finish first
            self._drain()
        by_file: dict[str, list[ProposalResult]] = {}
        for proposal in chunk.proposals:
            by_file.setdefault(proposal.file, []).append(proposal)
        targets = {}
        for file in chunk.files:
            target = self._copy_name(file, by_file.get(file.file, []))
            if target is not None:
                targets[file.file] = target
        for proposal in chunk.proposals:
            self._page_name(proposal)
        self.entries.add(chunk.proposals, chunk.texts, chunk.held)
        paths = chunk.paths or {}
        copies = [
            CopyJob(
                paths.get(file.file, file.file),
                targets[file.file],
                file,
                by_file.get(file.file, []),
            )
            for file in chunk.files
            if file.file in targets and not self._taken(file, by_file.get(file.file, []))
        ]
        wanting: list[PageJob] = []
        for proposal in chunk.proposals:
            history = self._history(proposal)
            page = self.links.pages[proposal.key]
            letter = self._letter_name(proposal)
            if not self._page_taken(proposal, history, letter):
                annotated = self.links.annotated.get(proposal.file)
                pdf = f"{Path(page).stem}.pdf" if self.printing else None
                wanting.append(PageJob(page, proposal, _NO_ROWS, annotated, history, pdf, letter))
                self._printed.append(page)
                if letter is not None:
                    self._letters.append(letter)
        pages = self._with_rows(chunk, wanting)
        self._linked.difference_update(job.page for job in pages)
        self._linked.difference_update(job.target for job in copies)
        folder = str(self.staging)
        for start in range(0, len(copies), COPIES_PER_JOB):
            some_copies = copies[start : start + COPIES_PER_JOB]
            self._submit(annotate_files, folder, self.lang, some_copies, self.options.limits)
        for start in range(0, len(pages), PAGES_PER_JOB):
            some_pages = pages[start : start + PAGES_PER_JOB]
            self._submit(
                render_pages,
                folder,
                self.page_run,
                self.lang,
                self.notes,
                some_pages,
                self.options.limits,
                self.template,
            )

    @property
    def linked(self) -> int:
        """How many pages and copies this run took from the previous report."""
        return len(self._linked)

    def _submit(self, function: Callable[..., Any], *arguments: Any) -> None:
        """Hand a job to the pool once it has room.

        Reading outruns writing (an annotated copy costs more than reading
        its workbook): unchecked, every page's rows would wait here in
        memory. Holding the caller back holds the readers back too.
        """
        assert self.pool is not None
        while len(self._running) >= self.most_running:
            self._running = wait(self._running, return_when=FIRST_COMPLETED).not_done
        future = self.pool.submit(function, *arguments)
        self._running.add(future)
        self.futures.append(future)

    def _with_rows(self, chunk: Chunk, jobs: list[PageJob]) -> list[PageJob]:
        """Page jobs with their proposal's rows: from the chunk, or fetched (results reused)."""
        if not jobs:
            return []
        if chunk.partners is not None:
            rows = rows_by_proposal(chunk.partners, chunk.projects)
        elif self.reuse is not None:
            rows = rows_by_proposal(*self.reuse.rows(sorted({j.proposal.file for j in jobs})))
            complete = self.reuse.complete
            jobs = [replace(j, proposal=complete(j.proposal)) for j in jobs]
        else:
            rows = {}
        return [replace(j, rows=rows.get(j.proposal.key, _NO_ROWS)) for j in jobs]

    def _page_name(self, proposal: ProposalResult) -> str:
        page = self.links.pages.get(proposal.key)
        if page is None:
            known = (
                self.reuse.pages.get((proposal.file, proposal.proposal_id)) if self.reuse else None
            )
            if known is None or known in self._named:
                known = f"proposals/{self._pages.take(safe_stem(proposal.proposal_id), '.html')}"
            self._named.add(known)
            page = self.links.pages[proposal.key] = known
        return page

    def _letter_name(self, proposal: ProposalResult) -> str | None:
        """The draft letter of an ineligible proposal: named as its page is."""
        if not self.letters or proposal.verdict is not Verdict.INELIGIBLE:
            return None
        return f"letters/{Path(self.links.pages[proposal.key]).stem}.docx"

    def _page_taken(
        self, proposal: ProposalResult, history: tuple[Any, ...], letter: str | None
    ) -> bool:
        """Record the page's fingerprint; link the previous one if it is the same
        (with its PDF and letter, made from the same things)."""
        if self.reuse is None:
            return False
        page = self.links.pages[proposal.key]
        parts = (page, self.entries.fingerprint(proposal, self.links), repr(history), self.extras)
        fingerprint = self.reuse.fingerprint(proposal.file, parts)
        self.outputs[page] = Output("page", proposal.file, proposal.proposal_id, fingerprint)
        if letter is not None and self.reuse.file(letter) is None:
            return False  # its letter is gone: page and letter are made again together
        if not self._link(page, fingerprint):
            return False
        companions = [_with_suffix(page, ".pdf")] if self.printing else []
        if letter is not None:
            companions += [letter, _with_suffix(letter, ".pdf")]
        for companion in companions:
            previous = self.reuse.file(companion)
            if previous is None or not self.out.link(companion, previous):
                # Printed again from what was linked: the page's PDF from the
                # page, the letter's PDF from the letter.
                if companion.startswith("proposals/"):
                    self._printed.append(page)
                elif letter is not None:
                    self._letters.append(letter)
        return True

    def _taken(self, file: FileResult, proposals: list[ProposalResult]) -> bool:
        """Record the copy's fingerprint; link the previous one if it is the same."""
        if self.reuse is None:
            return False
        target = self.links.annotated[file.file]
        parts = [
            target,
            self.entries.file_fingerprint(file, self.links),
            *(self.entries.fingerprint(p, self.links) for p in proposals),
        ]
        fingerprint = self.reuse.fingerprint(file.file, parts)
        self.outputs[target] = Output("copy", file.file, "", fingerprint)
        return self._link(target, fingerprint)

    def _link(self, name: str, fingerprint: str) -> bool:
        previous = self.reuse.previous(name, fingerprint) if self.reuse else None
        if previous is None or not self.out.link(name, previous):
            return False
        self._linked.add(name)
        return True

    def _history(self, proposal: ProposalResult) -> tuple[tuple[int, str, str], ...]:
        """The verdicts of the proposal where they changed, this run's last if it is a change."""
        if self.run.run_id is None:
            return ()
        earlier = tuple(self.history.get((proposal.file, proposal.proposal_id), ()))
        verdict = str(proposal.verdict)
        if earlier and earlier[-1][2] == verdict:
            return earlier
        return (*earlier, (self.run.run_id, self.run.started_at, verdict))

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
        previous = self.reuse.copies.get(file.file) if self.reuse else None
        if previous is not None and previous not in self._named:
            name = previous
        else:
            relative = safe_relative(file.relative)
            stem, suffix = str(relative.with_suffix("")), relative.suffix
            name = f"annotated/{self._copies.take(stem, suffix)}"
        self._named.add(name)
        self.links.annotated[file.file] = name
        return name

    def _drain(self) -> None:
        futures, self.futures = self.futures, []
        for future in futures:
            failed = future.result()
            for item in failed or []:
                if isinstance(item, str):  # a letter not made (render_pages)
                    self.notices.append(f"letter not written: {item}")
                    continue
                file, why = item
                self.outputs.pop(self.links.annotated.pop(file, ""), None)
                self.failed[file] = why

    def finish(self, result: AuditResult) -> Links:
        """Write the batch-wide reports and put the finished report in place.

        The result the reports show is ``self.result``: ``result`` with a
        finding on each file whose annotated copy could not be made.
        """
        try:
            if self.pool is not None:
                self._drain()
                drafts = {
                    file: [FindingDraft("annotation-failed", params=why)]
                    for file, why in self.failed.items()
                }
                result = self.result = with_file_findings(result, drafts)
                # openpyxl writes summary.xlsx in a worker (most of its time,
                # for a large batch) while this process writes the index and
                # results.json.
                from auditor.report.summary import summary_sheets  # openpyxl: only for this

                sheets = summary_sheets(result, self.links.annotated)
                summary = self.pool.submit(write_summary_file, str(self.out.folder), sheets)
                index = index_context(result, self.links, self.outdir)
                if self.printing:
                    index = replace(index, pdf="index.pdf")
                self.out.text("index.html", render_index(index))
                self.out.lines("results.json", json_lines(result, self.links, self.entries))
                summary.result()  # its failure is the run's, as any write's
                self.pool.shutdown()
                self._print()
            else:
                self.out.lines("results.json", json_lines(result, self.links, self.entries))
            self.result = result
            _swap(self.staging, self.outdir)
        except BaseException:
            self.abort()
            raise
        self._release()
        return self.links

    def _print(self) -> None:
        """PDFs of the index and of the pages made this run; the letters' PDFs.

        LibreOffice turns the letters while Chromium prints the pages: two
        programs, each mostly on one core (one after the other took their sum).
        """
        timeout = self.options.limits.timeout
        with concurrent.futures.ThreadPoolExecutor(1) as aside:
            letters = aside.submit(self._letters_to_pdf, timeout)
            chromium = self.renderers.chromium
            if chromium is not None:
                jobs = [
                    PrintJob(
                        self.out.path(name), self.out.path(str(Path(name).with_suffix(".pdf")))
                    )
                    for name in ["index.html", *dict.fromkeys(self._printed)]
                ]
                for problem in print_pages(chromium, jobs, 2 * self.workers, timeout):
                    self.notices.append(f"PDF not written: {problem}")
            self.notices.extend(letters.result())

    def _letters_to_pdf(self, timeout: float) -> list[str]:
        """The letters' PDFs; what went wrong, as notices."""
        letters = [self.out.path(name) for name in dict.fromkeys(self._letters)]
        letters = [path for path in letters if path.is_file()]
        if not self.want_pdf or not letters:
            return []
        soffice = self.renderers.soffice
        if soffice is None:
            return [f"letters without PDF: {self.renderers.why_no_soffice}"]
        return [
            f"PDF not written: {problem}" for problem in letters_to_pdf(soffice, letters, timeout)
        ]

    def abort(self) -> None:
        """Leave the previous report as it was."""
        self.entries.close()
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
    try:
        return writer.finish(result)
    finally:
        writer.entries.close()


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
