"""Screenshots of the HTML reports for the README, taken with headless Chromium.

    python docs/make_screenshots.py [OUTDIR]

Audits samples/ in Dutch into a temporary folder (as the README shows) and
photographs index.html and one proposal page with Debian's chromium driven by
playwright (no browser download).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium tries to reach Google's servers at every start.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((report / "index.html").as_uri())
            page.screenshot(path=str(target / "index.png"), full_page=False)
            page.goto((report / "proposals" / "101140777.html").as_uri())
            page.screenshot(path=str(target / "proposal.png"), full_page=True)
            browser.close()
    print(f"wrote {target / 'index.png'} and {target / 'proposal.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
