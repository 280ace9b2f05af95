"""An action is data: a made-up action written as a YAML file, audited through the CLI.

Nothing here but files and commands, as an agency would do it (README,
"Rules"): the rule set uses a composition rule of the new kinds (a count
with a scope, a category and third countries), a region limit, a balance and
a lump sum; the template is made for it, filled twice, and checked.
"""

from __future__ import annotations

from pathlib import Path

from samples.make_samples import fill_template
from tests.whole.test_cli import run

RULE_SET = """\
id: doctoral-networks-demo
title: {en: Doctoral networks (demo), nl: Doctorale netwerken (demo)}
actions: [KA299-DEMO]
aliases:
  KA299-DEMO: [Doctoral networks demo, Doctorale netwerken demo]
years: [2025, 2027]
pool: eu-2021
source: An agency's own call text (demo)
rules:
  - rule: min-organisations
    count: {scope: eligible, categories: [hei]}
    min: 3
    source: "Call text: at least three higher education institutions, third countries included"
  - rule: min-third-country-organisations
    count: {scope: eligible, among: third, categories: [hei]}
    min: 1
    source: "Call text: at least one of them from a third country"
  - rule: third-country-region
    regions: [1, 2]
    from_year: 2025
    source: "Call text: third countries of the Western Balkans and Neighbourhood East only"
  - rule: lump-sum
    values: [150000, 300000]
    source: "Call text: a lump sum of EUR 150,000 or 300,000"
  - rule: duration
    values: [36]
    confirm: the demo call text of 2025
"""


def _proposal(partners: list[str], grant: int) -> dict[str, object]:
    rows = []
    for number, text in enumerate(partners, start=1):
        role, country, kind = text.split("|")
        rows.append(
            {
                "partner_no": str(number),
                "role": role,
                "country": country,
                "organisation_type": kind,
                "organisation_name": f"{kind.title()} {country} {number}",
                "oid": f"E1{number:07d}",
            }
        )
    return {
        "project": {
            "proposal_id": "2025-1-NL01-KA299-DEMO-000000001",
            "call_year": "2025",
            "duration_months": "36",
            "requested_grant_eur": str(grant),
        },
        "partners": rows,
    }


def test_a_new_action_is_a_yaml_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "doctoral-networks-demo.yaml").write_text(RULE_SET, encoding="utf-8")

    listed = run("rules", "--action", "Doctorale netwerken demo", "--rules", str(rules))
    assert listed.returncode == 0, listed.stderr
    assert "KA299-DEMO" in listed.stdout and "lump-sum" in listed.stdout

    template = tmp_path / "template.xlsx"
    made = run("template", "--action", "KA299-DEMO", "--rules", str(rules), "-o", str(template))
    assert made.returncode == 0, made.stderr

    outcomes = {}
    for name, partners, grant in [
        ("good", ["coordinator|NL|HEI", "partner|DE|HEI", "partner|UA|HEI"], 150000),
        ("bad", ["coordinator|NL|HEI", "partner|DE|SCHOOL", "partner|US|HEI"], 200000),
    ]:
        filled = tmp_path / f"{name}.xlsx"
        fill_template(template, filled, _proposal(partners, grant), "en")
        outcomes[name] = run("check", str(filled), "--rules", str(rules))

    good, bad = outcomes["good"], outcomes["bad"]
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.strip().endswith("eligible (0 errors, 0 warnings)")
    assert bad.returncode == 1
    lines = bad.stdout
    assert "min-organisations error" in lines and ": 2; at least 3 required." in lines
    assert "min-third-country-organisations" not in lines  # the US HEI is a third country
    assert "third-country-region error United States" in lines
    assert "lump-sum error" in lines
