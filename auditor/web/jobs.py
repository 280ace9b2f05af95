"""Audits as background jobs: a bounded queue, one run per inbox at a time.

A job is a row in the database (queued, running, done, failed or
interrupted) and, while it runs, a counter in memory that the progress page
polls. Runs go through ``AuditRun``, so an inbox's report is replaced whole
and its state committed only after that: a server killed mid-run leaves the
previous report and state as they were, and on the next start every job the
dead server left queued or running is marked interrupted, never "running".
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from auditor.core.config import AuditConfig
from auditor.core.errors import AuditorError
from auditor.runner import AuditRun
from auditor.web.db import Database, now
from auditor.web.inboxes import Inbox

log = logging.getLogger("auditor.web")


class QueueFull(Exception):
    """More jobs are waiting than the server takes; try again later (503)."""


class InboxBusy(Exception):
    """The inbox's files are being audited or changed; try again when that ends (409)."""


@dataclass
class Progress:
    done: int = 0
    total: int = 0


class JobQueue:
    """``slots`` runs at once; at most ``waiting`` jobs queued behind them."""

    def __init__(
        self,
        db: Database,
        config: Callable[[str], AuditConfig],
        slots: int = 2,
        waiting: int = 50,
    ) -> None:
        self.db, self.config = db, config
        self.queue: queue.Queue[tuple[int, Inbox] | None] = queue.Queue(maxsize=waiting)
        self.progress: dict[int, Progress] = {}
        self.active: dict[int, int] = {}  # inbox id -> its queued or running job
        self.changing: set[int] = set()  # inboxes whose files are being changed
        self.lock = threading.Lock()
        self.slots = slots
        self.threads: list[threading.Thread] = []
        self.users = 0  # lifespans that started the queue (tests may run several)

    def start(self) -> None:
        """Take up the work: what a previous server left unfinished is marked interrupted."""
        with self.lock:
            self.users += 1
            if self.threads:
                return
            self.db.run(
                "UPDATE jobs SET status = 'interrupted', ended = ? "
                "WHERE status IN ('queued', 'running')",
                now(),
            )
            self.threads = [
                threading.Thread(target=self._work, name=f"auditor-job-{n}", daemon=True)
                for n in range(self.slots)
            ]
            for thread in self.threads:
                thread.start()

    def stop(self) -> None:
        """Let the workers end once the jobs under way are done (no new ones start)."""
        with self.lock:
            self.users -= 1
            if self.users > 0:
                return
            threads, self.threads = self.threads, []
        for _ in threads:
            self.queue.put(None)

    @contextlib.contextmanager
    def change(self, inbox_id: int) -> Iterator[None]:
        """Hold the inbox's files for a change: no audit starts, no other change meanwhile.

        Uploads, removals and the inbox's deletion all change its files; an
        audit must never read a folder half-changed, and a deleted inbox
        must not come back because an upload finished after it went.
        """
        with self.lock:
            if inbox_id in self.active or inbox_id in self.changing:
                raise InboxBusy
            self.changing.add(inbox_id)
        try:
            yield
        finally:
            with self.lock:
                self.changing.discard(inbox_id)

    def submit(self, inbox: Inbox, user: str, lang: str) -> tuple[int, bool]:
        """The job auditing ``inbox``: a new one, or (False) the one already under way."""
        with self.lock:
            if inbox.id in self.active:
                return self.active[inbox.id], False
            if inbox.id in self.changing:
                raise InboxBusy
            job = self.db.run(
                "INSERT INTO jobs (inbox_id, user_name, lang, status, created) "
                "VALUES (?, ?, ?, 'queued', ?)",
                inbox.id,
                user,
                lang,
                now(),
            )
            try:
                self.queue.put_nowait((job, inbox))
            except queue.Full:
                self.db.run("DELETE FROM jobs WHERE id = ?", job)
                raise QueueFull from None
            self.active[inbox.id] = job
            self.progress[job] = Progress()
            return job, True

    def busy(self, inbox_id: int) -> int | None:
        """The job under way on the inbox, if any (to show it; ``change`` is the guard)."""
        with self.lock:
            return self.active.get(inbox_id)

    def _work(self) -> None:
        while (item := self.queue.get()) is not None:
            job, inbox = item
            try:
                self._run(job, inbox)
            finally:
                with self.lock:
                    self.active.pop(inbox.id, None)
                    self.progress.pop(job, None)

    def _run(self, job: int, inbox: Inbox) -> None:
        row = self.db.one("SELECT lang FROM jobs WHERE id = ?", job)
        if row is None:  # the inbox was deleted while the job waited
            return
        self.db.run("UPDATE jobs SET status = 'running', started = ? WHERE id = ?", now(), job)
        counter = self.progress[job]

        def total(count: int) -> None:
            counter.total = count

        saved = [time.monotonic()]

        def advance(count: int) -> None:
            counter.done += count
            if time.monotonic() - saved[0] > 2:  # what a killed server's job page will show
                saved[0] = time.monotonic()
                self.db.run(
                    "UPDATE jobs SET done = ?, total = ? WHERE id = ?",
                    counter.done,
                    counter.total,
                    job,
                )

        try:
            inbox.files.mkdir(parents=True, exist_ok=True)
            # Files are shown by the inbox's name, not by where the server keeps them.
            labels = {str(inbox.files): inbox.label}
            config = self.config(row["lang"])
            with AuditRun([str(inbox.files)], inbox.report, config, labels=labels) as run:
                outcome = run.execute(progress=advance, on_files=total)
        except AuditorError as error:
            self._end(job, "failed", error=str(error))
        except Exception as error:  # one failed run never stops the queue
            log.exception("job %s on inbox %s failed", job, inbox.id)
            self._end(job, "failed", error=f"{type(error).__name__}: {error}")
        else:
            outcome.entries.close()
            summary = outcome.result.summary
            self._end(job, "done", summary=json.dumps(asdict(summary)))

    def _end(self, job: int, status: str, summary: str | None = None, error: str = "") -> None:
        counter = self.progress.get(job, Progress())
        self.db.run(
            "UPDATE jobs SET status = ?, ended = ?, done = ?, total = ?, summary = ?, error = ? "
            "WHERE id = ?",
            status,
            now(),
            counter.done,
            counter.total,
            summary,
            error or None,
            job,
        )
