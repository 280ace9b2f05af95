"""Reading many files: in one process or spread over worker processes in chunks.

Workers read whole chunks and send back one concatenated frame per chunk,
not one per file: pickling hundreds of small frames costs more than reading
them (perf-floors.md, section 3).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import polars as pl

from auditor.core.config import Limits
from auditor.read.discover import InputFile
from auditor.read.model import ReadBatch, empty_projects
from auditor.read.partners import finish
from auditor.read.workbook import read_file

# Below this many files a worker pool costs more to start than it saves.
MIN_FILES_PER_WORKER = 150

Progress = Callable[[int], None]


def read_chunk(
    items: Sequence[InputFile], limits: Limits, progress: Progress | None = None
) -> ReadBatch:
    """Read ``items`` one after the other into one batch."""
    batch = ReadBatch()
    project_rows: list[dict[str, str | None]] = []
    contents = []
    for item in items:
        content = read_file(item, limits)
        contents.append(content)
        batch.files.append(content.read)
        for source in content.sources:
            batch.sources[source.pkey] = source
        for pkey, drafts in content.drafts.items():
            batch.drafts.setdefault(pkey, []).extend(drafts)
        project_rows.extend(content.project_rows)
        if progress is not None:
            progress(1)
    if project_rows:
        batch.projects = pl.from_dicts(project_rows, schema=empty_projects().schema)
    batch.partners = finish(contents)
    return batch


def _read_chunk_in_worker(items: Sequence[InputFile], limits: Limits) -> ReadBatch:
    return read_chunk(items, limits)


def default_workers(files: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, files // MIN_FILES_PER_WORKER))


def _chunks(items: Sequence[InputFile], count: int) -> list[list[InputFile]]:
    """Contiguous chunks, several per worker so a slow chunk does not idle the others."""
    size = max(1, -(-len(items) // count))
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def read_files(
    items: Sequence[InputFile],
    limits: Limits,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ReadBatch:
    """Read every file; with more than one worker, in a process pool."""
    count = default_workers(len(items)) if workers is None else workers
    if count <= 1 or len(items) < 2:
        return read_chunk(items, limits, progress)
    chunks = _chunks(items, count * 4)
    parts: list[ReadBatch] = []
    # spawn, not fork: polars' thread pool does not survive a fork.
    with ProcessPoolExecutor(max_workers=count, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_read_chunk_in_worker, chunk, limits) for chunk in chunks]
        for chunk, future in zip(chunks, futures, strict=True):
            parts.append(future.result())
            if progress is not None:
                progress(len(chunk))
    batch = ReadBatch.merge(parts)
    if batch.projects.height == 0:
        batch.projects = empty_projects()
    return batch
