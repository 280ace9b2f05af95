"""Writing every report of a run into OUTDIR, all or nothing.

Reports are written to a staging folder beside OUTDIR and swapped into
place when complete, so a crash never leaves half a report, and a re-run
replaces the previous report of the same folder. OUTDIR holds a marker file;
a folder the auditor did not write is never replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.core.errors import OutputError
from auditor.core.findings import Verdict
from auditor.core.results import AuditResult, FileResult, ProposalResult
from auditor.report.annotate import ANNOTATABLE, annotate
from auditor.report.html import index_context, proposal_context, render_index, render_proposal
from auditor.report.i18n import t
from auditor.report.json import render_json
from auditor.report.names import Links, UniqueNames, safe_relative, safe_stem
from auditor.report.summary import build_summary

MARKER = ".auditor-report"
ANNOTATE_MODES = ("failing", "all", "none")


@dataclass(frozen=True)
class ReportOptions:
    annotate: str = "failing"  # failing | all | none


def _lock_path(outdir: Path) -> Path:
    return outdir.parent / f".{outdir.name}.lock"


@contextlib.contextmanager
def output_lock(outdir: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold OUTDIR for this run; a second run waits ``wait`` seconds, then gives up.

    The lock is an advisory ``flock`` on a file beside OUTDIR, released by the
    system when the process ends, however it ends.
    """
    outdir.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with _lock_path(outdir).open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise OutputError(
                        f"another auditor run ({holder}) is writing {outdir}; "
                        "wait for it to finish, or choose another output folder"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def plan_links(result: AuditResult, options: ReportOptions) -> Links:
    pages, names = {}, UniqueNames()
    for proposal in result.proposals:
        pages[proposal.key] = f"proposals/{names.take(safe_stem(proposal.proposal_id), '.html')}"
    annotated, paths = {}, UniqueNames()
    by_file = _proposals_by_file(result)
    for file in result.files:
        if (
            options.annotate == "none"
            or file.verdict is Verdict.UNREADABLE
            or Path(file.file).suffix.lower() not in ANNOTATABLE
            or (options.annotate == "failing" and not _failing(file, by_file.get(file.file, [])))
        ):
            continue
        relative = safe_relative(file.relative)
        stem = str(relative.with_suffix(""))
        annotated[file.file] = f"annotated/{paths.take(stem, relative.suffix)}"
    return Links(pages=pages, annotated=annotated)


def _proposals_by_file(result: AuditResult) -> dict[str, list[ProposalResult]]:
    grouped: dict[str, list[ProposalResult]] = {}
    for proposal in result.proposals:
        grouped.setdefault(proposal.file, []).append(proposal)
    return grouped


def write_reports(
    result: AuditResult,
    outdir: Path,
    options: ReportOptions = ReportOptions(),
    notes: Mapping[str, str] | None = None,
    wait: float = 0.0,
) -> Links:
    """Write results.json, index.html, proposals/, annotated/ and summary.xlsx into ``outdir``."""
    if options.annotate not in ANNOTATE_MODES:
        raise OutputError(f"--annotate must be one of {', '.join(ANNOTATE_MODES)}")
    check_outdir(outdir)
    with output_lock(outdir, wait):
        staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.staging-", dir=outdir.parent))
        try:
            links = _write_all(result, staging, options, notes or {})
            _swap(staging, outdir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return links


class _Staging:
    """The only way reports reach the disk: inside the staging folder, nowhere else.

    Every output path is checked to lie within the folder, so no renderer bug
    or hostile name can make the auditor write next to (or over) an input.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()

    def path(self, relative: str) -> Path:
        target = (self.folder / relative).resolve()
        if not target.is_relative_to(self.folder):
            raise OutputError(f"refusing to write outside the report folder: {relative}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def text(self, relative: str, text: str) -> None:
        self.path(relative).write_text(text, encoding="utf-8")

    def workbook(self, relative: str, workbook: Any) -> None:
        workbook.save(self.path(relative))


def _write_all(
    result: AuditResult, folder: Path, options: ReportOptions, notes: Mapping[str, str]
) -> Links:
    out = _Staging(folder)
    out.text(MARKER, "written by auditor; replaced as a whole on every run\n")
    links = plan_links(result, options)
    by_file = _proposals_by_file(result)
    for file in result.files:
        target = links.annotated.get(file.file)
        if target is None:
            continue
        try:
            copy = annotate(Path(file.file), file, by_file.get(file.file, []), result.lang)
            out.workbook(target, copy)
        except Exception as error:  # openpyxl may refuse what calamine read: the report goes on
            print(
                "auditor: "
                + t("report.annotation_failed", result.lang, file=file.file, error=error),
                file=sys.stderr,
            )
            links.annotated.pop(file.file)
    for proposal in result.proposals:
        page = proposal_context(result, proposal, links, notes)
        out.text(links.pages[proposal.key], render_proposal(page))
    out.text("index.html", render_index(index_context(result, links)))
    out.workbook("summary.xlsx", build_summary(result, links.annotated))
    out.text("results.json", render_json(result, links))
    return links


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
