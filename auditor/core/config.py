"""Settings of an audit run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.core.errors import ConfigError

LANGUAGES = ("en", "nl")
MIN_MEMORY_BYTES = 500_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """Protection against files that would exhaust the machine.

    Each limit breached yields an ``unreadable-file`` finding that names the
    limit and the option that raises it.
    """

    max_file_bytes: int = 100_000_000
    max_unzipped_bytes: int = 500_000_000  # all parts of a workbook, inflated
    max_ratio: int = 200  # inflated / compressed size of a large part
    max_rows: int = 250_000  # rows a sheet claims
    timeout: float = 120.0  # seconds to read one file; 0 reads in this process without a limit
    # Address space of a worker process beyond its start-up (reading, judging,
    # annotating, rendering); below MIN_MEMORY_BYTES its own thread pools fail.
    max_memory_bytes: int = 4_000_000_000
    # Findings listed per proposal and per file; the rest are summed up in one.
    max_findings: int = 1000

    def __post_init__(self) -> None:
        sizes = (
            self.max_file_bytes,
            self.max_unzipped_bytes,
            self.max_ratio,
            self.max_rows,
            self.max_memory_bytes,
            self.max_findings,
        )
        if min(sizes) <= 0 or self.timeout < 0:
            raise ConfigError("limits must be positive numbers")
        if self.max_memory_bytes < MIN_MEMORY_BYTES:
            raise ConfigError(
                f"--max-memory must be at least {MIN_MEMORY_BYTES // 1_000_000} MB (a worker "
                "needs that much to judge anything)"
            )


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """What to audit with: language, extra rule sets, workers, limits."""

    lang: str = "en"
    rules_dirs: tuple[Path, ...] = ()
    workers: int | None = None  # None: decide from the batch size and the cores
    limits: Limits = field(default_factory=Limits)
    # The function reading one file in a worker (None: the workbook reader):
    # a function of a module, which the workers import by its name.
    reader: Callable[..., Any] | None = None
    # Follow symbolic links that lead out of the folders audited.
    follow_links: bool = False
    # The ECHE holders list Erasmus codes are checked against (None: the one shipped).
    eche: Path | None = None

    @property
    def reader_name(self) -> str | None:
        """The reader as ``module.function``: what a state remembers it by."""
        if self.reader is None:
            return None
        return f"{self.reader.__module__}.{self.reader.__qualname__}"

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ConfigError(f"language must be one of {', '.join(LANGUAGES)}, not {self.lang!r}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError("--workers must be at least 1")
