"""PDFs of the report pages (headless Chromium) and of the letters (LibreOffice).

Both renderers are programs the machine may or may not have. ``renderers``
says which are there; a run asked for PDFs where one is missing writes the
rest of its report and says what it left out. The HTML printed is the
auditor's own page (everything from a workbook escaped), loaded as text with
scripts off and every request refused, so printing reaches nothing outside
the page.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Where a system Chromium is found (Debian, Ubuntu, Fedora, Google's builds);
# AUDITOR_CHROMIUM names another. Without one, Playwright's own download.
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_SOFFICE_NAMES = ("soffice", "libreoffice")
# Headless, offline: without these Chromium reaches Google's servers at every start.
_CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_args() -> list[str]:
    """The arguments Chromium is started with here (the reports' PDFs, the tests, the
    README's screenshots): the sandbox is left off only where Chromium runs as root,
    where it will not start with it."""
    args = list(_CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


@dataclass(frozen=True)
class Renderers:
    """The programs found to print with: None where there is none."""

    chromium: str | None  # "" : Playwright's own browser
    soffice: str | None

    @property
    def why_no_chromium(self) -> str:
        return (
            "no Chromium was found to print the pages with: install chromium "
            "(or run `playwright install chromium`), or set AUDITOR_CHROMIUM"
        )

    @property
    def why_no_soffice(self) -> str:
        return "LibreOffice (soffice) was not found to turn the letters into PDF"


def _playwright() -> Any:
    try:
        from playwright import async_api
    except ImportError:
        return None
    return async_api


def _which(names: Sequence[str], variable: str) -> str | None:
    named = os.environ.get(variable)
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def _bundled_chromium() -> bool:
    """Whether Playwright has downloaded its own Chromium (``playwright install chromium``)."""
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            return Path(playwright.chromium.executable_path).is_file()
    except Exception:  # a driver that will not start prints nothing either
        return False


def renderers() -> Renderers:
    chromium: str | None = None
    if _playwright() is not None:
        chromium = _which(_CHROMIUM_NAMES, "AUDITOR_CHROMIUM")
        if chromium is None and _bundled_chromium():
            chromium = ""
    return Renderers(chromium, _which(_SOFFICE_NAMES, "AUDITOR_SOFFICE"))


@dataclass(frozen=True)
class PrintJob:
    page: Path  # an HTML page of the report
    pdf: Path  # where its PDF goes


def print_pages(chromium: str, jobs: Sequence[PrintJob], workers: int, timeout: float) -> list[str]:
    """Print each page to its PDF, ``workers`` at a time; the pages not printed, with why."""
    if not jobs:
        return []
    import asyncio  # here: a run that prints nothing does not pay for it

    # A thread of its own: the caller may be running an event loop already (the
    # web application, a Playwright session), where asyncio.run is refused.
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        run = thread.submit(asyncio.run, _print_all(chromium, jobs, max(1, workers), timeout))
        return run.result()


async def _print_all(
    chromium: str, jobs: Sequence[PrintJob], workers: int, timeout: float
) -> list[str]:
    import asyncio

    api = _playwright()
    args = chromium_args()
    failed: list[str] = []
    async with api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium or None, args=args)
        context = await browser.new_context(java_script_enabled=False, offline=True)
        await context.route("**/*", lambda route: route.abort())
        pending = iter(jobs)  # shared by the printers: each takes the next job

        async def printer() -> None:
            # One tab prints job after job: a new tab for each page cost twice
            # what printing it did. A tab that failed is closed, not reused.
            page = None
            for job in pending:
                try:
                    if page is None:
                        page = await context.new_page()
                    html = job.page.read_text(encoding="utf-8")
                    await page.set_content(html, timeout=timeout * 1000 or 0)
                    data = await page.pdf(prefer_css_page_size=True, print_background=True)
                    _write(job.pdf, data)
                except Exception as error:  # one page that will not print costs only its PDF
                    failed.append(f"{job.page.name}: {error}".splitlines()[0])
                    if page is not None:
                        with contextlib.suppress(Exception):
                            await page.close()
                    page = None
            if page is not None:
                with contextlib.suppress(Exception):  # its PDFs are written
                    await page.close()

        try:
            await asyncio.gather(*(printer() for _ in range(min(workers, len(jobs)))))
        finally:
            await browser.close()
    return sorted(failed)  # the same order whichever printer failed first


def _write(path: Path, data: bytes) -> None:
    scratch = path.with_name(f".{path.name}.part")
    scratch.write_bytes(data)
    scratch.replace(path)


def letters_to_pdf(soffice: str, letters: Sequence[Path], timeout: float) -> list[str]:
    """Turn each letter (.docx) into a PDF beside it, in one LibreOffice run;
    the letters not turned, with why."""
    if not letters:
        return []
    with tempfile.TemporaryDirectory(prefix="auditor-soffice-") as scratch:
        profile, out = Path(scratch, "profile"), Path(scratch, "out")
        out.mkdir()
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",  # its own: another LibreOffice may run
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(out),
            *(str(letter) for letter in letters),
        ]
        budget = (timeout or 60.0) * 2 + 2.0 * len(letters)
        try:
            subprocess.run(command, capture_output=True, timeout=budget, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return [f"LibreOffice: {error}"]
        failed = []
        for letter in letters:
            made = out / f"{letter.stem}.pdf"
            if made.is_file():
                with contextlib.suppress(OSError):
                    shutil.move(made, letter.with_suffix(".pdf.part"))
                    letter.with_suffix(".pdf.part").replace(letter.with_suffix(".pdf"))
                    continue
            failed.append(letter.name)
        return failed
