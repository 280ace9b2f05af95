"""Counting organisations (actions.md "Counting organisations")."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Judge


def _metrics(judge_specs: Judge, partners: list[str], **project: object) -> dict[str, object]:
    result = judge_specs({"base": "ka220", "partners": partners, "project": project})
    return dict(result.proposals[0].metrics)


def test_the_coordinator_and_full_partners_in_pool_countries_count(judge_specs: Judge) -> None:
    metrics = _metrics(
        judge_specs,
        [
            "coordinator|NL|HEI",
            "partner|BE|VET",
            "associated|DE|ENTERPRISE",
            "affiliated|FR|HEI",
            "partner|UA|HEI",
            "partner|NO|CHAMBER",
        ],
    )
    assert metrics["organisations"] == 3  # NL, BE, NO
    assert metrics["countries"] == 3
    assert metrics["hei"] == 1 and metrics["vet"] == 1
    assert metrics["labour_market_actors"] == 1 and metrics["enterprises"] == 0
    assert metrics["education_providers"] == 2
    assert metrics["eu_member_states"] == 2


def test_same_oid_or_pic_is_one_organisation(judge_specs: Judge) -> None:
    metrics = _metrics(
        judge_specs,
        [
            "coordinator|NL|HEI|oid=E10000001",
            "partner|NL|HEI|oid=E10000001",
            "partner|BE|HEI|oid=|pic=111111111",
            "partner|BE|HEI|oid=|pic=111111111",
            "partner|DE|HEI",
        ],
    )
    assert metrics["organisations"] == 3


def test_oid_and_pic_rows_are_joined_through_a_row_with_both(judge_specs: Judge) -> None:
    metrics = _metrics(
        judge_specs,
        [
            "coordinator|NL|HEI|oid=E10000001|pic=",
            "partner|NL|HEI|oid=E10000001|pic=222222222",
            "partner|NL|HEI|oid=|pic=222222222",
            "partner|BE|HEI",
        ],
    )
    assert metrics["organisations"] == 2


def test_same_name_and_country_without_identifiers_is_one_organisation(judge_specs: Judge) -> None:
    metrics = _metrics(
        judge_specs,
        [
            "coordinator|NL|SCHOOL|name=De Linde|oid=",
            "partner|NL|SCHOOL|name=de linde|oid=",
            "partner|NL|SCHOOL|name=De Linde|oid=|pic=",
            "partner|BE|SCHOOL|name=De Linde|oid=|pic=",
        ],
    )
    assert metrics["organisations"] == 2  # the BE one is another organisation


def test_metrics_of_results_json_are_all_there(judge_specs: Judge) -> None:
    metrics = _metrics(judge_specs, ["coordinator|NL|SCHOOL", "partner|BE|SCHOOL"])
    assert list(metrics) == [
        "organisations",
        "countries",
        "full_partners",
        "hei",
        "vet",
        "enterprises",
        "labour_market_actors",
        "education_providers",
        "eu_member_states",
        "duration_months",
        "requested_grant_eur",
    ]
    assert metrics["duration_months"] == 24 and metrics["requested_grant_eur"] == 250000


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(range(4)), named=st.sampled_from(["oid", "pic"]))
def test_the_count_does_not_depend_on_the_order_of_the_rows(
    judge_specs: Judge, order: list[int], named: str
) -> None:
    """Rows without OID or PIC are the same organisation by name and country only
    among themselves: a row with an identifier never merges with them by name,
    whichever comes first (before: the name row took the OID row's label when it
    came after it, and counted once instead of twice)."""
    identifier = "oid=E10000077" if named == "oid" else "oid=|pic=912345678"
    rows = [
        "coordinator|NL|SCHOOL|name=Basisschool De Linde",
        f"partner|BE|HEI|name=Università di Gent|{identifier}",
        "partner|BE|HEI|name=UNIVERSITA DI GENT|oid=",
        "partner|DE|NGO|name=Verein Lernen",
    ]
    shuffled = [rows[i] for i in order]
    assert _metrics(judge_specs, shuffled)["organisations"] == 4, order
