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
# ruff: noqa: PTH116

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Any

from auditor.core.config import AuditConfig
from auditor.core.errors import StateError
from auditor.core.filenames import state_key
from auditor.core.results import AuditResult, FileResult, HeldLinks, ProposalResult
from auditor.core.version import VERSION
from auditor.read.discover import InputFile
from auditor.read.hashing import hash_all
from auditor.state.blobs import (
    DamagedBlob,
    pack_entries,
    pack_judged,
    unpack_checks,
    unpack_content,
    unpack_entries,
    unpack_judged,
)
from auditor.state.changes import Changes, Observation, ProposalKey, RunRef, Snapshot, compare
from auditor.state.store import connect, lock, state_id

# Files whose entries took other links, rewritten in the state at a time (``relink``).
RELINK_BATCH = 1000


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
class Stored:
    """The stored results of unchanged files (``Memory.stored_results``)."""

    files: list[FileResult] = field(default_factory=list)
    proposals: list[ProposalResult] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # results.json entries, by key
    file_texts: dict[str, str] = field(default_factory=dict)  # by file
    held: dict[str, HeldLinks] = field(default_factory=dict)  # the links each text holds
    file_held: dict[str, HeldLinks] = field(default_factory=dict)
    missing: list[InputFile] = field(default_factory=list)  # to be read again


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
        self.limits = config.limits
        self.workers = config.workers
        self.rehash = rehash
        self.lazy_checks = lazy_checks
        self._light: dict[str, tuple[str, int]] = {}  # key -> (path, position)
        # Where the state keeps each entry of this run, for ``relink``: a proposal's
        # (by key) as (path, line: n for the nth proposal), a file's (by file) as path.
        self._places: dict[str, tuple[str, int]] = {}
        self._file_paths: dict[str, str] = {}
        self._checks: tuple[str, list[Any]] = ("", [])  # the last file's unpacked checks
        self._moved: list[str] = []  # unchanged files whose record needs its stamp updated
        self._now: Snapshot | None = None
        # What the stored rows depend on: the reader and its limits; what the
        # stored results depend on: the rules, the tool and the language.
        self.read_key = f"{VERSION}|{config.reader_name}|{config.limits!r}"
        self.judge_key = f"{rules_version}|{VERSION}|{config.lang}"
        self._lock = lock(path, wait)
        self._lock.__enter__()
        try:
            self.db = connect(path)
            self.state_id = state_id(self.db)
            self.previous = self._previous_run()
            self.run_id = (self.previous.id if self.previous else 0) + 1
            self.db.execute("BEGIN IMMEDIATE")
            # Found now, not after the report is swapped in: a state this run
            # could not write would never move on.
            self.db.execute("UPDATE meta SET value = value WHERE key = 'id'")
        except sqlite3.Error as error:
            self._lock.__exit__(None, None, None)
            raise StateError(
                f"the state file {path} cannot be written ({error}); move it aside "
                "(a new state is made), or run with --no-state"
            ) from error
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self.counts = _Counts()
        # Stored values this run could not use (damaged, or not this
        # auditor's): their files are read again.
        self.damaged = 0
        self._stamps: dict[str, Stamp] = {}  # absolute path -> stamp, this run
        self._keys: dict[int, str] = {}  # file index -> absolute path, this run
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
        # Each file's key, made once: a run asks for it four times a file.
        self._keys = {item.index: state_key(item.path) for item in items}
        # Each file's place: decided now from its size and time, or once hashed.
        decided: dict[int, str] = {}
        to_hash: list[tuple[InputFile, _Known | None, os.stat_result]] = []
        for item in items:
            path = self._key(item)
            self._seen.add(path)
            record = known.get(path)
            status = self._status(item)
            if status is None:  # refused, vanished or too large: the reader says why
                decided[item.index] = "read"
            elif (
                record is not None
                and not self.rehash
                and (status.st_size, status.st_mtime_ns)
                == (record.stamp.size, record.stamp.mtime_ns)
            ):
                # as make and rsync do: same size and time, same file
                decided[item.index] = self._place(item, record, record.stamp, rows)
            else:
                to_hash.append((item, record, status))
        digests = hash_all([item for item, _, _ in to_hash], self.limits, self.workers)
        plan.hashed = len(to_hash)
        for item, record, status in to_hash:
            digest = digests.get(item.index)
            if digest is None:  # not hashed (time limit, gone): reading it gives the finding
                decided[item.index] = "read"
                continue
            stamp = Stamp(status.st_size, status.st_mtime_ns, digest)
            decided[item.index] = self._place(item, record, stamp, rows)
        for item in items:
            getattr(plan, decided[item.index]).append(item)
        self.counts.hashed = plan.hashed
        self.counts.read = len(plan.read)
        self.counts.rejudged = len(plan.rejudge)
        self.counts.reused = len(plan.reuse)
        return plan

    def _key(self, item: InputFile) -> str:
        """The file's key in the state (its absolute path)."""
        key = self._keys.get(item.index)
        return key if key is not None else state_key(item.path)

    def _status(self, item: InputFile) -> os.stat_result | None:
        """The file's size and time, if it is a regular file within the size limit."""
        if item.refusal is not None:
            return None
        try:
            status = os.stat(item.path)
        except OSError:
            return None
        if not stat.S_ISREG(status.st_mode) or status.st_size > self.limits.max_file_bytes:
            return None
        return status

    def _place(self, item: InputFile, record: _Known | None, stamp: Stamp, rows: bool) -> str:
        """Which list of the plan a file with this stamp goes to."""
        path = self._key(item)
        self._stamps[path] = stamp
        if record is not None and (record.stamp != stamp or record.withdrawn):
            self._moved.append(path)  # touched, or back in the inbox
        if record is None or record.stamp.sha256 != stamp.sha256:
            return "read"
        if record.judge_key == self.judge_key and not rows and record.display == item.display:
            return "reuse"  # (results name their file as the command line did)
        if record.has_content and record.read_key == self.read_key:
            return "rejudge"
        return "read"

    def cached_content(self, item: InputFile) -> Any:
        """The parsed rows of an unchanged file (read/workbook.py FileContent), for this run.

        None if the state holds none for it.
        """
        from auditor.read.workbook import rekey_content

        row = self.db.execute(
            "SELECT content FROM files WHERE path = ?", (self._key(item),)
        ).fetchone()
        if not row or row[0] is None:
            return None
        try:
            return rekey_content(unpack_content(row[0]), item)
        except DamagedBlob:
            self.damaged += 1
            self.counts.rejudged -= 1
            return None

    def stamp(self, display: str) -> str | None:
        """The content hash of a file of this run."""
        item = self.items.get(display)
        stamp = self._stamps.get(self._key(item)) if item else None
        return stamp.sha256 if stamp else None

    def outputs(self) -> dict[str, tuple[str, str, str, str]]:
        """The last run's pages and copies: name -> (kind, file, proposal ID, fingerprint)."""
        return {
            name: (kind, file, proposal_id, fingerprint)
            for name, kind, file, proposal_id, fingerprint in self.db.execute(
                "SELECT name, kind, file, proposal_id, fingerprint FROM outputs"
            )
        }

    def stored_results(self, items: Sequence[InputFile]) -> Stored:
        """The stored results of unchanged files, keyed for this run, with their entries.

        The entries are the results.json texts (report/json.py) as last
        written, by proposal key and by file, with the links each holds. With
        ``lazy_checks`` the proposals come without their rule checks (their
        entries have them) until ``complete`` adds them. ``missing`` holds the
        files whose stored results cannot be used (damaged, or not this
        auditor's): they must be read again.
        """
        wanted = {self._key(item): item for item in items}
        stored = Stored()
        missing = stored.missing
        columns = "path, judged, entries" + ("" if self.lazy_checks else ", checks")
        marks = ", ".join("?" * len(wanted))
        query = f"SELECT {columns} FROM files WHERE path IN ({marks})"
        for row in self.db.execute(query, list(wanted)):
            item = wanted.pop(row[0])
            try:
                file, mine = unpack_judged(row[1])
                (text, *entries), held = unpack_entries(row[2], len(mine))
                checks = None if self.lazy_checks else unpack_checks(row[3])
                if checks is not None and len(checks) != len(mine):
                    raise DamagedBlob("checks and proposals differ")
            except DamagedBlob:
                missing.append(item)
                continue
            stored.file_texts[item.display] = text
            stored.file_held[item.display] = held[0]
            self._file_paths[item.display] = row[0]
            stored.files.append(file)
            for position, (proposal, entry) in enumerate(zip(mine, entries, strict=True)):
                key = rekey(proposal.key, item.index)
                # Objects fresh from the state, seen by no one yet: set, not copied.
                object.__setattr__(proposal, "key", key)
                self._places[key] = (row[0], position + 1)
                if checks is None:
                    self._light[key] = (row[0], position)
                else:
                    object.__setattr__(proposal, "checks", checks[position])
                stored.proposals.append(proposal)
                stored.texts[key] = entry
                stored.held[key] = held[position + 1]
        missing.extend(wanted.values())
        self.damaged += len(missing)
        self.counts.reused -= len(missing)
        return stored

    def to_read(self, items: Sequence[InputFile]) -> None:
        """Files whose stored results or rows could not be used: this run reads them."""
        self.counts.read += len(items)

    def complete(self, proposal: ProposalResult) -> ProposalResult:
        """The proposal with its rule checks, if it was loaded without them."""
        where = self._light.get(proposal.key)
        if where is None:
            return proposal
        path, position = where
        try:
            if self._checks[0] != path:
                # One file's checks are asked for proposal after proposal (an
                # export holds thousands): unpacked once, not once for each.
                row = self.db.execute("SELECT checks FROM files WHERE path = ?", (path,)).fetchone()
                self._checks = (path, unpack_checks(row[0] if row else None))
            return replace(proposal, checks=self._checks[1][position])
        except (DamagedBlob, IndexError):
            raise StateError(
                f"the state file {self.path} is damaged (the rule checks of {proposal.file} "
                "cannot be read); move it aside, or run with --no-state"
            ) from None

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
        # Each proposal's line in its file's entries (pack_judged: the file's
        # first), for the links results.json gives it (``relink``).
        keys: dict[str, list[str]] = {}
        for proposal in chunk.proposals:
            keys.setdefault(proposal.file, []).append(proposal.key)
        for file in chunk.files:
            item = self.items[file.file]
            path = self._key(item)
            stamp = self._stamps.get(path)
            if stamp is None or (contents is not None and item.index not in contents):
                continue  # not kept: nor are its entries' links
            self._file_paths[file.file] = path
            for line, key in enumerate(keys.get(file.file, []), start=1):
                self._places[key] = (path, line)
            blob, checks, entries = packed[file.file]
            if contents is None:
                judged.append((self.judge_key, blob, checks, entries, self.run_id, path))
            else:
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
                        entries,
                        self.run_id,
                        self.run_id,
                    )
                )
        self.db.executemany(
            "INSERT INTO files (path, display, size, mtime_ns, sha256, read_key, judge_key,"
            " content, judged, checks, entries, first_run, last_run)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (path) DO UPDATE SET display = excluded.display, size = excluded.size,"
            " mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,"
            " read_key = excluded.read_key, judge_key = excluded.judge_key,"
            " content = excluded.content, judged = excluded.judged, checks = excluded.checks,"
            " entries = excluded.entries, last_run = excluded.last_run, withdrawn_run = NULL",
            read,
        )
        self.db.executemany(
            "UPDATE files SET judge_key = ?, judged = ?, checks = ?, entries = ?, last_run = ?,"
            " withdrawn_run = NULL"
            " WHERE path = ?",
            judged,
        )

    # -- after judging -------------------------------------------------------

    def relink(
        self,
        proposals: Iterable[tuple[str, str, HeldLinks]],
        files: Iterable[tuple[str, str, HeldLinks]],
    ) -> None:
        """Keep the entries that took other links in this run's results.json as they
        were written (report/json.py ``EntryCache.changed``): the next run writes them
        as they are, without changing them again.

        ``proposals`` by key, ``files`` by file: (name, text, links). An entry the
        state does not hold (a file not remembered: a time limit, a crash) is left.
        """
        # One at a time (the texts are read from the report's spool as they come):
        # a first run relinks every entry, tens of megabytes.
        places = chain(
            ((self._places.get(key), text, held) for key, text, held in proposals),
            ((self._file_place(name), text, held) for name, text, held in files),
        )
        batch: dict[str, dict[int, tuple[str, HeldLinks]]] = {}
        for place, text, held in places:
            if place is None:
                continue
            path, line = place
            if len(batch) >= RELINK_BATCH and path not in batch:
                self._rewrite(batch)
                batch = {}
            batch.setdefault(path, {})[line] = (text, held)
        self._rewrite(batch)

    def _file_place(self, name: str) -> tuple[str, int] | None:
        path = self._file_paths.get(name)
        return None if path is None else (path, 0)  # a file's entry is the first line

    def _rewrite(self, batch: Mapping[str, Mapping[int, tuple[str, HeldLinks]]]) -> None:
        """Give the lines of ``batch`` (by file, by line) their new text and links."""
        if not batch:
            return
        marks = ", ".join("?" * len(batch))
        rows = self.db.execute(
            f"SELECT path, entries FROM files WHERE path IN ({marks})", list(batch)
        ).fetchall()
        updates = []
        for path, blob in rows:
            try:
                lines, links = unpack_entries(blob)
            except DamagedBlob:
                continue  # the next run reads its file again
            for line, (text, held) in batch[path].items():
                if line < len(lines):
                    lines[line], links[line] = text, held
            updates.append((pack_entries(lines, links), path))
        self.db.executemany("UPDATE files SET entries = ? WHERE path = ?", updates)

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
