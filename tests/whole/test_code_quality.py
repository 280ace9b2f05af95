"""ruff, mypy --strict and the import layers, as part of the test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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


def _pinned() -> dict[str, str]:
    """The lock file's ``name==version`` lines, by normalised name."""
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        requirement = line.split(";")[0].split("#")[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_the_lock_file_pins_every_dependency_within_its_bounds() -> None:
    """A dependency added or bounded in pyproject.toml without locking again fails here."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = _pinned()
    assert len(pins) > 50
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (text, pins[name])
    for tool in ("ruff", "mypy", "import-linter"):  # exact: they judge our code
        (spec,) = [r for r in map(Requirement, wanted) if canonicalize_name(r.name) == tool]
        assert str(spec.specifier).startswith("=="), spec
