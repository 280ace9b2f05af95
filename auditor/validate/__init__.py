"""The second stage: the rows of a read batch, normalised and validated.

``validate(batch, actions)`` cleans every field (normalise/) and checks every
row with pandera (validate/checks.py), in one lazy call per table. pandera is
imported when rows are first validated, not with this package: the stages
after this one name ``Validated``, and a nightly run that reuses every stored
result never pays for pandera.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from auditor.core.findings import FindingDraft, merged_drafts
from auditor.normalise.frames import normalise_partners, normalise_projects
from auditor.read.model import FileRead, ProposalSource, ReadBatch

Drafts = dict[str, list[FindingDraft]]


class Actions(Protocol):
    """What validating needs to know of the actions (the rule book has it)."""

    def lookup_action(self, text: str) -> tuple[str | None, int | None]: ...

    def strand_action(self, action: str, strand: int) -> str | None: ...

    @property
    def actions_with_strands(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Validated:
    """A read batch after validation: the normalised rows, and every draft so far.

    ``drafts``: per proposal key, what the reader and validation found;
    ``files`` and ``sources`` are the reader's, handed on.
    """

    projects: pl.DataFrame
    partners: pl.DataFrame
    drafts: Drafts
    sources: Mapping[str, ProposalSource]
    files: list[FileRead]


def validate(batch: ReadBatch, actions: Actions) -> Validated:
    """Normalise the rows of ``batch`` and validate them."""
    from auditor.validate.checks import validate_partners, validate_projects

    projects = normalise_projects(batch.projects, actions.lookup_action, actions.strand_action)
    partners = normalise_partners(batch.partners)
    required = {"strand": actions.actions_with_strands}
    drafts = merged_drafts(
        batch.drafts,
        validate_projects(projects, batch.sources, required),
        validate_partners(partners, batch.sources),
    )
    return Validated(projects, partners, drafts, batch.sources, batch.files)
