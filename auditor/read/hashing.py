"""Hashing files for an incremental run, in the reader processes under the time limit.

A file that changed size or time is hashed to tell a touched file from a
changed one. Hashing is reading: a file on a stalled network share, or one
that grows for ever, must cost its worker and the time limit, not hang the
run while it holds the state's lock. So hashing is a worker task like
reading (pool/supervisor.py), opens only regular files, and stops at the
size limit (such a file is refused by the reader anyway).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from auditor.core.config import Limits
from auditor.read.discover import InputFile

# Bytes hashed at a time: files are hashed without being held in memory whole.
HASH_BLOCK = 1 << 20


def sha256(path: Path, limit: int) -> str | None:
    """The SHA-256 of a regular file of at most ``limit`` bytes (None: not such a file)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > limit:
            return None
        digest = hashlib.sha256()
        read = 0
        while block := handle.read(HASH_BLOCK):
            read += len(block)
            if read > limit:
                return None
            digest.update(block)
    return digest.hexdigest()


def hash_files(
    items: Sequence[InputFile],
    limits: Limits,
    on_file: Callable[[str, int], Any] | None = None,
    **_: Any,
) -> dict[int, str | None]:
    """A worker's task: the SHA-256 of each file, by file index."""
    digests: dict[int, str | None] = {}
    for item in items:
        if on_file is not None:
            on_file("start", item.index)
        digests[item.index] = sha256(item.path, limits.max_file_bytes)
        if on_file is not None:
            on_file("done", item.index)
    return digests


def hash_all(
    items: Sequence[InputFile], limits: Limits, workers: int | None = None
) -> dict[int, str | None]:
    """The SHA-256 of every file (None: not hashed: not a regular file, too large, or
    over the time limit), in worker processes unless the time limit is off."""
    if not items:
        return {}
    if not limits.timeout:
        return hash_files(items, limits)
    from auditor.pool.supervisor import stream_isolated
    from auditor.read.batch import default_workers, lost_file

    count = default_workers(len(items)) if workers is None else workers
    digests: dict[int, str | None] = {}
    for part in stream_isolated(items, limits, count, task=hash_files, lost=lost_file):
        if isinstance(part, dict):  # lost files (time limit, crash) come as a ReadBatch
            digests.update(part)
    return digests
