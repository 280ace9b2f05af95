"""The rule catalogue keeps the contract of actions.md and speaks both languages."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from auditor.core.catalogue import catalogue
from auditor.core.tables import table_spec
from auditor.normalise.vocabulary import vocabulary
from auditor.report.i18n import catalogue as ui_messages
from auditor.rules.rulebook import RuleBook

# The fixed rule names of actions.md ("Rule names").
ACTIONS_MD_RULES = [
    "min-organisations",
    "min-countries",
    "min-eu-member-states",
    "min-full-partners",
    "min-hei",
    "min-vet",
    "min-enterprises",
    "min-labour-market-actors",
    "min-education-providers",
    "per-country-composition",
    "duplicate-organisation",
    "coordinator-missing",
    "coordinator-multiple",
    "coordinator-country",
    "third-country-not-allowed",
    "third-country-region",
    "third-country-justification",
    "associated-partner-grant",
    "duration",
    "grant-ceiling",
    "lump-sum",
    "grant-sum-mismatch",
    "eche-required",
    "erasmus-code-country",
    "eche-not-found",
    "eche-identity-mismatch",
    "region-unconfirmed",
    "min-third-countries",
    "min-third-country-organisations",
    "third-country-balance",
    "grant-floor",
    "min-hei-countries",
    "min-hei-per-third-country",
    "ministry-per-third-country",
    "max-organisations",
    "partner-type",
    "coordinator-type",
    "country-excluded",
    "third-country-full-partner",
    "mono-beneficiary-grant",
    "single-region",
    "lump-sum-tier",
    "min-sports",
    "industrial-ecosystem",
    "eqf-coverage",
    "priority-required",
    "partnership-type",
    "field-not-allowed",
    "deadline",
    "missing-value",
    "invalid-oid",
    "invalid-pic",
    "invalid-erasmus-code",
    "unknown-country",
    "unknown-organisation-type",
    "unknown-role",
    "invalid-number",
    "invalid-date",
    "unknown-action",
    "missing-sheet",
    "missing-column",
    "unreadable-file",
    "duplicate-proposal-id",
]
ROOT = Path(__file__).resolve().parents[2]
WARNINGS = {
    "third-country-justification",
    "grant-sum-mismatch",
    "erasmus-code-country",
    "eche-not-found",
    "eche-identity-mismatch",
    "region-unconfirmed",
    "ministry-per-third-country",
}
# Not eligibility rules but what the auditor says of its own limits (issue 11):
# findings beyond --max-findings counted in one, and a copy it could not make.
OPERATIONAL_RULES = ["too-many-findings", "annotation-failed"]


def test_every_rule_of_actions_md_and_no_other() -> None:
    assert sorted(catalogue().rules) == sorted(ACTIONS_MD_RULES + OPERATIONAL_RULES)


def test_codes_are_unique_and_grouped() -> None:
    rules = catalogue().rules.values()
    codes = [r.code for r in rules]
    assert len(codes) == len(set(codes))
    for rule in rules:
        assert re.fullmatch(r"(IO0|VAL0|ELG[123])\d\d", rule.code), rule.code
        if rule.scope == "file":
            assert rule.code.startswith("IO")


def test_severities_as_actions_md_says() -> None:
    for rule in catalogue().rules.values():
        expected = "warning" if rule.name in WARNINGS | {"annotation-failed"} else "error"
        assert rule.severity == expected, rule.name


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_text_in_english_and_dutch_with_the_same_placeholders() -> None:
    for rule in catalogue().rules.values():
        for part in ("title", "checks", "fix"):
            texts = getattr(rule, part)
            assert texts.get("en") and texts.get("nl"), (rule.name, part)
        for variant, texts in rule.messages.items():
            assert texts.get("en") and texts.get("nl"), (rule.name, variant)
            assert _fields(texts["en"]) == _fields(texts["nl"]), (rule.name, variant)


def test_every_rule_has_an_eligible_and_an_ineligible_example() -> None:
    for rule in catalogue().rules.values():
        assert set(rule.examples) >= {"eligible", "ineligible"}, rule.name


def test_every_rule_in_the_rule_sets_exists_and_every_action_rule_is_used(book: RuleBook) -> None:
    used = {entry.rule for ruleset in book.sets.values() for entry in ruleset.entries}
    schema_rules = {
        r.name for r in catalogue().rules.values() if r.scope in ("file", "row", "batch")
    }
    assert used <= set(catalogue().rules)
    assert set(catalogue().rules) - used <= schema_rules


def test_the_actions_of_actions_md(book: RuleBook) -> None:
    expected = {
        "KA2-KA",
        "KA200",
        "KA201",
        "KA202",
        "KA203",
        "KA204",
        "KA205",
        "KA2-SSA",
        "AFI-LOT1",
        "AFI-LOT2",
        "KA220-SCH",
        "KA220-VET",
        "KA220-HED",
        "KA220-ADU",
        "KA220-YOU",
        "KA210-SCH",
        "KA210-VET",
        "KA210-ADU",
        "KA210-YOU",
        "KA210-HED",
        "COVE",
        # Sections 9-17 and KA229 (issue 13).
        "EMJM",
        "EMDM",
        "FLP-LOT1",
        "FLP-LOT2",
        "FLP-LOT3",
        "FLP",
        "CBHE-S1",
        "CBHE-S2",
        "CBHE-S3",
        "CBHE",
        "CB-VET",
        "CB-YOU",
        "CB-SPORT",
        "SPORT-SCP",
        "SPORT-SSCP",
        "NFPSE",
        "NFPSE-LS",
        "KA229",
    }
    assert set(book.actions) == expected
    assert book.lookup_action("Kennisalliantie") == ("KA2-KA", None)
    assert book.lookup_action("EPPKA2-KA") == ("KA2-KA", None)
    assert book.lookup_action("ERASMUS-EDU-2025-PI-ALL-INNO-EDU-ENTERP") == ("AFI-LOT1", 2025)
    assert book.lookup_action("ERASMUS-EDU-2024-PI-ALL-INNO-BLUEPRINT") == ("AFI-LOT2", 2024)
    assert book.lookup_action("ERASMUS-EDU-2026-PEX-COVE") == ("COVE", 2026)
    assert book.lookup_action("ERASMUS-EDU-2025-CB-VET-SSA") == ("CB-VET", 2025)
    assert book.lookup_action("Capaciteitsopbouw in beroepsonderwijs en -opleiding") == (
        "CB-VET",
        None,
    )
    assert book.lookup_action("ka220 hed") == ("KA220-HED", None)


def test_every_rule_entry_names_its_source(book: RuleBook) -> None:
    for ruleset in book.sets.values():
        for entry in ruleset.entries:
            assert entry.source or ruleset.source, (ruleset.id, entry.rule)


def test_lot1_documents_the_seed_that_the_guide_overrules(book: RuleBook) -> None:
    note = book.sets["alliances-for-innovation-lot1"].note
    assert "Lot 2" in note["en"] and "Lot 2" in note["nl"]


def test_report_messages_have_the_same_keys_in_both_languages() -> None:
    messages = ui_messages()
    assert set(messages["en"]) == set(messages["nl"])
    for key, text in messages["en"].items():
        assert _fields(text) == _fields(messages["nl"][key]), key


def test_labels_and_vocabularies_in_both_languages() -> None:
    for name in ("partners", "project"):
        for column in table_spec(name).columns.values():
            assert column.labels["en"] and column.labels["nl"]
    for name in ("organisation_type", "role", "partnership_type", "industrial_ecosystem"):
        for code in vocabulary(name).codes:
            assert vocabulary(name).label(code, "en") and vocabulary(name).label(code, "nl")
    assert len(vocabulary("industrial_ecosystem").codes) == 14


def test_every_text_key_the_templates_use_exists_in_both_languages() -> None:
    messages = ui_messages()
    used: set[str] = set()
    for template in (ROOT / "templates").glob("*.j2"):
        used |= set(re.findall(r't\("([a-z_.]+)"', template.read_text(encoding="utf-8")))
    for module in (ROOT / "auditor").rglob("*.py"):
        if "web" in module.relative_to(ROOT).parts:
            continue  # the web application's words: auditor/web/messages.yaml (test_web.py)
        used |= set(
            re.findall(r'\bt\(\s*"([a-z_]+\.[a-z_.]+)"', module.read_text(encoding="utf-8"))
        )
    assert used, "no keys found"
    # "verdict." ~ p.verdict and the like: every value of those is listed.
    used = {key for key in used if not key.endswith(".")}
    used |= {f"verdict.{v}" for v in ("eligible", "ineligible", "unreadable")}
    used |= {f"severity.{s}" for s in ("error", "warning")}
    missing = {key for key in used if key not in messages["en"] or key not in messages["nl"]}
    assert not missing, sorted(missing)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_counts_of_one_are_singular(lang: str) -> None:
    """No "1 errors" or "1 fouten": every counted word takes its count's form."""
    import auditor.report.i18n as report_words
    from auditor.web.http import messages as web_messages
    from auditor.web.http import t as web_t

    plurals = re.compile(
        r"\b1 (errors|warnings|files|proposals|rows|fouten|waarschuwingen|bestanden|aanvragen)\b"
    )
    checked = 0
    for words, say in ((report_words.catalogue(), report_words.t), (web_messages(), web_t)):
        for key, text in words[lang].items():
            names = set(re.findall(r"\{(\w+)[}:]", text))
            if not names:
                continue
            for count in (1, 2):
                said = say(key, lang, **dict.fromkeys(names, count))
                assert "{" not in said and "|" not in said, (key, said)
                if count == 1:
                    assert not plurals.search(said), (key, said)
            checked += 1
    assert checked > 20
