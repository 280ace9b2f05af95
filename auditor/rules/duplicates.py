"""The one rule over the whole batch: a proposal ID in two places.

Judged once every chunk is in (api.py settles it): every place is told of
the others, one finding per copy however many copies (linear, not quadratic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from auditor.core.findings import FindingDraft, sort_findings, verdict_of
from auditor.core.results import ProposalResult
from auditor.rules.verdicts import in_words

# The other places a duplicate proposal ID's finding names (the rest are counted).
OTHERS_NAMED = 5


def _place(proposal: ProposalResult) -> str:
    if proposal.in_export:
        return f"{proposal.file} ({proposal.project_sheet}!{proposal.id_cell or ''})"
    return proposal.file


def _order(proposal: ProposalResult) -> tuple[str, int]:
    """Places in reading order: by file, then by row on a Proposals sheet."""
    row = proposal.id_cell.row if proposal.in_export and proposal.id_cell else 0
    return (proposal.file, row)


def duplicate_ids(proposals: Sequence[ProposalResult]) -> dict[str, FindingDraft]:
    """The draft for each proposal (by key) whose ID another proposal of the batch has too."""
    groups: dict[str, list[ProposalResult]] = {}
    for proposal in proposals:
        if proposal.proposal_id:
            groups.setdefault(proposal.proposal_id, []).append(proposal)
    drafts: dict[str, FindingDraft] = {}
    for proposal_id, copies in groups.items():
        if len(copies) < 2:
            continue
        named = [_place(copy) for copy in sorted(copies, key=_order)]
        for copy in copies:
            own = _place(copy)
            shown = [other for other in named[: OTHERS_NAMED + 1] if other != own]
            shown = shown[:OTHERS_NAMED]
            more = len(copies) - 1 - len(shown)
            params: dict[str, Any] = {"other": ", ".join(shown)}
            if more > 0:
                params.update(variant="many", more=more)
            drafts[copy.key] = FindingDraft(
                "duplicate-proposal-id",
                params=params,
                sheet=copy.project_sheet,
                cell=copy.id_cell,
                column="proposal_id",
                value=proposal_id,
            )
    return drafts


def with_draft(proposal: ProposalResult, draft: FindingDraft, lang: str) -> ProposalResult:
    """``proposal`` told of its duplicate: the finding added, the verdict again."""
    findings = sort_findings([*proposal.findings, *in_words([draft], proposal.file, lang, 1)])
    return replace(proposal, findings=findings, verdict=verdict_of(findings))
