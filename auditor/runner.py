"""One audit run with its reports and its state: what the command line (and
the web application) call, so that neither repeats the lifecycle.

A run is a context manager. Entering it checks that the inputs, the report
folder and the state are apart and that the folder is the auditor's, and
opens the state (waiting for another run that holds it); leaving it closes
the state and so gives the lock back. ``execute`` audits, writes the reports
into a temporary folder that replaces the old one, and only then commits the
run to the state: a run killed before that leaves the state as the previous
run left it::

    with AuditRun(["inbox/"], Path("report"), AuditConfig(lang="nl")) as run:
        outcome = run.execute()
    print(outcome.result.summary)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from auditor import __version__
from auditor.api import audit, rows_of
from auditor.core.config import AuditConfig
from auditor.core.errors import NothingToAudit
from auditor.core.filenames import printable
from auditor.core.marker import read_marker
from auditor.core.places import check_places
from auditor.core.results import AuditResult
from auditor.report.html import RunContext
from auditor.report.names import Links
from auditor.report.outputs import ReportOptions, ReportWriter, check_outdir
from auditor.report.reuse import Output, Reuse
from auditor.rules.rulebook import load_rulebook
from auditor.state.memory import Memory
from auditor.state.store import busy, connect, default_state_path, state_id


@dataclass(frozen=True)
class Outcome:
    """What a run gives its caller: the result, and what the reports made of it."""

    result: AuditResult
    links: Links  # results.json's links to the reports
    # results.json's entries as written (``--format json`` prints them), kept in
    # a file until ``entries.close()`` or until the outcome is dropped.
    entries: Any
    linked: int  # pages and copies taken over from the previous report
    counts: Any | None  # the state's counts (hashed, read, reused ...), None without a state
    seconds: float
    notices: list[str] = field(default_factory=list)  # what the reports left out, and why


class AuditRun:
    """An audit of ``paths`` into ``outdir``, with a state unless ``state`` is False.

    ``state`` is the state file (default: beside ``outdir``); ``wait`` how
    long to wait for another run on the same state; ``on_wait(path)`` is
    told when another run holds it; ``labels`` shows a path's files under
    another name (the web application's inboxes: not where they lie).
    Unless ``allow_empty``, paths holding no workbook raise ``NothingToAudit``
    before anything is written (a nightly run over an unmounted share must
    not look like a quiet night). ``pdf``, ``letters`` and ``letter_template``:
    as ReportOptions has them (report/outputs.py).
    """

    def __init__(
        self,
        paths: Sequence[str],
        outdir: Path,
        config: AuditConfig,
        *,
        annotate: str = "failing",
        results_only: bool = False,
        state: Path | bool = True,
        wait: float = 300.0,
        rehash: bool = False,
        on_wait: Callable[[Path], None] | None = None,
        labels: Mapping[str, str] | None = None,
        allow_empty: bool = True,
        pdf: bool | None = None,
        letters: bool = True,
        letter_template: Path | None = None,
    ) -> None:
        self.paths, self.outdir, self.config = list(paths), outdir, config
        self.options = ReportOptions(
            annotate, results_only, config.limits, pdf, letters, letter_template
        )
        if state is True:
            self.state_path: Path | None = default_state_path(outdir)
        else:
            self.state_path = state or None
        self.wait, self.rehash, self.on_wait = wait, rehash, on_wait
        self.labels = dict(labels or {})
        self.allow_empty = allow_empty
        self.memory: Memory | None = None
        self.clock = time.monotonic()
        self.started = datetime.now().astimezone().isoformat(timespec="seconds")

    def __enter__(self) -> AuditRun:
        path = self.state_path
        # Before the state beside OUTDIR is made: nothing is written unless
        # the inputs, OUTDIR and the state are apart, and OUTDIR is ours.
        check_places(self.paths, self.outdir, path)
        check_outdir(self.outdir, None if path is None else _state_id_of(path), path)
        if path is not None:
            if busy(path) and self.on_wait is not None:
                self.on_wait(path)
            version = load_rulebook(self.config.rules_dirs, self.config.eche).version
            self.memory = Memory(
                path, self.config, version, self.wait, self.rehash, lazy_checks=True
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.memory is not None:
            self.memory.close()  # gives the state's lock back
            self.memory = None

    def execute(
        self,
        progress: Callable[[int], None] | None = None,
        on_files: Callable[[int], None] | None = None,
    ) -> Outcome:
        """Audit, write the reports, then commit the run to the state."""
        memory, config = self.memory, self.config
        book = load_rulebook(config.rules_dirs, config.eche)
        run_id = memory.run_id if memory else None
        context = RunContext(
            __version__,
            self.started,
            book.version,
            [printable(self.labels.get(p, p)) for p in self.paths],
            run_id,
            memory.state_id if memory else None,
        )
        writer = ReportWriter(
            self.outdir,
            context,
            config.lang,
            self.options,
            _action_notes(config),
            config.workers,
            self.wait,
            memory.history() if memory else None,
            _reuse(memory, self.outdir, config) if memory else None,
            self.state_path,
        )

        def found(count: int) -> None:
            if count == 0 and not self.allow_empty:
                shown = ", ".join(printable(self.labels.get(p, p)) for p in self.paths)
                raise NothingToAudit(
                    f"no workbook found in {shown}; no report was written "
                    "(--allow-empty audits an empty folder anyway)"
                )
            if on_files is not None:
                on_files(count)

        try:
            result = audit(
                self.paths,
                config,
                progress=progress,
                on_files=found,
                on_chunk=writer.add,
                keep_rows=False,
                memory=memory,
                chunk_rows=not self.options.results_only,
                started_at=self.started,
                reused_rows=memory is None,
                labels=self.labels,
            )
            if memory is not None:
                result = replace(result, run_id=run_id, changes=memory.changes(result))
        except BaseException:
            writer.abort()
            raise
        links = writer.finish(result)
        if memory is not None:
            # After the reports are in place: a run killed before this line
            # leaves the state as the previous run left it. (What the workbooks
            # said, not what the reports learnt: a copy that could not be made
            # is tried again next run.)
            ended = datetime.now().astimezone().isoformat(timespec="seconds")
            outputs = {name: astuple(o) for name, o in writer.outputs.items()}
            memory.relink(*writer.entries.changed())
            memory.commit(result, ended, time.monotonic() - self.clock, outputs)
        return Outcome(
            writer.result or result,
            links,
            writer.entries,
            writer.linked,
            memory.counts if memory else None,
            time.monotonic() - self.clock,
            writer.notices,
        )


def _reuse(memory: Memory, outdir: Path, config: AuditConfig) -> Reuse:
    """What the previous report can give an incremental run (report/reuse.py)."""
    folder = None
    found = read_marker(outdir)
    if (
        memory.previous is not None
        and found is not None
        and (found.run_id, found.state_id) == (memory.previous.id, memory.state_id)
    ):
        folder = outdir  # the report this state's last run wrote
    book = load_rulebook(config.rules_dirs, config.eche)
    return Reuse(
        folder,
        {name: Output(*fields) for name, fields in memory.outputs().items()},
        memory.salt,
        memory.stamp,
        lambda files: rows_of(files, memory, book, config),
        memory.complete,
    )


def _state_id_of(path: Path) -> str | None:
    """The identity of an existing state (None: none yet), to know OUTDIR is its own."""
    if not path.exists():
        return None
    db = connect(path, create=False)
    try:
        return state_id(db)
    finally:
        db.close()


def _action_notes(config: AuditConfig) -> dict[str, str]:
    """Each action's rule-set title, for the proposal pages.

    A rule set's note (how we read a conflicting source) is our working note:
    ``auditor explain`` gives it, the pages do not.
    """
    notes = {}
    for ruleset in load_rulebook(config.rules_dirs, config.eche).action_sets():
        for action in ruleset.actions:
            notes[f"title:{action}"] = ruleset.text("title", config.lang)
    return notes
