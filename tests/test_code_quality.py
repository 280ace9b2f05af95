"""ruff, mypy --strict and the import layers, as part of the test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=600, check=False
    )


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed; install the test extras: pip install -e '.[test]'"
    return found


def test_ruff_lint_and_format() -> None:
    lint = _run(_tool("ruff"), "check", ".")
    assert lint.returncode == 0, lint.stdout
    fmt = _run(_tool("ruff"), "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout


def test_mypy_strict() -> None:
    done = _run(_tool("mypy"))
    assert done.returncode == 0, done.stdout


def test_imports_only_go_down_the_data_flow() -> None:
    done = _run(_tool("lint-imports"))
    assert done.returncode == 0, done.stdout
