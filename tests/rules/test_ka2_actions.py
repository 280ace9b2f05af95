"""Actions 9-17 and KA229 (issue 13): the cases an independent review of the rule
data found misjudged, each a verdict that was wrong before its fix."""

from __future__ import annotations

import pytest

from auditor.rules.rulebook import RuleBook
from auditor.template.workbook import build_template
from tests.conftest import Judge, fired
from tests.whole.test_cli import run


@pytest.mark.parametrize(
    ("spec", "rule", "severity"),
    [
        # A third-country coordinator is under the region limit too (before: eligible).
        (
            {
                "base": "cb-you",
                "project": {"call_year": 2025, "submitted_at": None},
                "partners": [
                    "coordinator|US|NGO",
                    "partner|NL|NGO",
                    "partner|UA|NGO",
                    "partner|MD|NGO",
                ],
            },
            "third-country-region",
            "error",
        ),
        (
            {
                "base": "cbhe-s1",
                "partners": [
                    "coordinator|US|HEI",
                    "partner|NL|HEI",
                    "partner|BE|HEI",
                    "partner|GE|HEI",
                    "partner|GE|HEI",
                ],
            },
            "third-country-region",
            "error",
        ),
        # Belarus is excluded only where a source says so (before: an error in CB-VET).
        ({"base": "cb-vet", "add": ["partner|BY|VET"]}, "third-country-region", None),
        # CBHE 2023: EUR 200,000 to 1,000,000, every strand (before: no ceiling).
        (
            {
                "base": "cbhe-s1",
                "project": {
                    "action": "CBHE-S3",
                    "call_year": 2023,
                    "duration_months": 48,
                    "requested_grant_eur": 3000000,
                    "submitted_at": "2023-02-10 10:00",
                },
            },
            "grant-ceiling",
            "error",
        ),
        # EMDM counts the HEIs it names, paid or not (before: two pool countries
        # missing when the partner HEIs were associated).
        (
            {
                "base": "emdm",
                "project": {"call_year": 2023, "requested_grant_eur": 55000, "submitted_at": None},
                "partners": [
                    "coordinator|NL|HEI|grant=55000",
                    "associated|BE|HEI",
                    "associated|CA|HEI",
                ],
            },
            "min-countries",
            None,
        ),
        # A date without its hour is a warning (before: an error at 17:00).
        (
            {"base": "emjm", "project": {"call_year": 2022, "submitted_at": "2022-02-16 18:00"}},
            "deadline",
            "warning",
        ),
    ],
)
def test_reviewed_cases(
    judge_specs: Judge, spec: dict[str, object], rule: str, severity: str | None
) -> None:
    assert fired(judge_specs, spec).get(rule) == severity


@pytest.mark.parametrize(
    ("topic", "country", "expected"),
    [
        # A regional topic admits its own region only (before: any of Regions 1-3).
        ("ERASMUS-YOUTH-2025-CB-SMC", "UA", "error"),  # Region 2 in a Region 3 topic
        ("ERASMUS-YOUTH-2025-CB-SMC", "TN", None),
        ("ERASMUS-YOUTH-2025-CB-NE", "UA", None),
        ("ERASMUS-YOUTH-2025-CB-NE", "AL", "error"),
    ],
)
def test_a_regional_topic_admits_its_region(
    judge_specs: Judge, topic: str, country: str, expected: str | None
) -> None:
    spec = {
        "base": "cb-you",
        "project": {"action": topic, "call_year": 2025, "submitted_at": None},
        "partners": [
            "coordinator|NL|NGO",
            "partner|BE|YOUTH",
            f"partner|{country}|NGO",
            f"partner|{country}|YOUTH",
        ],
    }
    assert fired(judge_specs, spec).get("third-country-region") == expected


def test_the_topic_id_field_names_the_topic(judge_specs: Judge) -> None:
    """The Topic ID field says the topic where the action is given as its key."""
    spec = {
        "base": "cb-vet",
        "project": {
            "call_year": 2025,
            "submitted_at": None,
            "topic_id": "ERASMUS-EDU-2025-CB-VET-SSA",
        },
    }
    # UA and MD (Region 2) in a Sub-Saharan Africa topic (Region 9).
    assert fired(judge_specs, spec).get("third-country-region") == "error"


def test_cbhe_reads_its_strand(judge_specs: Judge) -> None:
    """CBHE with its Strand is that strand's action; without, the strand is missing
    (schemas/project.yaml required_for) and the strand's rules do not apply."""
    with_strand = {"base": "cbhe-s1", "project": {"action": "CBHE", "strand": 1}}
    assert fired(judge_specs, with_strand) == {}
    without = judge_specs({"base": "cbhe-s1", "project": {"action": "CBHE"}})
    (finding,) = [f for p in without.proposals for f in p.findings]
    assert (finding.rule, finding.column) == ("missing-value", "strand")
    assert "duration" not in fired(
        judge_specs, {**with_strand, "project": {"action": "CBHE", "duration_months": 30}}
    )


def _cbhe_2026(topic: str, countries: list[str]) -> dict[str, object]:
    """A CBHE proposal of the 2026 call in a topic, two pool HEIs and two HEIs
    from each of ``countries``."""
    return {
        "base": "cbhe-s1",
        "project": {
            "call_year": 2026,
            "submitted_at": None,
            "requested_grant_eur": 300000,
            "topic_id": f"ERASMUS-EDU-2026-CBHE-{topic}",
        },
        "partners": [
            "coordinator|NL|HEI|erasmus_code=NL AMSTERD01|oid=E10209442",
            "partner|BE|HEI|erasmus_code=B  GENT01|oid=E10209444",
            *(f"partner|{country}|HEI" for country in countries for _ in range(2)),
        ],
    }


@pytest.mark.parametrize(
    ("topic", "partners", "findings"),
    [
        # Region 2 partners in a Region 3 topic: only the topic's reading keeps
        # them out, and it is not confirmed: a warning each, naming the call text.
        ("REGION-3", ["GE", "AM"], [("region-unconfirmed", "warning")] * 2),
        ("REGION-2", ["GE", "AM"], []),
        ("CROSS-REGIONAL", ["GE", "TN"], []),
        # Outside every region CBHE admits: an error whatever the topic says.
        (
            "REGION-3",
            ["GE", "US"],
            [("region-unconfirmed", "warning"), ("third-country-region", "error")],
        ),
    ],
)
def test_cbhe_2026_regional_topics(
    judge_specs: Judge, topic: str, partners: list[str], findings: list[tuple[str, str]]
) -> None:
    """CBHE 2026 topics per region ([U] in ka2-other-actions.md 12): a country
    the topic's region leaves out is a warning to check, not an error."""
    result = judge_specs(_cbhe_2026(topic, partners))
    got = sorted(
        (f.rule, str(f.severity))
        for p in result.proposals
        for f in p.findings
        if f.rule in ("region-unconfirmed", "third-country-region")
    )
    assert got == sorted(f for f in findings for _ in range(2))
    for finding in (f for p in result.proposals for f in p.findings):
        if finding.rule == "region-unconfirmed":
            assert finding.column == "country" and "ERASMUS-EDU-2026-CBHE" in finding.message


# ka2-other-actions.md "Not found (no rule proposed)": the actions whose rules
# leave something unchecked for want of a source, and a word of what.
NOT_CHECKED = {
    "CB-SPORT": "composition",
    "CBHE-S1": "ECHE",
    "EMJM": "2026 deadline",
    "EMDM": "2024",
    "FLP": "2022 and 2023",
    "NFPSE-LS": "large-scale",
}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_what_is_not_checked_is_said(book: RuleBook, lang: str) -> None:
    """`auditor rules --action` and the template's instructions say what the
    action's rules leave unchecked (actions.md confidence policy)."""
    heading = {"en": "Not checked", "nl": "Niet gecontroleerd"}[lang]
    for action, word in NOT_CHECKED.items():
        shown = run("rules", "--action", action, "--lang", lang)
        assert shown.returncode == 0
        said = " ".join(shown.stdout.split())
        assert heading in said, action
        if lang == "en":
            assert word in said, action
        texts = [
            c.value
            for row in build_template(book, action, lang).worksheets[0].iter_rows()
            for c in row
            if isinstance(c.value, str)
        ]
        assert any(text.startswith(heading) for text in texts), action
    # Actions with nothing left unchecked say nothing of the kind.
    assert heading not in run("rules", "--action", "KA220-SCH", "--lang", lang).stdout


@pytest.mark.parametrize(
    ("topic", "country", "expected"),
    [
        # A topic narrows the action's regions, never widens them (review of issue 13).
        ("REGION-12", "US", "error"),  # CBHE admits no Region 12; the US is in none it admits
        ("REGION-4", "RU", "error"),  # Region 4 is not CBHE's
        ("REGION-99", "US", "error"),
        ("REGION-2", "UA", None),
    ],
)
def test_a_regional_topic_never_widens_the_actions_regions(
    judge_specs: Judge, topic: str, country: str, expected: str | None
) -> None:
    spec = _cbhe_2026(topic, [country])
    assert fired(judge_specs, spec).get("third-country-region") == expected


@pytest.mark.parametrize("strand", [4, 0, 9])
def test_a_strand_the_action_does_not_have_is_no_strand(judge_specs: Judge, strand: int) -> None:
    """CBHE with Strand 4 is not eligible by escaping every strand's rules: it
    is CBHE without one of its strands (missing-value on the Strand cell)."""
    spec = {"base": "cbhe-s1", "project": {"action": "CBHE", "strand": strand}}
    result = judge_specs(spec)
    (proposal,) = result.proposals
    assert str(proposal.verdict) == "ineligible"
    assert [(f.rule, f.column) for f in proposal.findings] == [("missing-value", "strand")]
