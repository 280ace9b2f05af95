"""What changed between two runs: new, withdrawn, fixed and broken proposals, findings.

A run's conclusions are kept as snapshots: per proposal (its file and ID) the
verdict and the findings, per file its verdict and the findings about the file
itself. Comparing two snapshots gives the "since last run" section of a
run's reports and ``auditor diff``. A finding is the same finding in both
runs when its code and place are (``Finding.identity``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.core.findings import Cell, Finding, Severity
from auditor.state.blobs import DamagedBlob, finding, finding_data

ProposalKey = tuple[str, str]  # (file, proposal ID)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one run concluded about a proposal or a file: its verdict and findings.

    The findings are kept as the JSON text the state stores (each as
    state/blobs.py keeps a finding): two runs are compared by text, and only
    what changed is parsed.
    """

    verdict: str
    text: str  # JSON list of findings (state/blobs.py finding_data)

    @property
    def findings(self) -> tuple[Finding, ...]:
        try:
            rows = json.loads(self.text)
            return tuple(_legacy(row) if len(row) == 5 else finding(row) for row in rows)
        except (ValueError, TypeError, DamagedBlob):
            return ()  # a damaged conclusion: its findings are not compared

    @classmethod
    def of(cls, verdict: str, findings: Sequence[Finding]) -> Observation:
        if not findings:  # most proposals and files: no JSON to make
            return cls(str(verdict), "[]")
        rows = [finding_data(f) for f in findings]
        return cls(str(verdict), json.dumps(rows, ensure_ascii=False, separators=(",", ":")))


def _legacy(row: list[str]) -> Finding:
    """A finding as states written before BLOB_VERSION 2 kept a run's conclusions:
    (code, rule, severity, "Sheet!F7", message)."""
    code, rule, severity, location, message = (str(part) for part in row)
    sheet, _, address = location.partition("!")
    cell = Cell.parse(address) if address else None
    return Finding(code, rule, Severity(severity), message, sheet or None, cell)


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
    added: tuple[Finding, ...] = ()
    resolved: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "file": self.file,
            "before": self.before,
            "after": self.after,
            "findings_added": [_change(f) for f in self.added],
            "findings_resolved": [_change(f) for f in self.resolved],
        }


def _change(finding: Finding) -> dict[str, str | None]:
    """A finding added or resolved, as ``since_last_run`` lists it."""
    return {
        "code": finding.code,
        "rule": finding.rule,
        "severity": str(finding.severity),
        "location": finding.location or None,
        "message": finding.message,
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


def _difference(findings: tuple[Finding, ...], others: tuple[Finding, ...]) -> tuple[Finding, ...]:
    known = {other.identity() for other in others}
    return tuple(f for f in findings if f.identity() not in known)


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
