"""A golden answer for every action the rule sets define.

The samples golden (test_samples.py) covers the actions that have a sample
workbook; this one covers all of them, from the rule book itself: each
action's eligible consortium (tests/consortia.py) and three changes to it,
judged, each reduced to its verdict and its findings (code and cell). An
action added to the rule sets without an answer here fails, as does any
change in what the auditor says of these proposals.

    python tests/whole/test_every_action.py    # write the golden file again, then read its diff
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))

from auditor.api import judge  # noqa: E402
from auditor.core.catalogue import catalogue  # noqa: E402
from auditor.core.config import AuditConfig  # noqa: E402
from auditor.rules.examples import batch_from_specs  # noqa: E402
from auditor.rules.rulebook import RuleBook, load_rulebook  # noqa: E402
from tests.consortia import consortium, identities, variant  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "every-action.json"


def _without_coordinator(proposal: dict[str, Any]) -> dict[str, Any]:
    rows = [{**row, "role": "partner"} for row in proposal["partners"]]
    return {**proposal, "partners": rows}


CHANGES = {
    "eligible": lambda proposal: proposal,
    "variant": variant,
    "identities": identities,
    "no-coordinator": _without_coordinator,
}


def answers(book: RuleBook) -> dict[str, dict[str, Any]]:
    """Each action's answer to each change of its consortium, judged in one batch."""
    specs, names = [], {}
    for action in sorted(book.actions):
        base = consortium(book, action)
        for change, make in CHANGES.items():
            spec = make(base)
            # One proposal ID each, or the batch would find them all duplicates.
            number = f"{len(specs) + 1:09d}"
            project = {
                **spec["project"],
                "proposal_id": spec["project"]["proposal_id"][:-9] + number,
            }
            specs.append({**spec, "project": project})
            names[f"example-{len(specs)}.xlsx"] = (action, change)
    result = judge(batch_from_specs(specs, catalogue().bases), book, AuditConfig())
    assert sorted(p.file for p in result.proposals) == sorted(names)
    document: dict[str, dict[str, Any]] = {}
    for proposal in sorted(result.proposals, key=lambda p: names[p.file]):
        action, change = names[proposal.file]
        document.setdefault(action, {})[change] = {
            "verdict": str(proposal.verdict),
            "findings": [f"{f.code} {f.severity} {f.location or '-'}" for f in proposal.findings],
        }
    return document


def test_every_action_has_its_golden_answers(book: RuleBook) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = answers(book)
    assert sorted(found) == sorted(golden), "actions without a golden answer (or gone)"
    for action, changes in found.items():
        assert changes == golden[action], action
        # The consortium an action's template is tested with is eligible; a
        # consortium without a coordinator never is.
        # (KA210-HED is no action of its own: its key exists to be refused.)
        eligible = changes["eligible"]
        refused = {f.split()[0] for f in eligible["findings"]} == {"ELG311"}
        assert eligible["verdict"] == "eligible" or refused, action
        assert changes["no-coordinator"]["verdict"] == "ineligible", action


if __name__ == "__main__":
    GOLDEN.write_text(
        json.dumps(answers(load_rulebook()), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {GOLDEN}")
