"""Reading many files: in worker processes under a time limit, or in this process.

By default every file is read in a worker process under a time limit
(pool/supervisor.py), so no file can hang or crash the batch. With the time
limit switched off (``timeout=0``) and one worker, files are read here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import polars as pl

from auditor.core.config import Limits
from auditor.core.findings import FindingDraft
from auditor.pool.supervisor import Task
from auditor.read.discover import InputFile
from auditor.read.model import FileRead, ReadBatch, empty_projects
from auditor.read.partners import finish
from auditor.read.workbook import FileContent, read_file

# Below this many files a second worker costs more to start than it saves.
MIN_FILES_PER_WORKER = 150
# Files read at a time when reading in this process.
IN_PROCESS_CHUNK = 2000

Progress = Callable[[int], None]

# What reads one file (read/workbook.py's read_file; tests give misbehaving ones).
Reader = Callable[[InputFile, Limits], FileContent]


def read_chunk(
    items: Sequence[InputFile],
    limits: Limits,
    progress: Progress | None = None,
    reader: Callable[..., FileContent] = read_file,
    on_file: Callable[[str, int], Any] | None = None,
    keep_contents: bool = False,
) -> ReadBatch:
    """Read ``items`` one after the other into one batch.

    ``on_file("start"|"done", index)`` is told as each file begins and ends
    (the supervisor's watch on the time limit). With ``keep_contents`` the
    batch keeps what each file gave (``ReadBatch.contents``), for the state of
    an incremental run to cache.
    """
    contents = []
    for item in items:
        if on_file is not None:
            on_file("start", item.index)
        content = reader(item, limits)
        if on_file is not None:
            on_file("done", item.index)
        contents.append(content)
        if progress is not None:
            progress(1)
    batch = batch_of(contents)
    if keep_contents:
        batch.contents = contents
    return batch


def batch_of(contents: Sequence[FileContent]) -> ReadBatch:
    """What files gave, as one batch (read now, or taken from an incremental run's cache)."""
    batch = ReadBatch()
    project_rows: list[dict[str, str | None]] = []
    # The batch's own record of each file: finishing adds findings to it,
    # and what the files gave stays as it was (an incremental run caches it).
    contents = [replace(c, read=replace(c.read, drafts=list(c.read.drafts))) for c in contents]
    for content in contents:
        batch.files.append(content.read)
        for source in content.sources:
            batch.sources[source.pkey] = source
        for pkey, drafts in content.drafts.items():
            batch.drafts.setdefault(pkey, []).extend(drafts)
        project_rows.extend(content.project_rows)
    if project_rows:
        batch.projects = pl.from_dicts(project_rows, schema=empty_projects().schema)
    batch.partners = finish(contents)
    return batch


def default_workers(files: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, files // MIN_FILES_PER_WORKER))


def read_in_worker(
    items: Sequence[InputFile],
    limits: Limits,
    on_file: Callable[[str, int], Any] | None = None,
    reader: Reader | None = None,
    contents: bool = False,
) -> ReadBatch:
    """The default task of a reader process: read its chunk."""
    return read_chunk(
        items, limits, reader=reader or read_file, on_file=on_file, keep_contents=contents
    )


def lost_file(item: InputFile, variant: str, **params: Any) -> ReadBatch:
    """The answer for a file its worker was lost on (time limit, memory, crash)."""
    read = FileRead(file=item.display, relative=item.relative, index=item.index, unreadable=True)
    read.drafts.append(FindingDraft("unreadable-file", params={"variant": variant, **params}))
    return ReadBatch(files=[read])


def stream_files(
    items: Sequence[InputFile],
    limits: Limits,
    workers: int | None = None,
    progress: Progress | None = None,
    task: Task | None = None,
    options: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """Read every file, handing over each chunk as soon as it is read.

    Each file is read in a worker process under ``limits.timeout``, where the
    worker does ``task`` (by default reading; see pool/supervisor.py) and
    hands over its result. With the time limit off and one worker, files are
    read in this process and handed over as ReadBatch.
    """
    from auditor.pool.supervisor import stream_isolated

    count = default_workers(len(items)) if workers is None else workers
    if not items:
        return iter(())
    options = options or {}
    if limits.timeout == 0 and count <= 1 and not options.get("reader"):
        return _read_here(items, limits, progress)
    # The workers start now, not when the caller first asks for a chunk: it
    # can prepare its own work meanwhile.
    return stream_isolated(
        items, limits, count, progress, task=task or read_in_worker, lost=lost_file, options=options
    )


def _read_here(
    items: Sequence[InputFile], limits: Limits, progress: Progress | None
) -> Iterator[ReadBatch]:
    for start in range(0, len(items), IN_PROCESS_CHUNK):
        yield read_chunk(items[start : start + IN_PROCESS_CHUNK], limits, progress)
