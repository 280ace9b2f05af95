"""Counting as data (rules/counting.py): every count a rule set can declare.

A probe rule set compares every count with 0, so each proposal gets a check
per count with the measured value; hypothesis writes consortia and the
counts are compared with a plain Python reading of actions.md "Counting
scopes". The usual count of each composition rule is also the results.json
metric of the same name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.api import judge
from auditor.core.catalogue import catalogue
from auditor.core.config import AuditConfig
from auditor.rules.counting import DEFAULTS, METRIC_OF_RULE
from auditor.rules.examples import batch_from_specs
from auditor.rules.rulebook import RuleBook, load_rulebook

POOL = {"NL", "BE", "DE", "FR", "NO", "TR"}
EU = {"NL", "BE", "DE", "FR"}
THIRD = ["UA", "EG", "US", "CN"]
TYPES = ["HEI", "VET", "SCHOOL", "ENTERPRISE", "NGO"]
ROLES = ["coordinator", "partner", "partner", "associated", "affiliated"]
# Declared counts beyond the defaults: name -> count.
DECLARED: dict[str, dict[str, Any]] = {
    "eligible": {"what": "organisations", "scope": "eligible"},
    "listed": {"what": "organisations", "scope": "listed"},
    "third-countries": {"what": "countries", "scope": "eligible", "among": "third"},
    "third-heis": {"scope": "eligible", "among": "third", "categories": ["hei"]},
    "hei-countries": {"what": "countries", "categories": ["hei"]},
    "heis-per-third-country": {
        "scope": "eligible",
        "among": "third",
        "categories": ["HEI"],
        "per": "country",
    },
}


def _probe(folder: Path) -> RuleBook:
    rules: list[dict[str, Any]] = [{"rule": name, "min": 0} for name in sorted(DEFAULTS)]
    # Each declared count once, on a rule whose default is another count.
    rules += [
        {"rule": "min-organisations", "count": count, "min": 0, "source": name}
        for name, count in DECLARED.items()
    ]
    document = {"id": "probe", "actions": ["KA299-PROBE"], "pool": "eu-2021", "rules": rules}
    (folder / "probe.yaml").write_text(json.dumps(document), encoding="utf-8")
    return load_rulebook([folder])


def _expected(rows: list[tuple[str, str, str, int]]) -> dict[str, Any]:
    """The counts read as a person reads actions.md (organisation = its OID here)."""
    full = [r for r in rows if r[0] in ("coordinator", "partner")]
    pool = [r for r in full if r[1] in POOL]
    third = [r for r in full if r[1] not in POOL]
    per_third: dict[str, set[int]] = {}
    for _, country, kind, org in third:
        if kind == "HEI":
            per_third.setdefault(country, set()).add(org)
    third_countries = {r[1] for r in third}
    return {
        "min-organisations": len({r[3] for r in pool}),
        "min-countries": len({r[1] for r in pool}),
        "min-eu-member-states": len({r[1] for r in pool if r[1] in EU}),
        "min-hei": len({r[3] for r in pool if r[2] == "HEI"}),
        "min-vet": len({r[3] for r in pool if r[2] == "VET"}),
        "min-enterprises": len({r[3] for r in pool if r[2] == "ENTERPRISE"}),
        "eligible": len({r[3] for r in full}),
        "listed": len({r[3] for r in rows if r[0] != "affiliated"}),
        "third-countries": len(third_countries),
        "third-heis": len({r[3] for r in third if r[2] == "HEI"}),
        "hei-countries": len({r[1] for r in pool if r[2] == "HEI"}),
        "heis-per-third-country": (
            min(len(per_third.get(c, set())) for c in third_countries) if third_countries else None
        ),
    }


_ROW = st.tuples(
    st.sampled_from(ROLES),
    st.sampled_from(sorted(POOL) + THIRD),
    st.sampled_from(TYPES),
    st.integers(0, 5),  # the organisation: rows with the same number share an OID
)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=9))
def test_every_count_is_the_contracts_reading(
    tmp_path_factory: Any, rows: list[tuple[str, str, str, int]]
) -> None:
    # One organisation is in one country, of one type (else the OID is a duplicate).
    first: dict[int, tuple[str, str]] = {}
    rows = [(role, *first.setdefault(org, (c, k)), org) for role, c, k, org in rows]
    book = _probe(tmp_path_factory.mktemp("rules"))
    spec = {
        "action": "KA299-PROBE",
        "call_year": 2024,
        "proposal_id": "2024-1-NL01-KA299-PROBE-000000001",
        "partners": [
            f"{role}|{country}|{kind}|oid=E1{org:07d}" for role, country, kind, org in rows
        ],
    }
    result = judge(batch_from_specs([spec], catalogue().bases), book, AuditConfig())
    (proposal,) = result.proposals
    measured = {
        check.source if check.source in DECLARED else check.rule: check.measured
        for check in proposal.checks
        if check.rule in DEFAULTS
    }
    expected = _expected(rows)
    for name, value in expected.items():
        assert measured[name] == value, (name, rows)
    # The usual count of each rule is the results.json metric of that name.
    for rule, metric in METRIC_OF_RULE.items():
        assert measured[rule] == proposal.metrics[metric], rule


def test_a_count_the_loader_cannot_read_is_refused_by_name(tmp_path: Path) -> None:
    import pytest

    from auditor.core.errors import RulesError

    for count, says in [
        ({"scope": "everyone"}, "scope is one of pool, eligible, listed"),
        ({"what": "people"}, "what is one of organisations, countries"),
        ({"per": "region"}, "per is one of country"),
        ({"colour": "red"}, "'colour' is not one of"),
    ]:
        document = {
            "id": "bad",
            "actions": ["KA299-BAD"],
            "pool": "eu-2021",
            "rules": [{"rule": "min-organisations", "count": count, "min": 1}],
        }
        (tmp_path / "bad.yaml").write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(RulesError, match=says):
            load_rulebook([tmp_path])
    document["rules"] = [{"rule": "min-organisations", "count": {"scope": "eligible"}}]
    (tmp_path / "bad.yaml").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(RulesError, match="give one of min, max, exactly or one_of"):
        load_rulebook([tmp_path])
