"""Normalisers: countries, vocabularies, numbers, dates, identifiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.normalise.countries import country_code, country_name
from auditor.normalise.dates import parse_datetime
from auditor.normalise.identifiers import erasmus_code_country
from auditor.normalise.numbers import parse_amount, parse_levels, parse_whole, split_list
from auditor.normalise.text import clean_cell, match_key
from auditor.normalise.vocabulary import vocabulary


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("NL", "NL"),
        ("nld", "NL"),
        ("Netherlands", "NL"),
        ("Nederland", "NL"),
        ("The Netherlands", "NL"),
        ("Griekenland", "EL"),
        ("Greece", "EL"),
        ("GR", "EL"),
        ("EL", "EL"),
        ("Ελλάδα", "EL"),
        ("Deutschland", "DE"),
        ("Duitsland", "DE"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Turkije", "TR"),
        ("Czechia", "CZ"),
        ("Czech Republic", "CZ"),
        ("UK", "UK"),
        ("GB", "UK"),
        ("United Kingdom", "UK"),
        ("XK", "XK"),
        ("Kosovo", "XK"),
        ("Noord-Macedonië", "MK"),
        ("North Macedonia", "MK"),
        ("  belgië\u00a0", "BE"),
        ("Belgique", "BE"),
        ("Österreich", "AT"),
        ("Polska", "PL"),
        ("Sverige", "SE"),
        ("Suomi", "FI"),
        ("Hrvatska", "HR"),
        ("Србија", "RS"),
        ("Україна", "UA"),
    ],
)
def test_countries_in_every_accepted_form(text: str, code: str) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize("text", ["Atlantis", "", "Europe", "N/A", None])
def test_unknown_countries_are_not_guessed(text: str | None) -> None:
    assert country_code(text) is None


def test_country_names_for_reports() -> None:
    assert country_name("EL", "nl") == "Griekenland"
    assert country_name("UK", "en") == "United Kingdom"
    assert country_name("XK", "nl") == "Kosovo"


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.000.000", 1_000_000),
        ("1,000,000", 1_000_000),
        ("€ 250 000", 250_000),
        ("250000", 250_000),
        ("250000.0", 250_000),
        ("250.000,50", 250_000.5),
        ("12,500.75", 12_500.75),
        ("60.000", 60_000),
        ("EUR 60.000,-", 60_000),
        ("1.5", 1.5),
        ("0,5", 0.5),
        ("-5", -5),
    ],
)
def test_amounts_in_european_and_english_notation(text: str, amount: float) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["abc", "12.34.56", "1,00,0", "€", "1e6", "two"])
def test_text_that_is_not_an_amount(text: str) -> None:
    assert parse_amount(text) is None


@given(st.integers(min_value=0, max_value=10**12))
def test_amounts_round_trip_through_both_notations(number: int) -> None:
    english = f"{number:,}"
    european = english.replace(",", ".")
    assert parse_amount(english) == number
    assert parse_amount(european) == number
    assert parse_amount(f"€ {english}") == number


@given(st.text(max_size=30))
def test_amount_parsing_never_crashes(text: str) -> None:
    result = parse_amount(text)
    assert result is None or isinstance(result, float)


def test_whole_numbers_and_levels() -> None:
    assert parse_whole("24") == 24
    assert parse_whole("24.0") == 24
    assert parse_whole("36 maanden") == 36
    assert parse_whole("24.5") is None
    assert parse_levels("4;5;6") == [4, 5, 6]
    assert parse_levels("3-5, 6") == [3, 4, 5, 6]
    assert parse_levels("3 t/m 5; 7") == [3, 4, 5, 7]
    assert parse_levels("9") is None
    assert split_list("a; b;\nc;;") == ["a", "b", "c"]


def test_dates_default_to_brussels_time_and_respect_a_written_zone() -> None:
    brussels = parse_datetime("07/03/2024 17:00")
    assert brussels is not None and brussels.utcoffset() == timedelta(hours=1)
    summer = parse_datetime("2024-05-07 17:00")
    assert summer is not None and summer.utcoffset() == timedelta(hours=2)
    utc = parse_datetime("2024-03-07 16:00 UTC")
    assert utc == datetime(2024, 3, 7, 16, 0, tzinfo=UTC)
    assert parse_datetime("7 maart 2024 17:00") == brussels
    assert parse_datetime("2024-03-07T17:00:00+01:00") == brussels
    assert parse_datetime("45358.7083333333") is not None  # an Excel serial typed as text
    assert parse_datetime("31/02/2024") is None
    assert parse_datetime("next Tuesday") is None


@pytest.mark.parametrize(
    ("code", "country"),
    [
        ("NL AMSTERD01", "NL"),
        ("D  BERLIN01", "DE"),
        ("SF HELSINK01", "FI"),
        ("G  ATHINE01", "EL"),
        ("IRLDUBLIN01", "IE"),
        ("LUXLUX-VIL01", "LU"),
        ("A\u00a0 WIEN01", "AT"),
        ("TR ISTANBU01", "TR"),
    ],
)
def test_erasmus_code_prefixes(code: str, country: str) -> None:
    assert erasmus_code_country(code) == country


@pytest.mark.parametrize("code", ["NL01", "PARIS", "1234", ""])
def test_malformed_erasmus_codes(code: str) -> None:
    assert erasmus_code_country(code) is None


def test_vocabularies_accept_english_dutch_and_codes() -> None:
    roles, types = vocabulary("role"), vocabulary("organisation_type")
    assert roles.lookup("Coördinator (aanvrager)") == "coordinator"
    assert roles.lookup("coordinator") == "coordinator"
    assert roles.lookup("(volwaardig) partner") == "partner"
    assert roles.lookup("Geassocieerd partner") == "associated"
    assert roles.lookup("verbonden entiteit") == "affiliated"
    assert types.lookup("Universiteit") == "HEI"
    assert types.lookup("Vakbond") == "SOCIAL_PARTNER"
    assert types.lookup("Trade union or employers' organisation") == "SOCIAL_PARTNER"
    assert types.lookup("professional_association") == "PROFESSIONAL_ASSOCIATION"
    assert types.lookup("Spaceship") is None


@given(st.text(max_size=40))
def test_match_key_is_idempotent(text: str) -> None:
    assert match_key(match_key(text)) == match_key(text)


def test_cleaning_removes_invisible_spaces() -> None:
    assert clean_cell("\u00a0 E12345678\u200b ") == "E12345678"
    assert clean_cell("   ") is None


def test_found_by_hypothesis() -> None:
    # A zone suffix no zone has, and a whole number no column can hold.
    assert parse_datetime("2024-03-07 17:00 -2400") is None
    assert parse_whole("9223372036854775808") is None
    assert parse_amount("9223372036854775808") == 9223372036854775808.0
