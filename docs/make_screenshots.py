"""Screenshots of the HTML reports for the README, taken with headless Chromium.

    python docs/make_screenshots.py [OUTDIR]

Audits samples/ in Dutch into a temporary folder (as the README shows) and
photographs index.html and one proposal page with Debian's chromium driven by
playwright (no browser download), and renders the first pages of the report's
PDFs (the batch page, a proposal page, a draft letter) with pdftoppm. Then
fills in a Dutch template for Lot 1 of the Alliances for Innovation with one
partner too few, lets LibreOffice
recalculate it and print it to PDF, and turns the Project sheet (with the
live consortium panel) into template.png with pdftoppm. Last, starts
``auditor serve`` on a scratch data folder and photographs the web
application: an inbox after uploading samples/, a running audit, the batch
page as the application serves it, and the applicant's self-check.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import sync_playwright

from auditor.report.printing import chromium_args

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def main(target: Path = ROOT / "docs") -> None:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "auditor",
                "audit",
                "samples",
                "-o",
                str(report),
                "-q",
                "--lang",
                "nl",
            ],
            cwd=ROOT,
            check=False,
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((report / "index.html").as_uri())
            page.screenshot(path=str(target / "index.png"), full_page=False)
            page.goto((report / "proposals" / "101140777.html").as_uri())
            page.screenshot(path=str(target / "proposal.png"), full_page=True)
            browser.close()
        # The PDFs the report holds (the print stylesheet, A4 landscape) and a
        # draft letter: the first page of each.
        for name, pdf_path in (
            ("print-index", "index.pdf"),
            ("print-proposal", "proposals/101140777.pdf"),
            ("letter", "letters/101140777.pdf"),
        ):
            first_page = ["-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile"]
            png = str(target / name)
            subprocess.run(["pdftoppm", *first_page, str(report / pdf_path), png], check=True)
        _template(Path(scratch), target)
        _web(Path(scratch), target)
    print(
        f"wrote index.png, proposal.png, print-*.png, letter.png, template.png and web-*.png "
        f"in {target}"
    )


def _template(scratch: Path, target: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from auditor.core.catalogue import catalogue
    from auditor.rules.examples import expand
    from samples.make_samples import fill_template

    template, filled = scratch / "template.xlsx", scratch / "ingevuld.xlsx"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "template",
            "--action",
            "AFI-LOT1",
            "--lang",
            "nl",
            "-o",
            str(template),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    proposal = expand({"base": "afi-lot1"}, catalogue().bases)
    proposal["partners"] = proposal["partners"][:-1]  # one full partner too few
    fill_template(template, filled, proposal, "nl")
    profile = f"-env:UserInstallation=file://{scratch}/lo"
    for kind, source in (("xlsx", filled), ("pdf", scratch / "pdf-source" / filled.name)):
        outdir = scratch / ("pdf-source" if kind == "xlsx" else "pdf")
        subprocess.run(
            [
                "soffice",
                "--headless",
                profile,
                "--convert-to",
                kind,
                "--outdir",
                str(outdir),
                str(source),
            ],
            check=True,
            capture_output=True,
        )
    pdf = scratch / "pdf" / "ingevuld.pdf"
    # Page 2 is the Project sheet; the crop keeps the fields and the panel.
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "120",
            "-f",
            "2",
            "-l",
            "2",
            "-x",
            "75",
            "-y",
            "110",
            "-W",
            "1180",
            "-H",
            "250",
            "-singlefile",
            str(pdf),
            str(target / "template"),
        ],
        check=True,
    )


@contextlib.contextmanager
def _serving(data: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "auditor", "serve", "--data", str(data), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{url}/login", timeout=2)
                break
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _web(scratch: Path, target: Path) -> None:
    data, password = scratch / "web-data", secrets.token_urlsafe(16)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "users",
            "add",
            "officer",
            "--data",
            str(data),
            "--role",
            "admin",
        ],
        input=f"{password}\n{password}\n",
        text=True,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with _serving(data) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/login")
        page.fill("input[name=name]", "officer")
        page.fill("input[name=password]", password)
        page.click("button[type=submit].primary")
        page.fill("input[name=name]", "KA2 call 2026, round 1")
        page.click("#create-inbox")
        page.set_input_files("#folder", str(ROOT / "samples"))
        page.click("#upload")
        page.wait_for_selector("#notice")
        page.screenshot(path=str(target / "web-upload.png"))
        page.click("#run")
        # The pages allow no eval, so the progress is watched from here.
        while page.get_attribute("#bar", "value") in (None, "0") and (
            page.get_attribute("#status", "data-status") != "done"
        ):
            page.wait_for_timeout(50)
        page.screenshot(path=str(target / "web-job.png"))
        page.wait_for_selector("#done:not([hidden])", timeout=300_000)
        page.click("#done a.button")
        page.screenshot(path=str(target / "web-batch.png"))
        applicant = browser.new_page(viewport={"width": 1280, "height": 900})
        applicant.goto(f"{url}/check")
        applicant.set_input_files(
            "#workbook", str(ROOT / "samples" / "ka220-sch-ineligible-nl.xlsx")
        )
        applicant.click("#check")
        applicant.wait_for_selector("#outcome")
        applicant.screenshot(path=str(target / "web-check.png"))
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
