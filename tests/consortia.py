"""A consortium for every action the rule sets define, and variations of it.

The template tests fill these into each action's template; the every-action
golden test judges them. Built from the catalogue's example bases, so a new
action gets one without a line here (MORE: what an action asks beyond its
family's base).
"""

from __future__ import annotations

from typing import Any

from auditor.core.catalogue import catalogue
from auditor.rules.examples import expand
from auditor.rules.rulebook import RuleBook
from auditor.template.workbook import shown_fields

# A consortium for every action: its rule set's example base (catalogue.yaml
# ``bases``), the base of the action itself where there is one; these actions
# ask more than their family's base gives.
MORE = {
    "CBHE": {"strand": "1"},
    "CBHE-S2": {"requested_grant_eur": 500000},
    "CBHE-S3": {"add": ["partner|GE|MINISTRY", "partner|AM|MINISTRY"]},
    "NFPSE-LS": {"requested_grant_eur": 1500000, "number_of_sports": 8},
}


def consortium(book: RuleBook, action: str) -> dict[str, Any]:
    """An eligible proposal for ``action`` (the template tests check it is)."""
    bases = catalogue().bases
    ruleset = book.ruleset_of(action)
    assert ruleset is not None
    own = [name for name, base in bases.items() if base.get("action") == action]
    family = [name for name, base in bases.items() if base.get("action") in ruleset.actions]
    name = (own or family)[0]
    base = {k: v for k, v in bases[name].items() if k != "proposal_id"}
    more = dict(MORE.get(action, {}))
    proposal = expand(
        {"base": name, "add": more.pop("add", []), "project": {**more, "action": action}},
        {name: base},
    )
    # The fields of the family's other actions that this action's template does not show.
    shown = set(shown_fields(book, action))
    proposal["project"] = {k: v for k, v in proposal["project"].items() if k in shown}
    return proposal


def variant(proposal: dict[str, Any]) -> dict[str, Any]:
    """The consortium changed where counts differ: its last partner gone, a
    third-country HEI and the coordinator listed twice (one organisation)."""
    partners = [dict(row) for row in proposal["partners"][:-1]]
    twice = {**partners[0], "role": "partner"}
    third = {
        "role": "partner",
        "country": "UA",
        "organisation_type": "HEI",
        "organisation_name": "Kyiv Polytechnic",
    }
    rows = [*partners, twice, third]
    return {
        "project": proposal["project"],
        "partners": [{**row, "partner_no": str(i + 1)} for i, row in enumerate(rows)],
    }


def identities(proposal: dict[str, Any]) -> dict[str, Any]:
    """The consortium where identity and the call year take reading: no call
    year (the proposal ID gives it), the first partner again with its OID
    written with spaces, and again by its PIC alone."""
    partners = [dict(row) for row in proposal["partners"]]
    first = partners[0]
    again = []
    if first.get("oid"):
        oid = str(first["oid"])
        again.append({**first, "role": "partner", "oid": f"{oid[:5]} {oid[5:]}", "pic": None})
    again.append({**first, "role": "partner", "oid": None, "pic": "912345678"})
    again.append(
        {
            **first,
            "role": "partner",
            "oid": None,
            "pic": "912 345 678",
            "organisation_name": "Other name",
        }
    )
    rows = [*partners, *again]
    project = {k: v for k, v in proposal["project"].items() if k != "call_year"}
    return {
        "project": project,
        "partners": [{**row, "partner_no": str(i + 1)} for i, row in enumerate(rows)],
    }
