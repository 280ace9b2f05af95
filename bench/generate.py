"""Generate realistic proposal workbooks for the benchmark.

    python bench/generate.py OUT [--count 10000] [--export-rows 200000] [--seed 1] [--jobs 2]

Writes ``OUT/proposals/``: ``--count`` workbooks of one proposal each, of
every action, 5 to 60 partners, about 30% ineligible (a rule broken on
purpose), in English and Dutch, some untidy (title rows above the table,
shuffled columns); and ``OUT/export/agency-export.xlsx``: one agency export
whose Partners sheet holds ``--export-rows`` partner rows. Higher education
institutions are real ECHE holders. Workbooks are written with the sample
writer (openpyxl), in parallel; the export with xlsxwriter, row by row.
"""

from __future__ import annotations

import argparse
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.core.tables import table_spec  # noqa: E402
from auditor.normalise.identifiers import erasmus_code_country  # noqa: E402
from auditor.rules.examples import partner_columns, project_rows  # noqa: E402
from samples.make_samples import (  # noqa: E402
    Style,
    _cell_value,
    _eche_rows,
    label,
    org,
    write_proposal,
)

# action, call year, duration, grant, pool countries to draw from, composition
ACTIONS: list[dict[str, Any]] = [
    {
        "action": "KA220-SCH",
        "year": 2024,
        "duration": 24,
        "grant": 250000,
        "types": ["SCHOOL", "NGO"],
    },
    {
        "action": "KA220-HED",
        "year": 2024,
        "duration": 36,
        "grant": 400000,
        "types": ["HEI", "ENTERPRISE"],
    },
    {
        "action": "KA220-VET",
        "year": 2025,
        "duration": 24,
        "grant": 120000,
        "types": ["VET", "ENTERPRISE"],
    },
    {"action": "KA210-ADU", "year": 2024, "duration": 12, "grant": 60000, "types": ["ADULT"]},
    {
        "action": "KA2-KA",
        "year": 2019,
        "duration": 36,
        "grant": 990000,
        "types": ["HEI", "ENTERPRISE"],
    },
    {"action": "KA203", "year": 2019, "duration": 24, "grant": 300000, "types": ["HEI"]},
    {
        "action": "AFI-LOT1",
        "year": 2024,
        "duration": 24,
        "grant": 1000000,
        "types": ["HEI", "VET", "ENTERPRISE", "CHAMBER"],
    },
    {
        "action": "COVE",
        "year": 2024,
        "duration": 48,
        "grant": 4000000,
        "types": ["VET", "ENTERPRISE"],
    },
]
COUNTRIES = [
    "NL",
    "BE",
    "DE",
    "FR",
    "IT",
    "ES",
    "PL",
    "AT",
    "SE",
    "FI",
    "PT",
    "CZ",
    "RS",
    "NO",
    "TR",
]
TYPE_NL = {
    "SCHOOL": "School",
    "NGO": "Stichting",
    "HEI": "Hogeschool",
    "ENTERPRISE": "Bedrijf",
    "VET": "Aanbieder van beroepsonderwijs en -opleiding",
    "ADULT": "Aanbieder van volwasseneneducatie",
    "CHAMBER": "Kamer van koophandel",
}


@cache
def _heis(country: str) -> list[dict[str, str]]:
    """ECHE holders of ``country`` whose Erasmus code says the same country.

    (A few holders on the official list carry another country's code; the
    auditor rightly flags them, which would make the ineligible share drift.)
    """
    return [
        {
            "organisation_name": " ".join(row["Legal Name"].split()),
            "oid": row["OID"],
            "pic": row["Pic"],
            "erasmus_code": row["Erasmus Code"].replace("\u00a0", " "),
            "city": row["City"].strip().title(),
        }
        for row in _eche_rows()
        if row["Country Cd"] == country
        and erasmus_code_country(row["Erasmus Code"].replace("\u00a0", " ")) == country
    ]


def hei(country: str, number: int) -> dict[str, str]:
    found = _heis(country)
    return found[number % len(found)]


def make(index: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed * 1_000_003 + index)
    spec = dict(rng.choice(ACTIONS))
    size = rng.randint(5, 60) if spec["action"] not in ("KA210-ADU",) else rng.randint(5, 12)
    dutch = rng.random() < 0.3
    partners: list[dict[str, Any]] = []
    # Centres of Vocational Excellence need every category in every country:
    # their partners come in groups of one of each type per country.
    grouped = spec["action"] == "COVE"
    if grouped:
        size -= size % len(spec["types"])
    for number in range(size):
        if grouped:
            country = COUNTRIES[(number // len(spec["types"])) % len(COUNTRIES)]
        elif number < 8:
            country = COUNTRIES[number % len(COUNTRIES)]
        else:
            country = rng.choice(COUNTRIES)
        kind = spec["types"][number % len(spec["types"])]
        role = (
            "coordinator"
            if number == 0
            else "partner"
            if grouped
            else rng.choice(["partner"] * 6 + ["associated"])
        )
        if kind == "HEI":
            row = {
                "role": role,
                "country": country,
                "organisation_type": "HEI",
                **hei(country, number),
            }
        else:
            row = org(role, country, kind, f"Organisation {index}-{number}", city="City")
        if dutch:
            row["role"] = {
                "coordinator": "Coördinator (aanvrager)",
                "partner": "Volwaardig partner",
                "associated": "Geassocieerd partner",
            }[role]
            row["organisation_type"] = TYPE_NL.get(kind, kind)
        partners.append({"partner_no": str(number + 1), **row})
    project = {
        "proposal_id": f"{spec['year']}-1-NL01-{spec['action']}-{index:09d}",
        "action": spec["action"],
        "call_year": spec["year"],
        "duration_months": spec["duration"],
        "requested_grant_eur": spec["grant"],
        "priorities": "Inclusion and diversity",
        "industrial_ecosystem": None,
        "eqf_levels": None,
        "partnership_type": "innovation" if spec["action"] == "KA203" else None,
    }
    if rng.random() < 0.27:  # break one rule on purpose (with chance failures: ~30%)
        broken = rng.choice(["duration", "grant", "coordinator", "country", "oid"])
        if broken == "duration":
            project["duration_months"] = 99
        elif broken == "grant":
            project["requested_grant_eur"] = 9_999_999
        elif broken == "coordinator":
            partners[0]["role"] = "partner"
        elif broken == "country":
            partners[1]["country"] = "Atlantis"
        else:
            partners[2]["oid"] = "E12"
    return {
        "project": {k: (str(v) if v is not None else None) for k, v in project.items()},
        "partners": partners,
        "lang": "nl" if dutch else "en",
    }


def style_of(index: int, seed: int, lang: str) -> Style:
    """Most files tidy; some with title rows above the table or their columns shuffled."""
    rng = random.Random(seed * 7_919 + index)
    roll = rng.random()
    return Style(
        lang=lang,
        title_rows=2 if roll < 0.2 else 0,
        shuffle_columns=0.2 <= roll < 0.3,
        seed=index,
    )


def _write(args: tuple[Path, int, int]) -> None:
    folder, index, seed = args
    proposal = make(index, seed)
    write_proposal(
        folder / f"proposal-{index:05d}.xlsx", proposal, style_of(index, seed, proposal["lang"])
    )


def generate(folder: Path, count: int, seed: int = 1, jobs: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [(folder, i, seed) for i in range(count)]
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_write, tasks, chunksize=50))


def generate_export(path: Path, rows: int, seed: int = 1) -> int:
    """One agency export with at least ``rows`` partner rows; returns its proposal count."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    proposals_sheet = workbook.add_worksheet(table_spec("project").list_sheet.label("en"))  # type: ignore[union-attr]
    partners_sheet = workbook.add_worksheet(table_spec("partners").sheet.label("en"))
    bold = workbook.add_format({"bold": True})
    project_keys = list(project_rows())
    partner_keys = ["proposal_id", *partner_columns()]
    for offset, key in enumerate(project_keys):
        proposals_sheet.write_string(0, offset, label(key, "project", "en"), bold)
    for offset, key in enumerate(partner_keys):
        partners_sheet.write_string(0, offset, label(key, "partners", "en"), bold)
    written = count = 0
    # constant_memory writes row by row: all proposal rows of the Proposals
    # sheet first, then every partner row.
    made = []
    while written < rows:
        proposal = make(1_000_000 + count, seed)
        proposal["project"]["proposal_id"] = f"2024-1-NL01-EXPORT-{count:09d}"
        made.append(proposal)
        written += len(proposal["partners"])
        count += 1
    for index, proposal in enumerate(made):
        for offset, key in enumerate(project_keys):
            value = proposal["project"].get(key)
            if value is not None:
                proposals_sheet.write(index + 1, offset, _cell_value(key, value))
    line = 1
    for proposal in made:
        for partner in proposal["partners"]:
            values = {"proposal_id": proposal["project"]["proposal_id"], **partner}
            for offset, key in enumerate(partner_keys):
                value = values.get(key)
                if value is not None:
                    partners_sheet.write_string(line, offset, str(value))
            line += 1
    workbook.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--export-rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args()
    if options.count:
        generate(options.folder / "proposals", options.count, options.seed, options.jobs)
        print(f"wrote {options.count} workbooks in {options.folder / 'proposals'}")
    if options.export_rows:
        target = options.folder / "export" / "agency-export.xlsx"
        count = generate_export(target, options.export_rows, options.seed)
        print(f"wrote {target}: {count} proposals, at least {options.export_rows} partner rows")


if __name__ == "__main__":
    main()
