"""Rules version 2 (actions.md v2): each change, with the case that went wrong before."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Judge, fired, rules_of


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


@pytest.mark.parametrize(
    ("spec", "rule", "severity"),
    [
        # Knowledge Alliances: 24 or 36 months, chosen when applying (not 24 to 36).
        ({"base": "knowledge-alliance", "project": {"duration_months": 30}}, "duration", "error"),
        ({"base": "knowledge-alliance", "project": {"duration_months": 24}}, "duration", None),
        # Sector Skills Alliances: two EU Member States in the 2014 call only.
        (
            {
                "base": "sector-skills-alliance",
                "project": {"call_year": 2016},
                "partners": [
                    "coordinator|NL|VET",
                    "partner|NL|CHAMBER",
                    "partner|NL|QUALIFICATION_BODY",
                    "partner|NO|VET",
                    "partner|NO|CHAMBER",
                    "partner|NO|PUBLIC_BODY",
                    "partner|IS|VET",
                    "partner|IS|CHAMBER",
                    "partner|IS|PUBLIC_BODY",
                ],
            },
            "min-eu-member-states",
            None,
        ),
        # ... and a coordinator in a programme country, and 24 or 36 months (a warning).
        (
            {"base": "sector-skills-alliance", "project": {"duration_months": 30}},
            "duration",
            "warning",
        ),
        # Lot 2: non-associated third countries only from Regions 1-3 from 2025 on.
        (
            {"base": "afi-lot2", "project": {"call_year": 2025}, "add": ["partner|US|VET"]},
            "third-country-region",
            "error",
        ),
        (
            {"base": "afi-lot2", "project": {"call_year": 2024}, "add": ["partner|US|VET"]},
            "third-country-region",
            None,
        ),
        # An associated partner asking a grant: an error in every action.
        (
            {"base": "afi-lot1", "add": ["associated|DE|NGO|grant=1000"]},
            "associated-partner-grant",
            "error",
        ),
        (
            {"base": "cove", "add": ["associated|DE|NGO|grant=1000"]},
            "associated-partner-grant",
            "error",
        ),
    ],
)
def test_v2_rule_changes(
    judge_specs: Judge, spec: dict[str, object], rule: str, severity: str | None
) -> None:
    assert fired(judge_specs, spec).get(rule) == severity


def test_sector_skills_alliances_check_the_coordinators_country(judge_specs: Judge) -> None:
    spec = {
        "base": "sector-skills-alliance",
        "partners": [
            "coordinator|US|VET",
            "partner|NL|VET",
            "partner|NL|CHAMBER",
            "partner|NL|QUALIFICATION_BODY",
            "partner|BE|VET",
            "partner|BE|CHAMBER",
            "partner|BE|PUBLIC_BODY",
            "partner|DE|VET",
            "partner|DE|CHAMBER",
            "partner|DE|PUBLIC_BODY",
        ],
    }
    assert fired(judge_specs, spec).get("coordinator-country") == "error"


@pytest.mark.parametrize(
    ("year", "months", "fires"),
    [(2016, 30, True), (2016, 24, False), (2019, 30, False), (2019, 37, True), (2016, 5, True)],
)
def test_youth_strategic_partnerships_durations_by_call_year(
    judge_specs: Judge, year: int, months: int, fires: bool
) -> None:
    spec = {
        "base": "strategic-partnership",
        "project": {
            "action": "KA205",
            "call_year": year,
            "duration_months": months,
            "partnership_type": None,
        },
        "partners": ["coordinator|NL|YOUTH", "partner|BE|NGO"],
    }
    assert ("duration" in fired(judge_specs, spec)) == fires


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Mobility – Transport – Automotive", "mobility"),
        ("Energy – Renewables", "renewable-energy"),
        ("Energy Intensive Industries", "energy-intensive"),
        ("Proximity, Social Economy and Civil Security", "proximity-social"),
        ("Cultural & Creative Industries", "creative-cultural"),
        ("Aerospace & Defence", "aerospace-defence"),
        ("Textiles", "textile"),
    ],
)
def test_the_official_long_names_of_the_industrial_ecosystems(written: str, code: str) -> None:
    from auditor.normalise.vocabulary import vocabulary

    assert vocabulary("industrial_ecosystem").lookup(written) == code


# Countries no action admits as full partners without a condition: outside the
# pools, in no confirmed region 1-3 (erasmus-regions.md).
_FAR_COUNTRIES = ["US", "CN", "BR", "IN", "ZA", "AU"]


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ({"base": "ka210"}, "third-country-not-allowed"),
        ({"base": "ka220", "project": {"call_year": 2026}}, "third-country-region"),
        ({"base": "afi-lot2", "project": {"call_year": 2025}}, "third-country-region"),
        ({"base": "knowledge-alliance"}, "third-country-justification"),
    ],
)
@settings(max_examples=6, deadline=None)
@given(country=st.sampled_from(_FAR_COUNTRIES))
def test_affiliated_entities_meet_the_country_limits_of_full_partners(
    judge_specs: Judge, spec: dict[str, object], rule: str, country: str
) -> None:
    """Whatever limits a full partner's country limits an affiliated entity's:
    the same row as a full partner and as an affiliated entity gets the same rule."""
    as_partner = fired(judge_specs, {**spec, "add": [f"partner|{country}|NGO"]})
    as_affiliated = fired(judge_specs, {**spec, "add": [f"affiliated|{country}|NGO"]})
    assert rule in as_partner
    assert as_affiliated.get(rule) == as_partner[rule]


def test_the_coordinator_country_rule_is_not_an_affiliated_entitys(judge_specs: Judge) -> None:
    """coordinator-country aside: it asks where the coordinator is, not its affiliates."""
    spec = {"base": "knowledge-alliance", "add": ["affiliated|US|NGO|justification=Unique lab"]}
    assert "coordinator-country" not in fired(judge_specs, spec)


# Each rule that version 2 changed or added, and the words of its v2 source.
V2_SOURCES = {
    "duration": ["2 or 3 years, chosen when applying", "KA205: 6 to 24 months in call years"],
    "min-eu-member-states": ["a requirement of the 2014 call only"],
    "coordinator-country": ["Sector Skills Alliances (applicant established in a programme"],
    "third-country-region": ["Programme Guide 2025, Alliances for Innovation (both lots"],
    "third-country-not-allowed": ["affiliated entities under the same country limits"],
    "associated-partner-grant": ["receive no funding, in any action"],
    "priority-required": ["placeholders (n/a, -, none, geen, nvt) are no priority"],
    "min-organisations": ["school-only partnerships of call years 2014-2017"],
    "erasmus-code-country": ["ISO forms GR and UK/GB"],
    "industrial-ecosystem": ["their official long names are read too"],
    "duplicate-organisation": ["normalised legal name (accents removed, ß folded)"],
    "eche-not-found": ["ECHE 2021-2027 holders list (or the agency's newer download)"],
    "eche-identity-mismatch": ["ECHE 2021-2027 holders list (or the agency's newer download)"],
}


@pytest.mark.parametrize("rule", sorted(V2_SOURCES))
def test_explain_shows_the_v2_source_of_each_changed_rule(rule: str) -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    done = CliRunner().invoke(cli, ["explain", rule])
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    for words in V2_SOURCES[rule]:
        assert words in said, words


def test_a_call_year_not_known_leaves_the_rules_that_need_it_unjudged(judge_specs: Judge) -> None:
    """Two schools, KA201, no call year anywhere (not written, not in the proposal
    ID): the minimum (2 in 2014-2017, 3 later) is not judged, the call year's
    own finding says why. Before v2 the default of later years (3) rejected it."""
    spec = {
        **_ka201(2016, ["coordinator|NL|SCHOOL", "partner|BE|SCHOOL"]),
        "proposal_id": "KA201-SCHOOLS-0001",
    }
    spec["project"] = {**spec["project"], "call_year": None}  # type: ignore[dict-item]
    result = judge_specs(spec)
    (proposal,) = result.proposals
    assert [f.rule for f in proposal.findings] == ["missing-value"]
    assert proposal.findings[0].column == "call_year"
    # Rules that do not depend on the year are evaluated as usual.
    judged = {c.rule for c in proposal.checks if c.passed is not None}
    assert {"coordinator-missing", "duration", "priority-required"} <= judged
    assert "min-organisations" not in judged


def test_sector_skills_alliances_compose_every_country_involved(judge_specs: Judge) -> None:
    """SSA: "in every country involved" (partner countries too); CoVE: each pool
    country involved. Before: a US VET provider alone passed in an SSA."""
    ssa = fired(judge_specs, {"base": "sector-skills-alliance", "add": ["partner|US|VET"]})
    assert ssa.get("per-country-composition") == "error"
    cove = fired(
        judge_specs,
        {"base": "cove", "add": ["partner|US|VET|justification=Unique testing lab"]},
    )
    assert "per-country-composition" not in cove


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        # Serbia is a programme country from the 2019 call: with the year not
        # known, nothing that hangs on it is judged (before: Serbia counted).
        (None, set()),
        (2018, {"min-organisations", "min-countries", "third-country-justification"}),
        (2019, set()),
    ],
)
def test_a_membership_of_some_years_with_the_call_year_not_known(
    judge_specs: Judge, year: int | None, expected: set[str]
) -> None:
    spec = {
        "base": "strategic-partnership",
        "proposal_id": "KA202-SERBIA-0001",
        "project": {"action": "KA202", "call_year": year, "partnership_type": None},
        "partners": ["coordinator|NL|VET", "partner|BE|VET", "partner|RS|VET"],
    }
    found = set(fired(judge_specs, spec)) - {"missing-value"}
    assert found == expected


def test_a_late_fraction_of_a_second_reads_as_late(judge_specs: Judge) -> None:
    """Before: "Submitted on 2024-03-07 17:00, after the deadline of 2024-03-07 17:00"."""
    spec = {"base": "afi-lot1", "project": {"submitted_at": "2024-03-07 17:00:00.250"}}
    result = judge_specs(spec)
    (late,) = [f for p in result.proposals for f in p.findings if f.rule == "deadline"]
    assert "17:00:00.25" in late.message and "deadline of 2024-03-07 17:00." in late.message
