"""Run the benchmark and write bench/RESULTS.md.

    python bench/generate.py /tmp/bench            # once: 10,000 workbooks + a 200,000-row export
    python bench/run.py /tmp/bench [--sample 1000] [--results bench/RESULTS.md]

Everything is measured in one run, on the same files, each command in a
process of its own: wall time, CPU time, and peak memory (the proportional
set sizes of the whole process tree, summed, sampled every 100 ms). Figures
are reported against the floors they are held to: fastexcel reading every
sheet into polars; openpyxl loading and saving the workbooks the report
annotates; the auditor's own templates rendering every page. The
alternatives (frictionless, a pandas + openpyxl script) run on the same
files; the auditor also runs on the first ``--sample`` files, to show how its
memory grows with the batch; the nightly case audits an inbox with a state,
changes 1% of it and audits it again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
# Set in main(): the interpreter of a fresh virtual environment with the
# auditor installed the way the README installs it (``pip install .``), so
# that no benchmark tool (pandas above all: pandera imports it when it is
# there) weighs on the auditor's figures.
PYTHON = sys.executable
PACKAGES = (
    "polars",
    "fastexcel",
    "pandera",
    "openpyxl",
    "jinja2",
    "frictionless",
    "pandas",
)


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    peak_mb: float
    output: str


def measure(name: str, command: list[str], quiet: bool = False) -> Run:
    """Run ``command``, sampling the CPU time and memory of its process tree until it ends.

    Memory is the proportional set size (PSS) summed over the tree: worker
    processes forked from one server share its pages, which a sum of resident
    sizes would count once per worker.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=BENCH.parent
    )
    root = psutil.Process(process.pid)
    peak = 0
    cpu: dict[int, float] = {}
    while process.poll() is None:
        total = 0
        with contextlib.suppress(psutil.Error):
            for member in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error, OSError, ValueError):
                    total += pss(member.pid)
                    times = member.cpu_times()
                    cpu[member.pid] = max(cpu.get(member.pid, 0.0), times.user + times.system)
        peak = max(peak, total)
        time.sleep(0.1)
    wall = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    run = Run(name, wall, sum(cpu.values()), peak / 1e6, output.strip())
    if not quiet:
        print(f"{name:<48} {wall:8.2f} s  cpu {run.cpu:7.2f} s  peak {run.peak_mb:7.0f} MB")
    if process.returncode not in (0, 1):
        raise SystemExit(f"{name} failed ({process.returncode}):\n{output}")
    return run


def pss(pid: int) -> int:
    """The proportional set size of a process in bytes.

    Read from ``smaps_rollup`` (one line to parse) rather than through
    psutil's ``memory_full_info``, which walks the whole ``smaps`` file and
    costs the measured processes a noticeable share of the CPU.
    """
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:  # noqa: PTH123
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def check_time(path: Path) -> Run:
    """``auditor check`` on one file, as an applicant runs it: the median of five, not sampled."""
    walls = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(auditor("check", str(path)), capture_output=True, check=False)
        walls.append(time.perf_counter() - started)
    return Run("auditor check, one file (median of 5)", statistics.median(walls), 0.0, 0.0, "")


def warm_cache(paths: list[Path]) -> None:
    """Read every input once, so that no measurement pays for the disk and all pay the same."""
    for path in paths:
        path.read_bytes()


def machine() -> dict[str, str]:
    model = "unknown"
    with Path("/proc/cpuinfo").open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    versions = {name: metadata.version(name) for name in PACKAGES}
    return {
        "date": datetime.now().astimezone().isoformat(timespec="minutes"),
        "cpu": model,
        "cores": str(len(os.sched_getaffinity(0))),
        "memory": f"{memory:.0f} GiB",
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "auditor": metadata.version("auditor"),
        **versions,
    }


def sample_folder(source: Path, count: int, target: Path) -> list[Path]:
    """The first ``count`` workbooks of ``source``, hard-linked into ``target``.

    Hard links, not symbolic ones: the auditor refuses a link that leads out
    of the folder it audits (without --follow-links), and would measure its
    start-up alone.
    """
    files = sorted(source.glob("*.xlsx"))[:count]
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        try:
            (target / path.name).hardlink_to(path)
        except OSError:  # another file system
            shutil.copyfile(path, target / path.name)
    return files


# The runs write no PDFs: printing is Chromium's work, one page at a time,
# and the floors the reports are held to print nothing (`--pdf` is measured
# apart in README "PDFs"). Letters are written, as by default.
os.environ["AUDITOR_PDF"] = "0"


# Files in a typical call round (the alternatives are compared on it too).
ROUND = 500


def auditor(*arguments: str) -> list[str]:
    return [PYTHON, "-m", "auditor", *arguments]


def audit(name: str, inputs: Path, out: Path, *options: str) -> Run:
    """An audit as the floors are: no state (the nightly case measures the state)."""
    shutil.rmtree(out, ignore_errors=True)
    return measure(
        name, auditor("audit", str(inputs), "-o", str(out), "-q", "--no-state", *options)
    )


# The nightly case: of the inbox, 1% changes between two runs: a third of it
# new files, a third deleted, a third saved again (new bytes, same proposal).
CHANGED = 0.01


def nightly(files: list[Path], scratch: Path, cores: int) -> dict[str, Run]:
    """A first run with a state, then the run after 1% of the inbox changed; both report modes."""
    inbox = scratch / "inbox"
    inbox.mkdir()
    step = max(3, round(len(files) * CHANGED)) // 3
    held = files[-step:]  # arrive before the second run
    for path in files[:-step]:
        shutil.copy2(path, inbox / path.name)
    modes = {"results": ("--reports", "results"), "full": ()}
    runs = {}
    for mode, options in modes.items():
        out = scratch / f"night-{mode}"
        runs[f"first_{mode}"] = measure(
            f"nightly: first run with a state ({mode})",
            auditor("audit", str(inbox), "-o", str(out), "-q", *options),
        )
    for path in files[:step]:
        (inbox / path.name).unlink()
    for path in files[step : 2 * step]:
        resave(inbox / path.name)
    for path in held:
        shutil.copy2(path, inbox / path.name)
    for mode, options in modes.items():
        out = scratch / f"night-{mode}"
        runs[f"night_{mode}"] = measure(
            f"nightly: next run, {3 * step} files changed ({mode})",
            auditor("audit", str(inbox), "-o", str(out), "-q", *options),
        )
        print(f"{'':<48} {runs[f'night_{mode}'].output}")
    return runs


def alternatives(files: list[Path], scratch: Path, suffix: str) -> dict[str, Run]:
    """The pandas + openpyxl script and frictionless on ``files``: runs ``pandas{suffix}``
    and ``frictionless{suffix}``."""
    listing = scratch / f"files{suffix}.txt"
    listing.write_text("\n".join(str(p) for p in files) + "\n", encoding="utf-8")
    scripts = BENCH / "alternatives"
    return {
        f"pandas{suffix}": measure(
            f"pandas + openpyxl script ({len(files)} files)",
            [
                sys.executable,
                str(scripts / "pandas_check.py"),
                str(listing),
                str(scratch / f"pandas{suffix}.csv"),
            ],
        ),
        f"frictionless{suffix}": measure(
            f"frictionless validate ({len(files)} files)",
            [sys.executable, str(scripts / "frictionless_check.py"), str(listing)],
        ),
    }


def resave(path: Path) -> None:
    """The same workbook with other bytes: recompressed, as saving it again would."""
    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info, data in parts:
            target.writestr(info.filename, data)


def install(folder: Path) -> str:
    """A fresh virtual environment with the auditor installed as the README says."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = str(folder / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", str(BENCH.parent)], check=True, capture_output=True
    )
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the folder bench/generate.py wrote")
    parser.add_argument("--sample", type=int, default=1000, help="files for the alternatives")
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument(
        "--python", help="an interpreter with the auditor installed (default: a fresh venv)"
    )
    options = parser.parse_args()
    proposals = options.data / "proposals"
    export = options.data / "export" / "agency-export.xlsx"
    files = sorted(proposals.glob("*.xlsx"))
    cores = len(os.sched_getaffinity(0))
    scratch = Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    runs: dict[str, Run] = {}
    try:
        print(f"{len(files)} workbooks, {cores} cores, scratch {scratch}")
        global PYTHON
        PYTHON = options.python or install(scratch / "venv")
        warm_cache([*files, export])
        runs["floor"] = measure(
            "read floor (fastexcel defaults)",
            [PYTHON, str(BENCH / "floor.py"), str(proposals)],
        )
        runs["floor_text"] = measure(
            "read floor (fastexcel, every cell as text)",
            [PYTHON, str(BENCH / "floor.py"), str(proposals), "--strings"],
        )
        runs["w1"] = audit(
            "audit, results.json only, 1 worker",
            proposals,
            scratch / "w1",
            "--reports",
            "results",
            "--workers",
            "1",
        )
        runs["wn"] = audit(
            f"audit, results.json only, {cores} workers",
            proposals,
            scratch / "wn",
            "--reports",
            "results",
            "--workers",
            str(cores),
        )
        runs["full"] = audit(f"audit, all reports, {cores} workers", proposals, scratch / "full")
        document = json.loads((scratch / "full" / "results.json").read_text(encoding="utf-8"))
        annotated = [entry["file"] for entry in document["files"] if entry.get("annotated")]
        summary = document["summary"]
        listing = scratch / "annotated.txt"
        listing.write_text("\n".join(annotated) + "\n", encoding="utf-8")
        runs["openpyxl"] = measure(
            f"openpyxl load+save floor ({len(annotated)} files)",
            [
                PYTHON,
                str(BENCH / "openpyxl_floor.py"),
                str(listing),
                str(scratch / "copies"),
            ],
        )
        html = measure(
            "HTML floor (pages + index)",
            [PYTHON, str(BENCH / "html_floor.py"), str(proposals), str(scratch / "html")],
        )
        runs["html"] = Run(html.name, float(html.output.splitlines()[-1]), 0.0, html.peak_mb, "")
        print(f"{'  of which rendering':<48} {runs['html'].wall:8.2f} s")

        small = scratch / "sample"
        sampled = sample_folder(proposals, options.sample, small)
        runs["sample_w1"] = audit(
            f"audit {len(sampled)} files, 1 worker",
            small,
            scratch / "s1",
            "--reports",
            "results",
            "--workers",
            "1",
        )
        runs["sample_wn"] = audit(
            f"audit {len(sampled)} files, {cores} workers",
            small,
            scratch / "sn",
            "--reports",
            "results",
            "--workers",
            str(cores),
        )
        # A typical call round: where the start-up of imports and workers weighs most.
        round_files = sample_folder(proposals, ROUND, scratch / "round")
        runs["round_wn"] = audit(
            f"audit {len(round_files)} files, {cores} workers",
            scratch / "round",
            scratch / "r1",
            "--reports",
            "results",
            "--workers",
            str(cores),
        )
        runs.update(alternatives(round_files, scratch, "_round"))
        runs.update(alternatives(files, scratch, ""))
        runs.update(nightly(files, scratch, cores))

        runs["export_floor"] = measure(
            "export: read floor", [PYTHON, str(BENCH / "floor.py"), str(export)]
        )
        runs["export_floor_text"] = measure(
            "export: read floor (text)",
            [PYTHON, str(BENCH / "floor.py"), str(export), "--strings"],
        )
        runs["export"] = audit(
            "export: audit, results.json only", export, scratch / "export", "--reports", "results"
        )

        runs["check"] = check_time(files[0])
        print(f"{'auditor check one file (median of 5)':<48} {runs['check'].wall:8.2f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    text = report(runs, machine(), len(files), len(annotated), summary, len(sampled), options.data)
    options.results.write_text(text, encoding="utf-8")
    print(f"wrote {options.results}")


def report(
    runs: dict[str, Run],
    about: dict[str, str],
    count: int,
    annotated: int,
    summary: dict[str, int],
    sampled: int,
    data: Path,
) -> str:
    r = runs
    cores = about["cores"]
    floor_full = r["floor"].wall + r["openpyxl"].wall + r["html"].wall
    w1, wn, full = r["w1"].wall, r["wn"].wall, r["full"].wall
    floor, floor_text = r["floor"].wall, r["floor_text"].wall
    pandas, frictionless = r["pandas"].wall, r["frictionless"].wall
    export, export_floor = r["export"].wall, r["export_floor"].wall
    peak = max(r["wn"].peak_mb, r["w1"].peak_mb, r["full"].peak_mb)
    growth = 100 * (r["wn"].peak_mb / r["sample_wn"].peak_mb - 1)
    targets = [
        (
            "`audit` without reports, 1 worker: at most 2x the read floor",
            f"{w1 / floor:.2f}x (against the text floor: {w1 / floor_text:.2f}x)",
            w1 <= 2 * floor,
        ),
        (f"{cores} workers at least 1.8x faster than 1", f"{w1 / wn:.2f}x", w1 / wn >= 1.8),
        (
            "All reports: at most 1.3x (read floor + openpyxl load+save of the annotated"
            " files + HTML rendering)",
            f"{full / floor_full:.2f}x",
            full <= 1.3 * floor_full,
        ),
        (
            f"At least 30x faster than the pandas + openpyxl script on {count:,} files",
            f"{pandas / wn:.1f}x ({cores} workers), {pandas / w1:.1f}x (1 worker)",
            pandas >= 30 * wn,
        ),
        (
            f"At least 30x faster than frictionless on {count:,} files",
            f"{frictionless / wn:.1f}x ({cores} workers), {frictionless / w1:.1f}x (1 worker)",
            frictionless >= 30 * wn,
        ),
        (
            f"At least 10x faster than the pandas script on {ROUND} files",
            f"{r['pandas_round'].wall / r['round_wn'].wall:.1f}x",
            r["pandas_round"].wall >= 10 * r["round_wn"].wall,
        ),
        (
            f"At least 10x faster than frictionless on {ROUND} files",
            f"{r['frictionless_round'].wall / r['round_wn'].wall:.1f}x",
            r["frictionless_round"].wall >= 10 * r["round_wn"].wall,
        ),
        (
            f"Peak memory for {count:,} proposals under 500 MB",
            f"{r['wn'].peak_mb:.0f} MB ({cores} workers), {r['w1'].peak_mb:.0f} MB (1 worker),"
            f" {r['full'].peak_mb:.0f} MB (all reports)",
            peak < 500,
        ),
        (
            f"... and within 20% of the peak for {sampled:,}",
            f"{r['wn'].peak_mb:.0f} MB against {r['sample_wn'].peak_mb:.0f} MB: {growth:+.0f}%",
            growth <= 20,
        ),
        (
            "200,000-row export: at most 2x its read floor",
            f"{export / export_floor:.2f}x (against the text floor:"
            f" {export / r['export_floor_text'].wall:.2f}x)",
            export <= 2 * export_floor,
        ),
        (
            f"Nightly run, 1% of {count:,} changed: under 10% of a full run (results.json)",
            f"{r['night_results'].wall / wn:.1%} of the run without a state,"
            f" {r['night_results'].wall / r['first_results'].wall:.1%} of the first run with one",
            r["night_results"].wall < 0.1 * wn,
        ),
        (
            "... the same with all reports",
            f"{r['night_full'].wall / full:.1%} of the run without a state,"
            f" {r['night_full'].wall / r['first_full'].wall:.1%} of the first run with one",
            r["night_full"].wall < 0.1 * full,
        ),
        (
            "`auditor check` on one file under 1.0 s, imports included",
            f"{r['check'].wall:.2f} s",
            r["check"].wall < 1.0,
        ),
    ]
    lines = [
        "# Benchmark results",
        "",
        "Written by `python bench/run.py DATA` (bench/run.py) from one run; the data",
        f"made by `python bench/generate.py DATA` (here `{data}`): {count:,} workbooks",
        f"of one proposal each ({summary['eligible']:,} eligible,"
        f" {summary['ineligible']:,} ineligible as judged),",
        "5 to 60 partners, every action, English and Dutch, some untidy; and one agency",
        "export with 200,000 partner rows. Times are wall-clock seconds; CPU is the",
        "user + system time of the whole process tree; peak memory is the proportional",
        "set size (PSS) summed over the process tree at its highest, sampled every",
        "100 ms (PSS counts pages shared by forked workers once, not once per worker).",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in about.items()],
        "",
        "## Targets",
        "",
        "| Target | Measured | Met |",
        "|---|---|---|",
        *[
            f"| {name} | {measured} | {'yes' if met else '**no**'} |"
            for name, measured, met in targets
        ],
        "",
        "## Every figure",
        "",
        "| What | Wall (s) | CPU (s) | Peak memory (MB) |",
        "|---|---:|---:|---:|",
    ]
    for run in runs.values():
        cpu = f"{run.cpu:.2f}" if run.cpu else "-"
        lines.append(f"| {run.name} | {run.wall:.2f} | {cpu} | {run.peak_mb:.0f} |")
    lines += [
        "",
        f"The floor for all reports is {floor_full:.1f} s: read floor {r['floor'].wall:.1f} s +",
        f"openpyxl load+save of the {annotated:,} annotated workbooks {r['openpyxl'].wall:.1f} s +",
        f"rendering {count:,} proposal pages and the index {r['html'].wall:.1f} s,"
        " each in one process.",
        "The alternatives ran on the same workbooks as the auditor. The HTML floor's wall",
        "time is the rendering alone; its memory figure includes the audit it renders from.",
        f"The runs on {sampled:,} workbooks (the first of them) show how memory grows",
        "with the number of files. The runs above the nightly ones keep no state",
        "(`--no-state`), like the floors; the nightly case starts from a copy of the inbox",
        "less 1%, audits it with a state, then adds that 1% as new files, deletes as many,",
        "saves as many again (new bytes, same proposals) and audits again: once with",
        "results.json only, once with all reports.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
