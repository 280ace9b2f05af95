"""The command line: a thin shell over :func:`auditor.audit` and the renderers.

Exit codes (outputs.md): 0 nothing at or above the ``--fail-on`` level, 1
findings at or above it, 2 the command itself could not run.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from auditor import __version__

if TYPE_CHECKING:
    from auditor.core.results import AuditResult

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
_F = TypeVar("_F", bound=Callable[..., Any])

_LANG = click.option(
    "--lang",
    type=click.Choice(["en", "nl"]),
    default="en",
    show_default=True,
    help="Language of messages and reports.",
)
_RULES = click.option(
    "--rules",
    "rules_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder with extra or overriding rule sets (YAML); may be repeated.",
)
_ECHE = click.option(
    "--eche",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="AUDITOR_ECHE",
    default=None,
    help="The ECHE holders list to check Erasmus codes against, as the Commission "
    "publishes it (CSV or workbook); default: the list shipped (July 2024). "
    "Also read from AUDITOR_ECHE.",
)
_FAIL_ON = click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "never"]),
    default="error",
    show_default=True,
    help="Lowest severity that makes the exit code 1.",
)


def _format(choices: list[str], help_text: str) -> Callable[[_F], _F]:
    """``--format``: what goes to stdout, the first choice by default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help_text,
    )


def _outdir(help_text: str) -> Callable[[_F], _F]:
    """``-o/--output OUTDIR``: the report folder (audit writes it, history and diff read
    the state beside it)."""
    return click.option(
        "-o",
        "--output",
        "outdir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("audit-report"),
        show_default=True,
        help=help_text,
    )


def _new_file(help_text: str) -> Callable[[_F], _F]:
    """``-o FILE`` (required) and ``--force``, for the commands that write one file."""

    def decorate(command: _F) -> _F:
        forced = click.option("--force", is_flag=True, help="Replace the file if it exists.")
        return click.option(
            "-o",
            "--output",
            "output",
            type=click.Path(dir_okay=False, path_type=Path),
            required=True,
            help=help_text,
        )(forced(command))

    return decorate


def _state_file(help_text: str) -> Callable[[_F], _F]:
    """``--state FILE``: the SQLite state of incremental runs (auditor/state/)."""
    return click.option(
        "--state",
        "state_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=help_text,
    )


def _options(options: list[Any]) -> Callable[[_F], _F]:
    """Several click options as one decorator, in the order given."""

    def decorate(function: _F) -> _F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


_FORMAT = _format(
    ["text", "json"], "What goes to stdout: a readable summary or the results document."
)
# The limits that protect the machine (core/config.py Limits); the defaults
# are the library's, so the command line and the library cannot disagree.
_LIMIT_OPTIONS = [
    click.option(
        "--max-file-size",
        type=click.FloatRange(min=0.001),
        default=100.0,
        show_default=True,
        metavar="MB",
        help="Files larger than this are not opened.",
    ),
    click.option(
        "--max-unzipped-size",
        type=click.FloatRange(min=0.001),
        default=500.0,
        show_default=True,
        metavar="MB",
        help="Workbooks that unpack to more than this are not read.",
    ),
    click.option(
        "--max-compression-ratio",
        type=click.IntRange(min=1),
        default=200,
        show_default=True,
        help="Parts that unpack to more times their size are refused (bombs).",
    ),
    click.option(
        "--max-rows",
        type=click.IntRange(min=1),
        default=250_000,
        show_default=True,
        help="Sheets with more rows than this are not read.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=120.0,
        show_default=True,
        metavar="SECONDS",
        help="Time to read one file, or to write its page or copy (in a worker process); "
        "0: no limit, no workers.",
    ),
    click.option(
        "--max-memory",
        type=click.FloatRange(min=500),
        default=4000.0,
        show_default=True,
        metavar="MB",
        help="Memory a worker process may take beyond its start-up for one file.",
    ),
    click.option(
        "--max-findings",
        type=click.IntRange(min=1),
        default=1000,
        show_default=True,
        help="Findings listed per proposal and per file; the rest are counted in one.",
    ),
    click.option(
        "--follow-links",
        is_flag=True,
        help="Follow symbolic links that lead out of the folders audited.",
    ),
]


def _warm_up(limits: dict[str, Any], preload: str = "auditor.api,auditor.validate.checks") -> None:
    """Start the reader processes' server while this one imports the rest.

    The server imports ``preload`` once for all workers: the API for a batch
    (its workers read and judge), the reader alone for one file (``check``:
    this process judges, see api.audit).
    """
    if limits["timeout"]:
        from auditor.pool.processes import warm_up

        warm_up(preload.split(","))


class _State:
    debug = False


def _console() -> Any:
    """Rich console for stdout; wide when piped, so tables are not folded to 80 columns."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def _config(
    lang: str,
    rules_dirs: tuple[Path, ...],
    workers: int | None,
    limits: dict[str, Any],
    eche: Path | None = None,
) -> Any:
    from auditor.core.config import AuditConfig, Limits

    return AuditConfig(
        lang=lang,
        rules_dirs=rules_dirs,
        workers=workers,
        limits=Limits(
            max_file_bytes=int(limits["max_file_size"] * 1_000_000),
            max_unzipped_bytes=int(limits["max_unzipped_size"] * 1_000_000),
            max_ratio=limits["max_compression_ratio"],
            max_rows=limits["max_rows"],
            timeout=limits["timeout"],
            max_memory_bytes=int(limits["max_memory"] * 1_000_000),
            max_findings=limits["max_findings"],
        ),
        follow_links=limits["follow_links"],
        eche=eche,
    )


def exit_code(result: AuditResult, fail_on: str) -> int:
    from auditor.core.findings import Severity

    if fail_on == "never":
        return EXIT_OK
    levels = {Severity.ERROR} if fail_on == "error" else {Severity.ERROR, Severity.WARNING}
    return EXIT_FINDINGS if any(f.severity in levels for f in result.all_findings()) else EXIT_OK


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can act on into a message and exit code 2.

    Besides the auditor's own (core/errors.py): the system refusing a write
    (a full disk, a quota, a read-only folder), the state's database failing
    mid-run, and memory running out in this process. "Internal error" is
    left for bugs.
    """
    import sqlite3

    from auditor.core.errors import AuditorError

    if not _State.debug:  # a finaliser's exception on a full disk: the failed write says it
        sys.unraisablehook = lambda unraisable: None
    try:
        yield
    except AuditorError as error:
        _fail(str(error))
    except sqlite3.Error as error:
        _fail(
            f"the state file could not be used ({error}); nothing of this run was kept in it. "
            "Move it aside (a new state is made), or run with --no-state"
        )
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        _fail(
            f"the system refused: {error.strerror or error}{where}; nothing of this run was "
            "kept (an earlier report and state are as they were)"
        )
    except MemoryError:
        _fail("out of memory; audit fewer files at a time, or lower --workers")


def _fail(message: str) -> None:
    if _State.debug:
        traceback.print_exc()
    from auditor.core.filenames import printable

    click.echo(f"auditor: {printable(message)}", err=True)
    sys.exit(EXIT_USAGE)


def _progress(
    enabled: bool, lang: str
) -> tuple[Callable[[int], None] | None, Callable[[int], None] | None, Any]:
    """A rich progress bar on stderr, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None, None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from auditor.report.i18n import t

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(t("progress.reading", lang), total=None)
    return (
        lambda total: bar.update(task, total=total),
        lambda done: bar.advance(task, done),
        bar,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """Check Erasmus+ partnership proposals in Excel workbooks against their action's rules."""
    _State.debug = debug


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_outdir("Folder for the reports (replaced as a whole on every run).")
@_LANG
@_RULES
@_ECHE
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for reading (default: all cores for large batches).",
)
@_FAIL_ON
@_FORMAT
@_options(_LIMIT_OPTIONS)
@click.option(
    "--annotate",
    type=click.Choice(["failing", "all", "none"]),
    default="failing",
    show_default=True,
    help="Which input workbooks get an annotated copy.",
)
@click.option(
    "--reports",
    type=click.Choice(["full", "results"]),
    default="full",
    show_default=True,
    help="All reports, or results.json only.",
)
@click.option(
    "--pdf/--no-pdf",
    default=None,
    help="PDFs of the pages and letters (default: where Chromium and LibreOffice are found).",
)
@click.option(
    "--letters/--no-letters",
    default=True,
    show_default=True,
    help="A draft letter (letters/*.docx) to the coordinator of each ineligible proposal.",
)
@click.option(
    "--letter-template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The agency's letter template: a .docx with jinja2 tags (see auditor letter-template).",
)
@_state_file("The state of incremental runs (default: OUTDIR.state.sqlite beside OUTDIR).")
@click.option("--no-state", is_flag=True, help="Keep no state: read every file, no history.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Audit paths that hold no workbook (else that is an error, exit code 2).",
)
@click.option(
    "--rehash",
    is_flag=True,
    help="Hash every file, even those whose size and modification time are unchanged.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another run on the same state or OUTDIR to finish.",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No summary and no progress bar: one machine-readable line (for logs).",
)
def audit(
    paths: tuple[str, ...],
    outdir: Path,
    lang: str,
    rules_dirs: tuple[Path, ...],
    eche: Path | None,
    workers: int | None,
    fail_on: str,
    output_format: str,
    annotate: str,
    reports: str,
    pdf: bool | None,
    letters: bool,
    letter_template: Path | None,
    state_file: Path | None,
    no_state: bool,
    allow_empty: bool,
    rehash: bool,
    wait: float,
    quiet: bool,
    **limits: Any,
) -> None:
    """Audit workbooks and folders of workbooks; write the reports into OUTDIR.

    OUTDIR gets results.json, index.html, a page per proposal (proposals/),
    annotated copies of the input workbooks (annotated/), summary.xlsx, PDFs
    of the pages, and a draft letter per ineligible proposal (letters/).
    A state file beside OUTDIR remembers every file and run: the next run
    reads only the files that changed, and reports what changed since.
    """
    with _user_errors():
        _warm_up(limits)
        from auditor.report.json import render_json
        from auditor.runner import AuditRun

        config = _config(lang, rules_dirs, workers, limits, eche)
        state: Path | bool = False if no_state else state_file or True
        on_files, progress, bar = _progress(not quiet and output_format == "text", lang)
        with (
            AuditRun(
                paths,
                outdir,
                config,
                annotate=annotate,
                results_only=reports == "results",
                state=state,
                wait=wait,
                rehash=rehash,
                on_wait=None if quiet else _say_waiting(wait),
                allow_empty=allow_empty,
                pdf=pdf,
                letters=letters,
                letter_template=letter_template,
            ) as run,
            bar or contextlib.nullcontext(),
        ):
            outcome = run.execute(progress=progress, on_files=on_files)
        result = outcome.result
        code = exit_code(result, fail_on)
        for notice in outcome.notices:
            click.echo(f"auditor: {notice}", err=True)
        if output_format == "json":  # the entries as results.json has them
            click.echo(render_json(result, outcome.links, outcome.entries), nl=False)
        outcome.entries.close()
        if quiet:
            line = _log_line(result, outcome.counts, outcome.linked, code, outcome.seconds, outdir)
            click.echo(line, err=output_format == "json")
        elif output_format == "text":
            _print_summary(
                result, outdir / ("results.json" if reports == "results" else "index.html")
            )
    sys.exit(code)


def _say_waiting(wait: float) -> Callable[[Path], None]:
    """Say so when another run holds the state (the run then waits for it)."""

    def say(path: Path) -> None:
        click.echo(f"auditor: another run is using {path}; waiting up to {wait:g} s", err=True)

    return say


def _log_line(
    result: AuditResult, counts: Any, linked: int, code: int, seconds: float, outdir: Path
) -> str:
    """One line for logs: ``key=value`` pairs a log parser or grep can read."""
    from auditor.core.filenames import printable

    pairs: dict[str, object] = {"exit": code}
    if result.run_id is not None:
        pairs["run"] = result.run_id
    pairs.update(result.summary.to_dict())
    if counts is not None:
        c = counts
        pairs.update(hashed=c.hashed, read=c.read, rejudged=c.rejudged, reused=c.reused)
        pairs["files_withdrawn"] = c.withdrawn
        pairs["linked"] = linked  # pages and copies taken from the previous report
    if result.changes is not None:
        counts = result.changes.counts()
        for key in (
            "new",
            "withdrawn",
            "fixed",
            "broken",
            "changed",
            "findings_added",
            "findings_resolved",
            "became_unreadable",
        ):
            pairs[key] = counts[key]
    pairs["seconds"] = f"{seconds:.1f}"
    pairs["report"] = printable(str(outdir))
    return "auditor " + " ".join(f"{key}={value}" for key, value in pairs.items())


def _print_summary(result: AuditResult, path: Path) -> None:
    """The summary table, then where the reports are."""
    from auditor.report.i18n import t
    from auditor.report.text import print_summary

    console = _console()
    print_summary(result, console)
    from auditor.core.filenames import printable

    console.print(t("summary.written", result.lang, path=printable(str(path))))


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_LANG
@_RULES
@_ECHE
@_FAIL_ON
@_FORMAT
@_options(_LIMIT_OPTIONS)
def check(
    file: str,
    lang: str,
    rules_dirs: tuple[Path, ...],
    eche: Path | None,
    fail_on: str,
    output_format: str,
    **limits: Any,
) -> None:
    """Check one workbook: one line per finding, then the verdict."""
    with _user_errors():
        _warm_up(limits, "auditor.read.batch")
        from auditor.api import audit as run_audit

        result = run_audit([file], _config(lang, rules_dirs, 1, limits, eche))
        if output_format == "json":
            from auditor.report.json import render_json

            click.echo(render_json(result), nl=False)
        else:
            from auditor.report.text import check_lines

            for line in check_lines(result):
                click.echo(line)
    sys.exit(exit_code(result, fail_on))


def _may_write(output: Path, suffix: str, what: str, force: bool) -> None:
    """Refuse a file of another kind, or one that exists without --force."""
    from auditor.core.errors import OutputError

    if output.suffix.lower() != suffix:
        raise OutputError(f"{output}: {what} is a {suffix} file")
    if output.exists() and not force:
        raise OutputError(f"{output} exists; use --force to replace it")


@cli.command()
@click.option("--action", required=True, help="The action the template is for (key or alias).")
@_LANG
@_RULES
@_new_file("The workbook to write (.xlsx).")
def template(
    action: str, lang: str, rules_dirs: tuple[Path, ...], output: Path, force: bool
) -> None:
    """Write the applicant's template for an action: dropdowns, hints and a live panel."""
    with _user_errors():
        from auditor.rules.rulebook import load_rulebook
        from auditor.template.workbook import write_template

        _may_write(output, ".xlsx", "the template", force)
        write_template(load_rulebook(rules_dirs), action, lang, output)
        click.echo(str(output))


@cli.command("letter-template")
@_LANG
@_new_file("The Word document to write (.docx).")
def letter_template(lang: str, output: Path, force: bool) -> None:
    """Write the auditor's letter template, to edit into the agency's own (--letter-template).

    It is a Word document with jinja2 tags ({{ coordinator.organisation }},
    {%tr for g in grounds %} ...); README "Draft letters" lists every field.
    """
    with _user_errors():
        from auditor.report.files import write_atomic
        from auditor.report.letters import letter_template as default_template

        _may_write(output, ".docx", "the letter template", force)
        write_atomic(output, default_template(lang))
        click.echo(str(output))


@cli.command()
@click.option("--action", default=None, help="Only the rules of this action, with parameters.")
@_LANG
@_RULES
@_format(["text", "markdown"], "A table for the terminal or Markdown.")
def rules(action: str | None, lang: str, rules_dirs: tuple[Path, ...], output_format: str) -> None:
    """List the rules (all, or those of one action)."""
    with _user_errors():
        from auditor.core.catalogue import catalogue
        from auditor.core.errors import ConfigError
        from auditor.report.rulebook import print_rules, rules_markdown
        from auditor.rules.rulebook import load_rulebook

        book = load_rulebook(rules_dirs)
        if output_format == "markdown" and action is not None:
            raise ConfigError("--format markdown lists the whole catalogue; leave out --action")
        if output_format == "markdown":
            click.echo(rules_markdown(catalogue(), book, lang), nl=False)
        else:
            print_rules(catalogue(), book, _console(), lang, action)


@cli.command()
@click.argument("rule")
@_LANG
@_RULES
def explain(rule: str, lang: str, rules_dirs: tuple[Path, ...]) -> None:
    """Explain one rule (by code or name): what, why, examples, how to fix."""
    with _user_errors():
        from auditor.core.catalogue import catalogue
        from auditor.report.rulebook import explain as explain_rule
        from auditor.rules.rulebook import load_rulebook

        explain_rule(rule, catalogue(), load_rulebook(rules_dirs), _console(), lang)


_STATE_OPTIONS = [
    _outdir("The report folder whose state to read (its state file lies beside it)."),
    _state_file("The state file (default: OUTDIR.state.sqlite)."),
]


def _open_state(outdir: Path, state_file: Path | None) -> Any:
    from auditor.state.store import connect, default_state_path

    return connect(state_file or default_state_path(outdir), create=False)


@cli.command()
@_options(_STATE_OPTIONS)
@_LANG
@_format(["text", "json"], "A table, or the runs as JSON.")
def history(outdir: Path, state_file: Path | None, lang: str, output_format: str) -> None:
    """List the runs kept in a state: when, what they read, what they found."""
    with _user_errors():
        import json

        from auditor.report.text import print_runs
        from auditor.state.runs import runs

        db = _open_state(outdir, state_file)
        rows = runs(db)
        db.close()
        if output_format == "json":
            click.echo(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
        else:
            print_runs(rows, _console(), lang)


@cli.command()
@click.argument("earlier")
@click.argument("later", default="last")
@_options(_STATE_OPTIONS)
@_LANG
@_FORMAT
def diff(
    earlier: str,
    later: str,
    outdir: Path,
    state_file: Path | None,
    lang: str,
    output_format: str,
) -> None:
    """Compare two runs (numbers, or 'last' and 'previous'): new, withdrawn, fixed, broken.

    LATER defaults to the last run, so ``auditor diff previous`` tells what the
    last run changed.
    """
    with _user_errors():
        import json

        from auditor.core.errors import ConfigError
        from auditor.report.text import print_changes
        from auditor.state.runs import diff as compare_runs
        from auditor.state.runs import resolve_run

        db = _open_state(outdir, state_file)
        first, second = resolve_run(db, earlier), resolve_run(db, later)
        if first.id == second.id:
            db.close()
            raise ConfigError(
                f"{earlier!r} and {later!r} are both run {first.id}: nothing to compare "
                "(auditor diff previous: what the last run changed)"
            )
        # In the order given: from EARLIER to LATER, whichever is the older.
        changes = compare_runs(db, first, second)
        db.close()
        if output_format == "json":
            document = {"later_run": {"id": second.id, "started_at": second.started_at}}
            document.update(changes.to_dict())
            click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        else:
            print_changes(changes, second.id, _console(), lang)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--data",
    "data",
    default="auditor-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where accounts, inboxes, reports and the log live (made if missing).",
)
@click.option("--root-path", default="", help="The prefix a reverse proxy serves the app under.")
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Proxies whose X-Forwarded-For/-Proto headers are believed (comma-separated).",
)
@click.option(
    "--jobs",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Audits run at once (one per inbox at a time).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Reader processes per audit (default: decided per batch).",
)
@click.option(
    "--max-upload-mb",
    default=500,
    show_default=True,
    type=click.IntRange(1),
    help="The largest upload taken, in MB.",
)
@click.option(
    "--max-upload-files",
    default=2000,
    show_default=True,
    type=click.IntRange(1),
    help="The most files one upload (with its zips) may hold.",
)
@_options(_LIMIT_OPTIONS)
def serve(
    host: str,
    port: int,
    data: Path,
    root_path: str,
    forwarded_allow_ips: str,
    jobs: int,
    workers: int | None,
    max_upload_mb: int,
    max_upload_files: int,
    **limits: Any,
) -> None:
    """Serve the web application: agencies' inboxes and applicants' self-check."""
    with _user_errors():
        _warm_up(limits)
        import uvicorn

        from auditor.web.app import Settings, create_app
        from auditor.web.uploads import UploadLimits

        config = _config("en", (), workers, limits)
        upload = UploadLimits(max_upload_mb * 1_000_000, max_upload_files, reader=config.limits)
        settings = Settings(data, jobs, audit=config, upload=upload)
        app = create_app(settings)
        where = f"http://{host}:{port}/"
        if root_path:  # the proxy strips the prefix; the links carry it
            where += f" (behind a proxy that serves it under {root_path}/)"
        click.echo(f"auditor: serving {where}; data in {data.resolve()}")
        uvicorn.run(
            app,
            host=host,
            port=port,
            root_path=root_path,
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
            log_level="info",
            # Connections beyond this get 503 rather than the server's memory;
            # idle ones are closed. (Slow senders are the reverse proxy's to cut.)
            limit_concurrency=512,
            timeout_keep_alive=10,
        )


@cli.group()
def users() -> None:
    """Manage the web application's accounts (in the --data folder of auditor serve)."""


_DATA = click.option(
    "--data",
    "data",
    default="auditor-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The data folder of auditor serve.",
)


@users.command("add")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["admin", "officer"]), default="officer", show_default=True
)
@_LANG
@_DATA
@click.password_option(help="Asked for when not given (at least 12 characters).")
def users_add(name: str, role: str, lang: str, data: Path, password: str) -> None:
    """Add an account (the first admin is made this way; there is no default one)."""
    with _user_errors():
        from auditor.web.accounts import add_user
        from auditor.web.db import Database

        db = Database(data / "auditor.sqlite")
        add_user(db, name, password, role, lang)
        db.log("command line", "user-added", detail=f"{name} ({role})")
        click.echo(f"added {name} ({role})")


@users.command("remove")
@click.argument("name")
@_DATA
def users_remove(name: str, data: Path) -> None:
    """Remove an account, its sessions, tokens and memberships."""
    with _user_errors():
        from auditor.web.accounts import remove_user
        from auditor.web.db import Database

        db = Database(data / "auditor.sqlite", create=False)
        remove_user(db, name)
        db.log("command line", "user-removed", detail=name)
        click.echo(f"removed {name}")


@users.command("password")
@click.argument("name")
@_DATA
@click.password_option(help="Asked for when not given (at least 12 characters).")
def users_password(name: str, data: Path, password: str) -> None:
    """Give an account a new password; its sessions end."""
    with _user_errors():
        from auditor.web.accounts import set_password
        from auditor.web.db import Database

        db = Database(data / "auditor.sqlite", create=False)
        set_password(db, name, password)
        db.log("command line", "password-set", detail=name)
        click.echo(f"new password for {name}")


@users.command("list")
@_DATA
def users_list(data: Path) -> None:
    """List the accounts: name, role, language."""
    with _user_errors():
        from auditor.web.accounts import list_users
        from auditor.web.db import Database

        for user in list_users(Database(data / "auditor.sqlite", create=False)):
            click.echo(f"{user.name}\t{user.role}\t{user.lang}")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except SystemExit:
        raise
    except Exception:  # a bug, not a user error: say so, and keep exit code 2
        if _State.debug:
            raise
        click.echo(
            "auditor: internal error (run again with --debug for the traceback)\n"
            + traceback.format_exc(limit=1).strip().splitlines()[-1],
            err=True,
        )
        sys.exit(EXIT_USAGE)
