"""Rules version 2 (actions.md v2): each change, with the case that went wrong before."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Judge, rules_of


def _ka201(year: int, partners: list[str]) -> dict[str, object]:
    return {
        "base": "strategic-partnership",
        "project": {"action": "KA201", "call_year": year, "partnership_type": None},
        "partners": partners,
    }


@pytest.mark.parametrize(
    ("year", "partners", "eligible"),
    [
        # Two schools from two programme countries: school-only, 2014-2017 only.
        (2016, ["coordinator|NL|SCHOOL", "partner|BE|SCHOOL"], True),
        (2018, ["coordinator|NL|SCHOOL", "partner|BE|SCHOOL"], False),
        # A partner-country enterprise: not school-only, whatever counts (before
        # v2 it was judged on pool-country organisations alone, and passed).
        (2016, ["coordinator|NL|SCHOOL", "partner|BE|SCHOOL", "partner|US|ENTERPRISE"], False),
        # An associated partner is no coordinator or full partner: still school-only.
        (2016, ["coordinator|NL|SCHOOL", "partner|BE|SCHOOL", "associated|DE|NGO"], True),
    ],
)
def test_school_only_is_every_coordinator_and_full_partner_in_2014_to_2017(
    judge_specs: Judge, year: int, partners: list[str], eligible: bool
) -> None:
    result = judge_specs(_ka201(year, partners))
    fired = rules_of(result) & {"min-organisations", "min-countries"}
    assert (not fired) == eligible, [f.message for f in result.proposals[0].findings]


@settings(max_examples=30, deadline=None)
@given(
    accents=st.sampled_from(
        [
            ("Università di Bologna", "UNIVERSITA DI BOLOGNA"),
            ("Technische Universität München", "TECHNISCHE UNIVERSITAT MUNCHEN"),
            ("Großstadt Schule", "GROSSSTADT SCHULE"),
            ("École  normale—supérieure", "ecole normale superieure"),
            ("ＡＢＣ Foundation", "abc foundation"),
        ]
    )
)
def test_the_normalised_legal_name_folds_accents_case_and_eszett(
    judge_specs: Judge, accents: tuple[str, str]
) -> None:
    """Two rows without identifiers, same country, names equal once normalised: one
    organisation (counted once, and a duplicate-organisation finding)."""
    first, second = accents
    result = judge_specs(
        {
            "base": "ka220",
            "partners": [
                "coordinator|NL|SCHOOL",
                f"partner|DE|SCHOOL|name={first}|oid=|pic=",
                f"partner|DE|SCHOOL|name={second}|oid=|pic=",
            ],
        }
    )
    assert result.proposals[0].metrics["organisations"] == 2


@pytest.mark.parametrize(
    ("country", "code"),
    [("EL", "G  ATHINE01"), ("EL", "GR ATHINE01"), ("UK", "UK LONDON01"), ("UK", "GB LONDON01")],
)
def test_iso_forms_gr_and_gb_in_erasmus_codes_are_their_countries(
    judge_specs: Judge, country: str, code: str
) -> None:
    result = judge_specs(
        {
            "base": "strategic-partnership",
            "partners": [
                "coordinator|NL|HEI|erasmus_code=NL GRONING01",
                "partner|BE|HEI|erasmus_code=B  ANTWERP01",
                f"partner|{country}|HEI|erasmus_code={code}",
            ],
        }
    )
    assert "erasmus-code-country" not in rules_of(result)
