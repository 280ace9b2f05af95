"""Settings of an audit run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auditor.core.errors import ConfigError

LANGUAGES = ("en", "nl")


@dataclass(frozen=True, slots=True)
class Limits:
    """Protection against files that would exhaust the machine.

    Each limit breached yields an ``unreadable-file`` finding that names the
    limit and the option that raises it.
    """

    max_file_bytes: int = 50_000_000
    max_rows: int = 250_000

    def __post_init__(self) -> None:
        if self.max_file_bytes <= 0 or self.max_rows <= 0:
            raise ConfigError("limits must be positive numbers")


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """What to audit with: language, extra rule sets, workers, limits."""

    lang: str = "en"
    rules_dirs: tuple[Path, ...] = ()
    workers: int | None = None  # None: decide from the batch size and the cores
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ConfigError(f"language must be one of {', '.join(LANGUAGES)}, not {self.lang!r}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError("--workers must be at least 1")
