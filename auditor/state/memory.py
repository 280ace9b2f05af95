"""An incremental run: what can be taken from the state, and what the run adds to it.

``Memory`` is handed to :func:`auditor.api.audit`. Before reading, it sorts
the inbox (``plan``):

- a file whose size and modification time are as remembered, or whose
  SHA-256 is (it was touched or copied, not changed), is *unchanged*;
- an unchanged file judged with the same rules, tool and language keeps its
  stored results (*reused*), or, when the reports need its rows, is judged
  again from its cached rows;
- an unchanged file judged with other rules is judged again from its cached
  rows (*re-judged*), without opening the workbook;
- everything else is *read*.

As judged chunks arrive, their files' parsed rows and results are written
into the state (``remember``); at the end the run's conclusions are compared
with the previous run's (``changes``) and everything is committed in one
transaction (``commit``), after the reports are in place.
"""

# Paths are strings handled with os.path, as in read/discover.py: a nightly
# inbox holds tens of thousands of files.
# ruff: noqa: PTH100, PTH116

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor.core.config import AuditConfig
from auditor.core.results import AuditResult, FileResult, ProposalResult
from auditor.core.version import VERSION
from auditor.read.discover import InputFile
from auditor.state.blobs import pack_judged, unpack
from auditor.state.changes import Changes, Observation, ProposalKey, RunRef, Snapshot, compare
from auditor.state.store import connect, lock

# Bytes hashed at a time: files are hashed without being held in memory whole.
HASH_BLOCK = 1 << 20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def rekey(key: str, index: int) -> str:
    """A proposal key ("<file index>:<n>") for the file's place in this run."""
    return f"{index}:{key.partition(':')[2]}"


@dataclass(frozen=True, slots=True)
class Stamp:
    """What identifies a file's content: size and modification time, and its hash."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True, slots=True)
class _Known:
    display: str
    stamp: Stamp
    read_key: str
    judge_key: str
    has_content: bool
    withdrawn: bool


@dataclass
class Plan:
    """The inbox sorted: files to read, files to judge from their cached rows, files reused."""

    read: list[InputFile] = field(default_factory=list)
    rejudge: list[InputFile] = field(default_factory=list)
    reuse: list[InputFile] = field(default_factory=list)
    hashed: int = 0


@dataclass
class _Counts:
    hashed: int = 0  # files whose size or time moved, or that are new: hashed
    read: int = 0
    rejudged: int = 0
    reused: int = 0
    withdrawn: int = 0


class Memory:
    """The state of one inbox, held for the length of a run (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        config: AuditConfig,
        rules_version: str,
        wait: float = 0.0,
        rehash: bool = False,
        lazy_checks: bool = False,
    ) -> None:
        """``lazy_checks``: reused proposals come without their rule checks until
        ``complete`` adds them (their results.json entries have them): what the
        command line does, to keep a nightly run short."""
        self.path = path
        self.rehash = rehash
        self.lazy_checks = lazy_checks
        self._light: dict[str, tuple[str, int]] = {}  # key -> (path, position)
        self._moved: list[str] = []  # unchanged files whose record needs its stamp updated
        self._now: Snapshot | None = None
        # What the stored rows depend on: the reader and its limits; what the
        # stored results depend on: the rules, the tool and the language.
        self.read_key = f"{VERSION}|{config.reader}|{config.limits!r}"
        self.judge_key = f"{rules_version}|{VERSION}|{config.lang}"
        self._lock = lock(path, wait)
        self._lock.__enter__()
        try:
            self.db = connect(path)
            self.previous = self._previous_run()
            self.run_id = (self.previous.id if self.previous else 0) + 1
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self.counts = _Counts()
        self._stamps: dict[str, Stamp] = {}  # absolute path -> stamp, this run
        self._seen: set[str] = set()
        self.items: dict[str, InputFile] = {}  # display path -> file, this run
        # What every report output of this state depends on besides its inputs.
        self.salt = f"{self.judge_key}|{self.read_key}"

    # -- before reading ------------------------------------------------------

    def _previous_run(self) -> RunRef | None:
        row = self.db.execute("SELECT id, started_at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return RunRef(row[0], row[1]) if row else None

    def plan(self, items: Sequence[InputFile], rows: bool) -> Plan:
        """Sort ``items`` (see the module docstring).

        ``rows``: the reports need every file's rows, so stored results alone
        do not do.
        """
        known = {
            path: _Known(
                display, Stamp(size, mtime, digest), read, judge, bool(content), bool(gone)
            )
            for path, display, size, mtime, digest, read, judge, content, gone in self.db.execute(
                "SELECT path, display, size, mtime_ns, sha256, read_key, judge_key,"
                " content IS NOT NULL, withdrawn_run IS NOT NULL FROM files"
            )
        }
        plan = Plan()
        self.items = {item.display: item for item in items}
        for item in items:
            path = os.path.abspath(item.path)
            self._seen.add(path)
            record = known.get(path)
            stamp = self._stamp(item, record, plan)
            if stamp is None:  # vanished since discovery: reading it gives the finding
                plan.read.append(item)
                continue
            self._stamps[path] = stamp
            if record is not None and (record.stamp != stamp or record.withdrawn):
                self._moved.append(path)  # touched, or back in the inbox
            if record is None or record.stamp.sha256 != stamp.sha256:
                plan.read.append(item)
            elif record.judge_key == self.judge_key and not rows and record.display == item.display:
                plan.reuse.append(item)  # (results name their file as the command line did)
            elif record.has_content and record.read_key == self.read_key:
                plan.rejudge.append(item)
            else:
                plan.read.append(item)
        self.counts.hashed = plan.hashed
        self.counts.read = len(plan.read)
        self.counts.rejudged = len(plan.rejudge)
        self.counts.reused = len(plan.reuse)
        return plan

    def _stamp(self, item: InputFile, record: _Known | None, plan: Plan) -> Stamp | None:
        try:
            status = os.stat(item.path)
        except OSError:
            return None
        if (
            record is not None
            and not self.rehash
            and (status.st_size, status.st_mtime_ns) == (record.stamp.size, record.stamp.mtime_ns)
        ):
            return record.stamp  # as make and rsync do: same size and time, same file
        plan.hashed += 1
        try:
            digest = sha256(item.path)
        except OSError:
            return None
        return Stamp(status.st_size, status.st_mtime_ns, digest)

    def cached_content(self, item: InputFile) -> Any:
        """The parsed rows of an unchanged file (read/workbook.py FileContent), for this run.

        None if the state holds none for it.
        """
        from auditor.read.workbook import rekey_content

        row = self.db.execute(
            "SELECT content FROM files WHERE path = ?", (os.path.abspath(item.path),)
        ).fetchone()
        return rekey_content(unpack(row[0]), item) if row and row[0] is not None else None

    def stamp(self, display: str) -> str | None:
        """The content hash of a file of this run."""
        item = self.items.get(display)
        stamp = self._stamps.get(os.path.abspath(item.path)) if item else None
        return stamp.sha256 if stamp else None

    def outputs(self) -> dict[str, tuple[str, str, str, str]]:
        """The last run's pages and copies: name -> (kind, file, proposal ID, fingerprint)."""
        return {
            name: (kind, file, proposal_id, fingerprint)
            for name, kind, file, proposal_id, fingerprint in self.db.execute(
                "SELECT name, kind, file, proposal_id, fingerprint FROM outputs"
            )
        }

    def stored_results(
        self, items: Sequence[InputFile]
    ) -> tuple[list[FileResult], list[ProposalResult], dict[str, str], dict[str, str]]:
        """The stored results of unchanged files, keyed for this run, with their entries.

        The entries are the results.json texts (report/json.py), by proposal
        key and by file. With ``lazy_checks`` the proposals come without their
        rule checks (their entries have them) until ``complete`` adds them.
        """
        wanted = {os.path.abspath(item.path): item for item in items}
        files: list[FileResult] = []
        proposals: list[ProposalResult] = []
        texts: dict[str, str] = {}
        file_texts: dict[str, str] = {}
        columns = "path, judged" if self.lazy_checks else "path, judged, checks"
        marks = ", ".join("?" * len(wanted))
        query = f"SELECT {columns} FROM files WHERE path IN ({marks})"
        for row in self.db.execute(query, list(wanted)):
            item = wanted[row[0]]
            file, mine, file_texts[item.display], entries = unpack(row[1])
            checks = None if self.lazy_checks else unpack(row[2])
            files.append(file)
            for position, (proposal, text) in enumerate(zip(mine, entries, strict=True)):
                key = rekey(proposal.key, item.index)
                # Objects fresh from the state, seen by no one yet: set, not copied.
                object.__setattr__(proposal, "key", key)
                if checks is None:
                    self._light[key] = (row[0], position)
                else:
                    object.__setattr__(proposal, "checks", checks[position])
                proposals.append(proposal)
                texts[key] = text
        return files, proposals, texts, file_texts

    def complete(self, proposal: ProposalResult) -> ProposalResult:
        """The proposal with its rule checks, if it was loaded without them."""
        where = self._light.get(proposal.key)
        if where is None:
            return proposal
        path, position = where
        row = self.db.execute("SELECT checks FROM files WHERE path = ?", (path,)).fetchone()
        return replace(proposal, checks=unpack(row[0])[position])

    # -- while judging -------------------------------------------------------

    def remember(self, chunk: Any) -> None:
        """Store what was judged of the files of a chunk (before duplicates are settled).

        ``chunk`` is the API's Chunk: its results, their results.json texts,
        and the parsed rows of the files read, by file index (files judged
        from their cached rows keep theirs). A file that could not be
        answered by its reader (a time limit, a crash) is not remembered: the
        next run tries it again.
        """
        contents: dict[int, bytes] | None = chunk.contents
        packed = chunk.judged or pack_judged(
            chunk.files, chunk.proposals, chunk.texts, chunk.file_texts
        )
        read: list[tuple[Any, ...]] = []
        judged: list[tuple[Any, ...]] = []
        for file in chunk.files:
            item = self.items[file.file]
            path = os.path.abspath(item.path)
            stamp = self._stamps.get(path)
            if stamp is None:
                continue
            blob, checks = packed[file.file]
            if contents is None:
                judged.append((self.judge_key, blob, checks, self.run_id, path))
            elif item.index in contents:
                read.append(
                    (
                        path,
                        item.display,
                        stamp.size,
                        stamp.mtime_ns,
                        stamp.sha256,
                        self.read_key,
                        self.judge_key,
                        contents[item.index],
                        blob,
                        checks,
                        self.run_id,
                        self.run_id,
                    )
                )
        self.db.executemany(
            "INSERT INTO files (path, display, size, mtime_ns, sha256, read_key, judge_key,"
            " content, judged, checks, first_run, last_run)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (path) DO UPDATE SET display = excluded.display, size = excluded.size,"
            " mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,"
            " read_key = excluded.read_key, judge_key = excluded.judge_key,"
            " content = excluded.content, judged = excluded.judged, checks = excluded.checks,"
            " last_run = excluded.last_run, withdrawn_run = NULL",
            read,
        )
        self.db.executemany(
            "UPDATE files SET judge_key = ?, judged = ?, checks = ?, last_run = ?,"
            " withdrawn_run = NULL"
            " WHERE path = ?",
            judged,
        )

    # -- after judging -------------------------------------------------------

    def history(self) -> dict[ProposalKey, list[tuple[int, str, str]]]:
        """Each proposal's earlier verdicts: (first run, its start, verdict), oldest first."""
        history: dict[ProposalKey, list[tuple[int, str, str]]] = {}
        for file, proposal_id, run, started, verdict in self.db.execute(
            "SELECT s.file, s.proposal_id, s.first_run, r.started_at, s.verdict"
            " FROM proposal_states s JOIN runs r ON r.id = s.first_run ORDER BY s.first_run"
        ):
            entries = history.setdefault((file, proposal_id), [])
            if not entries or entries[-1][2] != verdict:
                entries.append((run, started, verdict))
        return history

    def changes(self, result: AuditResult) -> Changes | None:
        """What changed since the previous run (None: this is the first)."""
        if self.previous is None:
            return None
        return compare(snapshot(self.db, self.previous.id), self._snapshot(result), self.previous)

    def _snapshot(self, result: AuditResult) -> Snapshot:
        if self._now is None:
            self._now = snapshot_of(result)
        return self._now

    def commit(
        self,
        result: AuditResult,
        ended_at: str,
        seconds: float,
        outputs: Mapping[str, tuple[str, str, str, str]] | None = None,
    ) -> int:
        """Record the run, its conclusions and the withdrawn files; make it all durable.

        ``outputs``: the report's pages and copies, as ``outputs()`` gives them.
        """
        run = self.run_id
        if outputs is not None:
            self.db.execute("DELETE FROM outputs")
            self.db.executemany(
                "INSERT INTO outputs VALUES (?, ?, ?, ?, ?)",
                [(name, *output) for name, output in outputs.items()],
            )
        # Unchanged files whose stamp moved on (touched, not changed) or that
        # came back; files read or judged in this run were written as they came.
        moved = [(self._stamps[path], path) for path in self._moved]
        stamps = [(stamp.size, stamp.mtime_ns, stamp.sha256, path) for stamp, path in moved]
        self.db.executemany(
            "UPDATE files SET size = ?, mtime_ns = ?, sha256 = ?, withdrawn_run = NULL"
            " WHERE path = ?",
            stamps,
        )
        gone = [
            (run, path)
            for (path,) in self.db.execute("SELECT path FROM files WHERE withdrawn_run IS NULL")
            if path not in self._seen
        ]
        self.db.executemany(
            "UPDATE files SET withdrawn_run = ?, content = NULL WHERE path = ?", gone
        )
        self.counts.withdrawn = len(gone)
        now = self._snapshot(result)
        _extend(
            self.db,
            "proposal_states",
            ("file", "proposal_id"),
            run,
            now.proposals,
        )
        _extend(self.db, "file_states", ("file",), run, {(k,): o for k, o in now.files.items()})
        s, c = result.summary, self.counts
        self.db.execute(
            f"INSERT INTO runs VALUES ({', '.join('?' * 19)})",
            (
                run,
                result.started_at,
                ended_at,
                round(seconds, 3),
                json.dumps(list(result.inputs)),
                result.rules_version,
                result.tool_version,
                result.lang,
                s.files,
                s.proposals,
                s.eligible,
                s.ineligible,
                s.unreadable,
                s.errors,
                s.warnings,
                c.read,
                c.rejudged,
                c.reused,
                c.withdrawn,
            ),
        )
        self.db.execute("COMMIT")
        return run

    def close(self) -> None:
        """End the run; without ``commit`` nothing it wrote is kept."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self.db.close()
        self._lock.__exit__(None, None, None)


def _extend(
    db: sqlite3.Connection,
    table: str,
    columns: tuple[str, ...],
    run: int,
    now: Mapping[Any, Observation],
) -> None:
    """Move on the ranges of conclusions that did not change; start new ones for the rest."""
    names = ", ".join(columns)
    previous = {
        tuple(row[1 : 1 + len(columns)]): (row[0], Observation(row[-2], row[-1]))
        for row in db.execute(
            f"SELECT id, {names}, verdict, findings FROM {table} WHERE last_run = ?",
            (run - 1,),
        )
    }
    extend, start = [], []
    for key, observation in now.items():
        known = previous.get(key)
        if known is not None and known[1] == observation:
            extend.append((run, known[0]))
        else:
            start.append((*key, run, run, observation.verdict, observation.text))
    db.executemany(f"UPDATE {table} SET last_run = ? WHERE id = ?", extend)
    marks = ", ".join("?" * (len(columns) + 4))
    db.executemany(
        f"INSERT INTO {table} ({names}, first_run, last_run, verdict, findings) VALUES ({marks})",
        start,
    )


def snapshot_of(result: AuditResult) -> Snapshot:
    """A run's conclusions, as they are compared and stored."""
    proposals: dict[ProposalKey, Observation] = {}
    for p in result.proposals:
        key = (p.file, p.proposal_id)
        repeat = 1
        while key in proposals:  # one ID twice in one export: told apart by their order
            repeat += 1
            key = (p.file, f"{p.proposal_id} #{repeat}")
        proposals[key] = Observation.of(str(p.verdict), p.findings)
    files = {f.file: Observation.of(str(f.verdict), f.findings) for f in result.files}
    return Snapshot(proposals, files)


def snapshot(db: sqlite3.Connection, run: int) -> Snapshot:
    """The conclusions of an earlier run, from the state."""
    proposals = {
        (file, proposal_id): Observation(verdict, findings)
        for file, proposal_id, verdict, findings in db.execute(
            "SELECT file, proposal_id, verdict, findings FROM proposal_states"
            " WHERE first_run <= ? AND last_run >= ?",
            (run, run),
        )
    }
    files = {
        file: Observation(verdict, findings)
        for file, verdict, findings in db.execute(
            "SELECT file, verdict, findings FROM file_states"
            " WHERE first_run <= ? AND last_run >= ?",
            (run, run),
        )
    }
    return Snapshot(proposals, files)
