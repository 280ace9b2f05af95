"""Readers that misbehave on purpose, to test the supervisor (AuditConfig.reader).

Files whose name starts with "slow" take 60 seconds; "crash" ends the process
the way a native crash or the out-of-memory killer would; "raise" raises, as
a bug in the reader would. Other files are read by the real reader.
"""

from __future__ import annotations

import os
import time
from typing import Any

from auditor.read.workbook import read_file as real_read_file


def read_file(item: Any, limits: Any) -> Any:
    if item.path.name.startswith("slow"):
        time.sleep(60)
    if item.path.name.startswith("crash"):
        os._exit(3)
    if item.path.name.startswith("raise"):
        raise RuntimeError("a bug in the reader")
    return real_read_file(item, limits)


def counting_read_file(item: Any, limits: Any) -> Any:
    """The real reader, logging each file it reads to ``reads.log`` beside the inbox folder."""
    log = item.path.parent.parent / "reads.log"
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"{item.path}\n")
    return real_read_file(item, limits)


def broken_task(items: Any, limits: Any, on_file: Any = None, **options: Any) -> Any:
    """A worker task that fails after reading, outside any file."""
    raise RuntimeError("a bug in judging")


def greedy_read_file(item: Any, limits: Any) -> Any:
    """Files whose name starts with "greedy" ask for 3 GB at once, as a decompression
    trick in a parser would; the others are read by the real reader."""
    if item.path.name.startswith("greedy"):
        hoard = bytearray(3_000_000_000)
        return hoard[:1]
    return real_read_file(item, limits)
