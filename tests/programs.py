"""The programs some tests need besides Python: Chromium and LibreOffice.

``.ci/run`` installs them. On any other machine a test that needs one skips,
saying which program and how to get it, so the README's test command passes
where there is only Python. Under CI (the ``CI`` variable set, as ``.ci/run``
and every CI service set it) a missing program fails the test instead: CI
cannot go green by skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.report.printing import chromium_args

_INSTALL = "apt-get install chromium libreoffice-calc-nogui libreoffice-writer-nogui"


def found(*names: str) -> str | None:
    """The first of ``names`` on the PATH, or None."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def needed(*names: str, what: str) -> str:
    """The program's path; without it, skip the test (fail it under CI)."""
    path = found(*names)
    if path is None:
        reason = f"{what} is not installed ({_INSTALL}; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"CI: {reason}")
        pytest.skip(reason)
    return path


def chromium() -> str:
    return needed("chromium", "chromium-browser", what="Chromium")


def soffice() -> str:
    return needed("soffice", "libreoffice", what="LibreOffice")


def convert(
    soffice: str, files: list[Path], kind: str, outdir: Path, profile: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """LibreOffice, headless with a profile of its own, turning ``files`` into ``kind``
    (``xlsx``, ``xls``, ``ods``, ``csv:...``) in ``outdir``."""
    return subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{profile}",
            "--convert-to",
            kind,
            "--outdir",
            str(outdir),
            *[str(path) for path in files],
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download); skips without it."""
    from playwright.sync_api import sync_playwright

    path = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=chromium_args())
        yield launched
        launched.close()
