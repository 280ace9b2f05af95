"""Report work done in worker processes: proposal pages and annotated copies.

Each job gets plain data (results and rows), renders, and writes into the
staging folder, checking that every path stays inside it. Jobs return the
problems they met instead of raising, so one odd workbook never costs the
report.
"""

# Output paths are checked as strings (os.path): see Staging.path.
# ruff: noqa: PTH103, PTH118, PTH120

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.core.errors import OutputError
from auditor.core.results import FileResult, ProposalResult
from auditor.report.html import ProposalRows, RunContext, proposal_context, render_proposal


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
        return Path(target)

    def text(self, relative: str, text: str) -> None:
        self._replace(relative, lambda path: path.write_text(text, encoding="utf-8"))

    def workbook(self, relative: str, workbook: Any) -> None:
        self._replace(relative, workbook.save)

    def link(self, relative: str, previous: Path) -> bool:
        """Take a file unchanged from the previous report (a hard link; a copy across devices)."""
        target = self.path(relative)
        try:
            target.unlink(missing_ok=True)
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


@dataclass(frozen=True)
class PageJob:
    page: str  # relative to OUTDIR
    proposal: ProposalResult
    rows: ProposalRows
    annotated: str | None
    history: tuple[tuple[int, str, str], ...] = ()


@dataclass(frozen=True)
class CopyJob:
    source: str
    target: str  # relative to OUTDIR
    file: FileResult
    proposals: list[ProposalResult]


def render_pages(
    folder: str, run: RunContext, lang: str, notes: Mapping[str, str], jobs: Sequence[PageJob]
) -> None:
    out = Staging(Path(folder))
    for job in jobs:
        context = proposal_context(
            run, lang, job.proposal, job.rows, job.annotated, notes, job.history
        )
        out.text(job.page, render_proposal(context))


def annotate_files(folder: str, lang: str, jobs: Sequence[CopyJob]) -> list[tuple[str, str]]:
    """Write the annotated copies; return (file, error) for those openpyxl could not write."""
    from auditor.report.annotate import annotate  # openpyxl: only where copies are made

    out = Staging(Path(folder))
    failed = []
    for job in jobs:
        try:
            out.workbook(job.target, annotate(Path(job.source), job.file, job.proposals, lang))
        except OutputError:
            raise
        except Exception as error:  # openpyxl may refuse what calamine read: the report goes on
            failed.append((job.file.file, str(error) or type(error).__name__))
    return failed
