"""What changed between two runs: new, withdrawn, fixed and broken proposals, findings.

A run's conclusions are kept as snapshots: per proposal (its file and ID) the
verdict and the findings, per file its verdict and the findings about the file
itself. Comparing two snapshots gives the "since last run" section of a
run's reports and ``auditor diff``. A finding is the same finding in both
runs when its code and cell are (its message may name values that changed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.core.findings import Finding

# (code, rule, severity, location, message)
FindingRow = tuple[str, str, str, str, str]
ProposalKey = tuple[str, str]  # (file, proposal ID)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one run concluded about a proposal or a file: its verdict and findings.

    The findings are kept as the JSON text the state stores: two runs are
    compared by text, and only what changed is parsed.
    """

    verdict: str
    text: str  # JSON list of FindingRow

    @property
    def findings(self) -> tuple[FindingRow, ...]:
        return tuple(tuple(row) for row in json.loads(self.text))

    @classmethod
    def of(cls, verdict: str, findings: Sequence[Finding]) -> Observation:
        if not findings:  # most proposals and files: no JSON to make
            return cls(str(verdict), "[]")
        rows = [(f.code, f.rule, str(f.severity), f.location(), f.message) for f in findings]
        return cls(str(verdict), json.dumps(rows, ensure_ascii=False, separators=(",", ":")))


@dataclass(frozen=True)
class Snapshot:
    proposals: Mapping[ProposalKey, Observation] = field(default_factory=dict)
    files: Mapping[str, Observation] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunRef:
    id: int
    started_at: str


@dataclass(frozen=True, slots=True)
class ProposalChange:
    file: str
    proposal_id: str
    before: str | None  # verdict in the earlier run; None: not there
    after: str | None  # verdict in the later run; None: withdrawn
    added: tuple[FindingRow, ...] = ()
    resolved: tuple[FindingRow, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "file": self.file,
            "before": self.before,
            "after": self.after,
            "findings_added": [_finding(row) for row in self.added],
            "findings_resolved": [_finding(row) for row in self.resolved],
        }


def _finding(row: FindingRow) -> dict[str, str | None]:
    code, rule, severity, location, message = row
    return {
        "code": code,
        "rule": rule,
        "severity": severity,
        "location": location or None,
        "message": message,
    }


@dataclass(frozen=True)
class Changes:
    """The difference between an earlier run (``since``; None: there was none) and a later one."""

    since: RunRef | None
    new: tuple[ProposalChange, ...] = ()
    withdrawn: tuple[ProposalChange, ...] = ()
    fixed: tuple[ProposalChange, ...] = ()  # ineligible -> eligible
    broken: tuple[ProposalChange, ...] = ()  # eligible -> ineligible
    changed: tuple[ProposalChange, ...] = ()  # same verdict, other findings
    unreadable: tuple[str, ...] = ()  # files that could be read before, and now cannot
    readable: tuple[str, ...] = ()  # files that could not be read before, and now can
    unchanged: int = 0

    @property
    def findings_added(self) -> int:
        return sum(len(c.added) for c in self._all())

    @property
    def findings_resolved(self) -> int:
        return sum(len(c.resolved) for c in self._all())

    def _all(self) -> Iterable[ProposalChange]:
        return (*self.new, *self.withdrawn, *self.fixed, *self.broken, *self.changed)

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "withdrawn": len(self.withdrawn),
            "fixed": len(self.fixed),
            "broken": len(self.broken),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "findings_added": self.findings_added,
            "findings_resolved": self.findings_resolved,
            "became_unreadable": len(self.unreadable),
            "became_readable": len(self.readable),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "since_run": (
                {"id": self.since.id, "started_at": self.since.started_at} if self.since else None
            ),
            "counts": self.counts(),
            "new": [c.to_dict() for c in self.new],
            "withdrawn": [c.to_dict() for c in self.withdrawn],
            "fixed": [c.to_dict() for c in self.fixed],
            "broken": [c.to_dict() for c in self.broken],
            "changed": [c.to_dict() for c in self.changed],
            "became_unreadable": list(self.unreadable),
            "became_readable": list(self.readable),
        }


def _identity(row: FindingRow) -> tuple[str, str]:
    return row[0], row[3]


def _difference(
    rows: tuple[FindingRow, ...], others: tuple[FindingRow, ...]
) -> tuple[FindingRow, ...]:
    known = {_identity(row) for row in others}
    return tuple(row for row in rows if _identity(row) not in known)


_GONE = Observation("gone", "[]")


def compare(before: Snapshot, after: Snapshot, since: RunRef | None) -> Changes:
    """What changed from ``before`` (the run ``since``) to ``after``."""
    new, withdrawn, fixed, broken, changed = [], [], [], [], []
    unchanged = 0
    for key in sorted(before.proposals.keys() | after.proposals.keys()):
        old, now = before.proposals.get(key), after.proposals.get(key)
        if old == now:
            unchanged += 1
            continue
        earlier = old.findings if old else ()  # parsed only for what changed
        later = now.findings if now else ()
        added, resolved = _difference(later, earlier), _difference(earlier, later)
        change = ProposalChange(
            key[0],
            key[1],
            old.verdict if old else None,
            now.verdict if now else None,
            added,
            resolved,
        )
        if old is None:
            new.append(change)
        elif now is None:
            # A file that became unreadable is told as such, not as withdrawn.
            if after.files.get(key[0], _GONE).verdict != "unreadable":
                withdrawn.append(change)
        elif old.verdict == "ineligible" and now.verdict == "eligible":
            fixed.append(change)
        elif old.verdict == "eligible" and now.verdict == "ineligible":
            broken.append(change)
        elif added or resolved:
            changed.append(change)
        else:
            unchanged += 1  # the same findings, reworded
    became = [
        file
        for file, now in sorted(after.files.items())
        if now.verdict == "unreadable"
        and (file not in before.files or before.files[file].verdict != "unreadable")
    ]
    readable = [
        file
        for file, old in sorted(before.files.items())
        if old.verdict == "unreadable"
        and file in after.files
        and after.files[file].verdict != "unreadable"
    ]
    return Changes(
        since,
        tuple(new),
        tuple(withdrawn),
        tuple(fixed),
        tuple(broken),
        tuple(changed),
        tuple(became),
        tuple(readable),
        unchanged,
    )
