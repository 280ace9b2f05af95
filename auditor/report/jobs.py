"""Report work done in worker processes: proposal pages and annotated copies.

Each job gets plain data (results and rows), renders, and writes into the
staging folder, checking that every path stays inside it. Jobs return the
problems they met instead of raising, so one odd workbook never costs the
report.
"""

# Output paths are checked as strings (os.path): see Staging.place.
# ruff: noqa: PTH103, PTH108, PTH118, PTH120

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from auditor.core.config import Limits
from auditor.core.errors import OutputError
from auditor.core.results import FileResult, ProposalResult
from auditor.report.html import ProposalRows, RunContext, proposal_context, render_proposal

_NO_ROWS = ProposalRows({}, [])
DEFAULT_LIMITS = Limits()


class Staging:
    """The only way reports reach the disk: inside the staging folder, nowhere else.

    Every output path is checked to lie within the folder, so no renderer bug
    or hostile name can make the auditor write next to (or over) an input.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self._inside = os.path.join(str(self.folder), "")
        self._made: set[str] = set()

    def path(self, relative: str) -> Path:
        return Path(self.place(relative))

    def place(self, relative: str) -> str:
        """Where ``relative`` goes, as text (a report links ten thousand files: path
        objects cost more than the links)."""
        # Normalised as text: the staging folder is the auditor's own and holds
        # no symbolic links, so ``..`` is all a name could escape with (and
        # resolving every one of ten thousand paths costs a system call per
        # folder on the way).
        target = os.path.normpath(os.path.join(self._inside, relative))
        if not target.startswith(self._inside):
            raise OutputError(f"refusing to write outside the report folder: {relative}")
        parent = os.path.dirname(target)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        return target

    def text(self, relative: str, text: str) -> None:
        self._replace(relative, lambda path: path.write_text(text, encoding="utf-8"))

    def lines(self, relative: str, pieces: Iterable[str]) -> None:
        """A text file written piece by piece, never held whole."""

        def write(path: Path) -> None:
            with path.open("w", encoding="utf-8", newline="") as stream:
                stream.writelines(pieces)

        self._replace(relative, write)

    def data(self, relative: str, data: bytes) -> None:
        self._replace(relative, lambda path: path.write_bytes(data))

    def file(self, relative: str, write: Callable[[Path], object]) -> None:
        """A file written by ``write(path)`` (a library that saves to a path of its own:
        an openpyxl workbook's ``save``)."""
        self._replace(relative, write)

    def link(self, relative: str, previous: str | Path) -> bool:
        """Take a file unchanged from the previous report (a hard link; a copy across devices)."""
        target = self.place(relative)
        try:
            try:
                os.link(previous, target)
            except FileExistsError:  # made earlier in this run: replaced, not written through
                os.unlink(target)
                os.link(previous, target)
        except OSError:
            try:
                shutil.copyfile(previous, target)
            except OSError:
                return False
        return True

    def _replace(self, relative: str, write: Callable[[Path], object]) -> None:
        # Written beside and renamed over: a file taken from the previous report
        # by a hard link is replaced, never written through.
        target = self.path(relative)
        scratch = target.with_name(f".{target.name}.part")
        write(scratch)
        scratch.replace(target)

    def discard(self, relative: str) -> None:
        """Remove what a failed write left of ``relative`` (its scratch file); never raises."""
        with contextlib.suppress(Exception):
            target = self.path(relative)
            target.with_name(f".{target.name}.part").unlink()


class Overdue(Exception):
    """A page or copy ran over its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Overdue in this (worker) process once ``seconds`` have passed (0: no limit).

    Pages and copies are written in worker processes, each in its main
    thread, where the signal lands; openpyxl and jinja2 are Python code, so
    the exception comes at the next instruction. An exception raised while a
    finaliser or a garbage-collector callback runs is swallowed by Python, so
    the timer repeats until the block is left.
    """
    if not seconds:
        yield
        return
    armed = [True]

    def expired(signum: int, frame: object) -> None:
        if armed[0]:
            raise Overdue

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class PageJob:
    page: str  # relative to OUTDIR
    proposal: ProposalResult
    rows: ProposalRows
    annotated: str | None
    history: tuple[tuple[int, str, str], ...] = ()
    pdf: str | None = None  # the PDF the page will have, relative to the page
    letter: str | None = None  # the draft letter to write, relative to OUTDIR


@dataclass(frozen=True)
class CopyJob:
    source: str
    target: str  # relative to OUTDIR
    file: FileResult
    proposals: list[ProposalResult]


def render_pages(
    folder: str,
    run: RunContext,
    lang: str,
    notes: Mapping[str, str],
    jobs: Sequence[PageJob],
    limits: Limits = DEFAULT_LIMITS,
    letter_template: str | None = None,
) -> list[str]:
    """Write the pages (and letters) of ``jobs``; return the letters not made, with why.

    ``letter_template``: an agency's template (else the auditor's own).
    """
    out = Staging(Path(folder))
    problems: list[str] = []
    for job in jobs:
        try:
            with time_limit(limits.timeout):
                context = proposal_context(
                    run,
                    lang,
                    job.proposal,
                    job.rows,
                    job.annotated,
                    notes,
                    job.history,
                    job.pdf,
                    job.letter,
                )
                page = render_proposal(context)
        except (Overdue, MemoryError):
            # The page says what it could not show; the findings are in results.json.
            context = proposal_context(run, lang, job.proposal, _NO_ROWS, None, notes, job.history)
            page = render_proposal(replace(context, findings=[], incomplete=True))
        out.text(job.page, page)
        if job.letter is not None:
            problem = _write_letter(out, job, run, lang, notes, limits, letter_template)
            if problem:
                problems.append(problem)
    return problems


def _write_letter(
    out: Staging,
    job: PageJob,
    run: RunContext,
    lang: str,
    notes: Mapping[str, str],
    limits: Limits,
    template: str | None,
) -> str | None:
    from auditor.report.letters import letter_context, render_letter

    assert job.letter is not None
    try:
        with time_limit(limits.timeout):
            context = letter_context(
                job.proposal,
                job.rows.partners,
                lang,
                notes.get(f"title:{job.proposal.action}"),
                run.started_at,
            )
            data = render_letter(_letter_template(template, lang), context)
            out.data(job.letter, data)
    except OutputError:
        raise
    except Exception as error:  # one letter that will not render costs only that letter
        out.discard(job.letter)
        return f"{job.letter}: {str(error) or type(error).__name__}"
    return None


@functools.cache
def _letter_template(path: str | None, lang: str) -> bytes:
    from auditor.report.letters import letter_template

    return Path(path).read_bytes() if path else letter_template(lang)


def annotate_files(
    folder: str, lang: str, jobs: Sequence[CopyJob], limits: Limits = DEFAULT_LIMITS
) -> list[tuple[str, dict[str, Any]]]:
    """Write the annotated copies; return (file, why) for those not made.

    ``why`` is the params of an ``annotation-failed`` finding.
    """
    from auditor.report.annotate import annotate  # openpyxl: only where copies are made

    out = Staging(Path(folder))
    failed: list[tuple[str, dict[str, Any]]] = []
    for job in jobs:
        try:
            with time_limit(limits.timeout):
                copy = annotate(Path(job.source), job.file, job.proposals, lang)
                out.file(job.target, copy.save)
        except OutputError:
            raise
        except Overdue:
            failed.append((job.file.file, {"variant": "timeout", "limit": f"{limits.timeout:g}"}))
        except MemoryError:
            limit_mb = round(limits.max_memory_bytes / 1_000_000)
            failed.append((job.file.file, {"variant": "memory", "limit_mb": limit_mb}))
        except Exception as error:  # openpyxl may refuse what calamine read: the report goes on
            failed.append((job.file.file, {"detail": str(error) or type(error).__name__}))
        out.discard(job.target)
    return failed


def write_summary_file(folder: str, sheets: Sequence[Any]) -> None:
    """Write summary.xlsx from its sheets (report/summary.py SummarySheet)."""
    from auditor.report.summary import write_summary  # openpyxl: only where it is written

    Staging(Path(folder)).file("summary.xlsx", lambda path: write_summary(sheets, path))
