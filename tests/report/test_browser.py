"""index.html in a real browser: sorting, filtering, links, no console errors.

Playwright drives Debian's chromium (/usr/bin/chromium; .ci/run installs it);
no browser is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from auditor.api import audit
from auditor.core.config import AuditConfig
from auditor.report.outputs import write_reports
from tests import programs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("browser") / "out"
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        write_reports(audit(["samples"], AuditConfig()), outdir)
    finally:
        os.chdir(cwd)
    return outdir


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with programs.chromium_browser() as launched:
        yield launched


def _column(page: Page, index: int) -> list[str]:
    return page.eval_on_selector_all(
        "#proposals tbody tr:not([hidden])",
        f"rows => rows.map(r => r.cells[{index}].textContent.trim())",
    )


def test_sort_filter_and_follow_a_link(report: Path, browser: Any) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto((report / "index.html").as_uri())

    rows = len(_column(page, 1))
    golden = ROOT / "tests" / "golden" / "samples-results.json"
    assert rows == json.loads(golden.read_text(encoding="utf-8"))["summary"]["proposals"]
    page.click("#proposals thead th:nth-child(6) button")  # Errors, ascending
    errors = [int(v) for v in _column(page, 5)]
    assert errors == sorted(errors)
    page.click("#proposals thead th:nth-child(6) button")  # descending
    errors = [int(v) for v in _column(page, 5)]
    assert errors == sorted(errors, reverse=True) and errors[0] > 0
    assert page.get_attribute("#proposals thead th:nth-child(6)", "aria-sort") == "descending"

    page.select_option("#filter-verdict", "eligible")
    shown = _column(page, 0)
    assert shown and all("eligible" in v and "ineligible" not in v for v in shown)
    assert page.inner_text("#shown-count") == str(len(shown))
    page.select_option("#filter-verdict", "")
    page.fill("#filter-text", "GREEN-BUILD")
    assert _column(page, 1) == ["101140777GREEN-BUILD"]  # ID and acronym
    page.select_option("#filter-action", "COVE")
    assert _column(page, 1) == []
    page.select_option("#filter-action", "")

    page.click("text=101140777")
    page.wait_for_load_state()
    assert page.url.endswith("/proposals/101140777.html")
    main = page.inner_text("main")
    assert "✗ error" in main and "full partners, the coordinator included" in main
    page.click("text=All proposals")
    assert page.url.endswith("/index.html")
    assert not problems, problems


def test_print_stylesheet_hides_the_controls(report: Path, browser: Any) -> None:
    page = browser.new_page()
    page.goto((report / "index.html").as_uri())
    page.emulate_media(media="print")
    assert not page.is_visible("#filter-text")
    assert page.is_visible("#proposals")


# The printable width of an A4 landscape page with 12 mm margins, in CSS pixels
# (96 per inch): what the print stylesheet must keep every table within.
PRINTABLE = (297 - 2 * 12) / 25.4 * 96


def _too_wide(page: Page) -> list[str]:
    """Tables (and their cells' content) reaching past the printable width."""
    return page.evaluate(
        """limit => Array.from(document.querySelectorAll("table")).filter(
             t => t.getBoundingClientRect().right > limit + 1 || t.scrollWidth > t.clientWidth + 1
           ).map(t => (t.id || t.className || "table") + ": " + Math.round(t.scrollWidth))""",
        PRINTABLE,
    )


def test_printed_pages_clip_nothing(browser: Any, tmp_path: Path) -> None:
    """The batch page and a proposal page with a wide partner table, laid out for
    paper: no table is wider than the page, and every partner row is printed."""
    from samples.make_samples import org, proposal, write_proposal

    long = "Hochschule für angewandte Wissenschaften und Kunst Hildesheim Holzminden Göttingen"
    partners = [
        org("coordinator", "DE", "HEI", long, erasmus_code="D  HILDESH02", city="Hildesheim"),
        *(
            org(
                "partner",
                country,
                kind,
                f"{long} {n}",
                requested_grant_eur=123456.78,
                city="Sankt Peterburg-Leningradskaya oblast",
                justification="x" * 120,
            )
            for n, (country, kind) in enumerate(
                [
                    ("NL", "SCHOOL"),
                    ("BE", "NGO"),
                    ("FR", "ENTERPRISE"),
                    ("IT", "VET"),
                    ("ES", "HEI"),
                    ("PL", "RESEARCH"),
                    ("UA", "HEI"),
                    ("US", "ENTERPRISE"),
                ]
            )
        ),
    ]
    wide = proposal(
        {
            "action": "KA220-HED",
            "call_year": 2024,
            "duration_months": 24,
            "requested_grant_eur": 400000,
            "proposal_id": "2024-1-DE01-KA220-HED-000999999",
        },
        partners,
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_proposal(inbox / "wide.xlsx", wide)
    shutil.copy(ROOT / "samples" / "afi-lot2-ineligible.xlsx", inbox)
    outdir = tmp_path / "out"
    write_reports(audit([str(inbox)], AuditConfig()), outdir)
    page = browser.new_page(viewport={"width": round(PRINTABLE), "height": 900})
    page.emulate_media(media="print")
    page.goto((outdir / "index.html").as_uri())
    assert _too_wide(page) == []
    results = json.loads((outdir / "results.json").read_text())
    wide_page = next(
        p["report"]["page"] for p in results["proposals"] if p["proposal_id"].endswith("999999")
    )
    page.goto((outdir / wide_page).as_uri())
    assert _too_wide(page) == []
    rows = page.locator("#partners tbody tr, table.partners tbody tr")
    printed = page.evaluate(
        "() => Array.from(document.querySelectorAll('tbody tr')).map(r => r.textContent).join(' ')"
    )
    assert all(f"{long} {n}" in printed for n in range(8)), rows
    # The same page on screen does scroll its wide table: the test measures something.
    page.emulate_media(media="screen")
    assert _too_wide(page) != []
    page.close()
