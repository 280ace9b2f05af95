"""The web application end to end, in Debian's chromium driven by playwright.

An officer signs in, creates an inbox, uploads the samples/ folder, watches
the audit, reads the batch page and a proposal page, downloads an annotated
copy, changes one file and sees what changed since the last run. An
applicant checks one workbook and downloads its annotated copy, after which
nothing of it is left on the server. No page breaks its own
Content-Security-Policy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests import programs
from tests.web_server import PASSWORD, ROOT, Served, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("web") / "data"
    # The first admin, made as the README says: on the command line, no default password.
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "users",
            "add",
            "officer1",
            "--role",
            "admin",
            "--data",
            str(data),
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    with serving(data) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with programs.chromium_browser() as launched:
        yield launched


def _watch(page: Page, problems: list[str]) -> None:
    """Console errors (a CSP violation is one) and failed requests, for the test to see."""

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"{page.url}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))


def _audit(page: Page) -> dict[str, str]:
    """Start an audit from the inbox page and follow its progress to the end."""
    page.click("#run")
    expect(page.locator("h1")).to_contain_text("Job #")
    seen = {page.locator("#status").get_attribute("data-status") or ""}
    deadline = time.monotonic() + 300
    while "done" not in seen and "failed" not in seen and time.monotonic() < deadline:
        seen.add(page.locator("#status").get_attribute("data-status") or "")
        page.wait_for_timeout(100)
    expect(page.locator("#status")).to_have_attribute("data-status", "done", timeout=5_000)
    # The page showed the job under way and then updated itself (no reload) to "done".
    assert seen & {"queued", "running"}, seen
    return {"count": page.locator("#count").inner_text(), "seen": ",".join(sorted(seen))}


@pytest.mark.slow
def test_officer_audits_a_folder_and_an_applicant_checks_a_file(
    server: Served, browser: Any, tmp_path: Path
) -> None:
    problems: list[str] = []
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    _watch(page, problems)

    # Sign in (an anonymous visit lands on the login page).
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/login?next=%2F")
    page.fill("input[name=name]", "officer1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("Inboxes")

    # Create an inbox and upload the samples/ folder as a browser sends a folder.
    page.fill("input[name=name]", "KA2 samples 2026")
    page.click("#create-inbox")
    expect(page.locator("h1")).to_have_text("KA2 samples 2026")
    page.set_input_files("#folder", str(ROOT / "samples"))
    page.click("#upload")
    workbooks = sorted(
        p
        for p in (ROOT / "samples").rglob("*")
        if p.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods")
        and not p.name.startswith(("~$", "."))
    )
    expect(page.locator("#notice")).to_contain_text(f"Workbooks received: {len(workbooks)}.")
    expect(page.locator("#files-table tbody tr")).to_have_count(len(workbooks))

    # The audit, watched: the page shows the counts as the job reports them.
    progress = _audit(page)
    assert progress["count"] == f"{len(workbooks)} of {len(workbooks)} files read", progress

    # The batch page lists every proposal of results.json.
    page.click("#done a.button")
    results = json.loads(page.request.get(page.url.replace("index.html", "results.json")).body())
    assert len(results["proposals"]) > 40
    expect(page.locator("#proposals tbody tr")).to_have_count(len(results["proposals"]))

    # A proposal page, then an annotated copy, opened with openpyxl.
    ineligible = next(p for p in results["proposals"] if p["verdict"] == "ineligible")
    page.locator(f"#proposals a:text-is('{ineligible['proposal_id']}')").first.click()
    expect(page.locator("h1")).to_contain_text(ineligible["proposal_id"])
    copy = next(f for f in results["files"] if f.get("annotated"))
    page.go_back()
    with page.expect_download() as info:
        page.locator(f"a[href$='{copy['annotated']}']").first.click()
    saved = tmp_path / "annotated.xlsx"
    info.value.save_as(saved)
    workbook = openpyxl.load_workbook(saved)
    assert workbook.sheetnames

    # Change one file (an eligible proposal's workbook now holds an ineligible
    # one), upload it as the same folder again, audit again: what changed shows.
    changed = tmp_path / "samples"
    changed.mkdir()
    shutil.copy(ROOT / "samples" / "afi-lot1-ineligible.xlsx", changed / "afi-lot1-eligible.xlsx")
    inbox_url = page.url.split("/report/")[0]
    page.goto(inbox_url)
    page.set_input_files("#folder", str(changed))
    page.click("#upload")
    expect(page.locator("#notice")).to_contain_text("Workbooks received: 1.")
    _audit(page)
    page.goto(inbox_url)
    expect(page.locator("#since")).to_contain_text("Since the last run (run 1")
    expect(page.locator("#since-table")).to_contain_text("afi-lot1-eligible.xlsx")
    page.goto(inbox_url + "/report/index.html")
    expect(page.locator("#since")).to_be_visible()

    # Dutch, switched on the page and kept for this user.
    page.goto(inbox_url)
    page.click("#switch-lang")
    expect(page.locator("#run-heading")).to_have_text("Controleren")
    page.goto(server.url + "/")
    expect(page.locator("h1")).to_have_text("Inboxen")
    page.click("#switch-lang")

    # The applicant: no account, one workbook, its findings, its annotated copy.
    applicant = browser.new_context(accept_downloads=True).new_page()
    _watch(applicant, problems)
    applicant.goto(server.url + "/check")
    sent = ROOT / "samples" / "ka210-ineligible.xlsx"
    applicant.set_input_files("#workbook", str(sent))
    applicant.click("#check")
    expect(applicant.locator("[data-verdict]").first).to_have_attribute(
        "data-verdict", "ineligible"
    )
    assert applicant.locator("table.findings tbody tr").count() > 0
    expect(applicant.locator("table.findings td.cell").first).to_contain_text("!")
    with applicant.expect_download() as info:
        applicant.click("#annotated")
    copy_path = tmp_path / "applicant.xlsx"
    info.value.save_as(copy_path)
    assert openpyxl.load_workbook(copy_path).sheetnames

    # Nothing of the applicant's file is left: no folder, no file with its bytes.
    data = Path(server.log).parent / "data"
    checks = data / "scratch" / "checks"
    deadline = time.monotonic() + 10
    while any(checks.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(checks.iterdir()) == []
    digests = {
        hashlib.sha256(sent.read_bytes()).digest(),
        hashlib.sha256(copy_path.read_bytes()).digest(),
    }
    inbox_files = {p for p in data.rglob("*") if "inboxes" in p.parts}
    leftovers = [
        p
        for p in data.rglob("*")
        if p.is_file()
        and p not in inbox_files
        and hashlib.sha256(p.read_bytes()).digest() in digests
    ]
    assert leftovers == []
    assert problems == []
