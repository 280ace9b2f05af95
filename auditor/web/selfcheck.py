"""The applicant's self-check: one workbook in, its verdict out, nothing kept.

No account. The upload and everything made from it live in a folder named
by 32 random bytes under the scratch folder. Once the page is rendered, all
of it is deleted except the annotated copy, which goes when it is
downloaded; whatever is left after ``expiry`` seconds is swept away (and
everything at start-up, since a restarted server has no page to serve it to).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from auditor.core.config import LANGUAGES
from auditor.core.errors import AuditorError
from auditor.core.findings import by_importance
from auditor.core.results import AuditResult
from auditor.read.discover import WORKBOOK_SUFFIXES
from auditor.rules.rulebook import load_rulebook
from auditor.runner import AuditRun
from auditor.web.http import XLSX, check_csrf, finish, lang_of, refused, render, state
from auditor.web.uploads import UploadLimits, UploadRefused, receive

ANNOTATED = "annotated"


@dataclass
class SelfChecks:
    """The folders of self-checks not yet collected, and when each expires."""

    root: Path
    expiry: float = 900.0
    running: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    # Anonymous uploads being received at once: each may be as large as a workbook may.
    receiving: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))
    expires: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)  # nothing survives a restart
        self.root.mkdir(parents=True)
        self.root.chmod(0o700)

    def new(self) -> tuple[str, Path]:
        token = secrets.token_urlsafe(32)
        self.expires[token] = float("inf")  # the clock starts once the page is served
        return token, self.root / token

    def served(self, token: str) -> None:
        self.expires[token] = time.monotonic() + self.expiry

    def folder(self, token: str) -> Path | None:
        if token not in self.expires:  # never a path made from what the URL says
            return None
        return self.root / token

    def forget(self, token: str) -> None:
        self.expires.pop(token, None)
        shutil.rmtree(self.root / token, ignore_errors=True)

    def sweep(self) -> None:
        moment = time.monotonic()
        for token, deadline in list(self.expires.items()):
            if deadline <= moment:
                self.forget(token)


async def check_page(request: Request) -> Response:
    return render(request, "check.html.j2", actions=actions(lang_of(request)), outcome=None)


@lru_cache(maxsize=1)
def _rulebook() -> Any:
    return load_rulebook()


def actions(lang: str) -> list[tuple[str, str]]:
    """Each action with its rule set's title, for the template list."""
    found = []
    for ruleset in _rulebook().action_sets():
        for action in ruleset.actions:
            found.append((action, ruleset.text("title", lang)))
    return sorted(found)


async def run_check(request: Request) -> Response:
    server = state(request)
    lang = lang_of(request)
    if not server.check_rate.allow(request):
        return refused(request, 429, "rate")
    checks: SelfChecks = server.checks
    checks.sweep()
    token, folder = checks.new()
    limits = UploadLimits(
        max_request_bytes=server.upload.reader.max_file_bytes + 100_000,
        max_files=1,
        reader=server.upload.reader,
    )
    if checks.receiving.locked():
        checks.forget(token)
        return refused(request, 503, "503")
    try:
        async with checks.receiving:
            received = await receive(request, folder / "in", limits)
        check_csrf(request, received.fields)
    except UploadRefused as refusal:
        checks.forget(token)
        return refused(request, refusal.status, refusal.reason, **refusal.params)
    except BaseException:
        checks.forget(token)
        raise
    if len(received.files) != 1 or Path(received.files[0]).suffix.lower() not in WORKBOOK_SUFFIXES:
        checks.forget(token)
        return refused(request, 400, "one-workbook")
    workbook = folder / "in" / received.files[0]
    try:
        async with checks.running:
            result = await run_in_threadpool(_audit, workbook, folder / "report", server, lang)
        annotated = _keep_annotated(folder)
    except AuditorError as error:
        checks.forget(token)
        return refused(request, 400, "audit", detail=str(error))
    except BaseException:
        checks.forget(token)
        raise
    if annotated is None:
        checks.forget(token)
    else:
        checks.served(token)
    return render(
        request,
        "check.html.j2",
        actions=actions(lang),
        outcome=_outcome(result, lang, Path(received.files[0]).name),
        token=token if annotated else None,
        minutes=int(checks.expiry // 60),
    )


def _audit(workbook: Path, outdir: Path, server: Any, lang: str) -> AuditResult:
    labels = {str(workbook): workbook.name}  # the applicant's name for it, not the server's path
    config = server.config(lang)
    with AuditRun(
        [str(workbook)],
        outdir,
        config,
        annotate="all",
        state=False,
        labels=labels,
        pdf=False,  # the applicant gets the page and the annotated copy, nothing to print
        letters=False,
    ) as run:
        outcome = run.execute()
    outcome.entries.close()
    return outcome.result


def _keep_annotated(folder: Path) -> Path | None:
    """Keep the annotated copy alone; the upload and the rest of the report go now."""
    copies = sorted((folder / "report" / "annotated").glob("*.xls[xm]"))
    kept = None
    if copies:
        (folder / ANNOTATED).mkdir()
        kept = folder / ANNOTATED / copies[0].name  # the report's name for it: a safe one
        copies[0].replace(kept)
    for part in ("in", "report"):
        shutil.rmtree(folder / part, ignore_errors=True)
    return kept


def _outcome(result: AuditResult, lang: str, name: str) -> dict[str, Any]:
    proposals = []
    for proposal in result.proposals:
        proposals.append(
            {
                "id": proposal.proposal_id,
                "action": proposal.action,
                "acronym": proposal.acronym,
                "verdict": str(proposal.verdict),
                "findings": by_importance(proposal.findings),
                "errors": proposal.errors,
                "warnings": proposal.warnings,
            }
        )
    problems = [f for file in result.files for f in file.findings]
    return {"name": name, "proposals": proposals, "file_findings": problems}


async def annotated_copy(request: Request) -> Response:
    checks: SelfChecks = state(request).checks
    token = request.path_params["token"]
    folder = checks.folder(token)
    copies = sorted((folder / ANNOTATED).glob("*")) if folder is not None else []
    if folder is None or len(copies) != 1 or not copies[0].is_file():
        raise HTTPException(404)
    if request.method == "HEAD":  # a link checker asking: the copy stays for its owner
        return finish(request, Response(media_type=XLSX))
    # Taken out of the register now: a second request finds nothing.
    checks.expires.pop(token, None)
    response = FileResponse(
        copies[0],
        media_type=XLSX,
        filename=copies[0].name,
        background=BackgroundTask(shutil.rmtree, folder, True),
    )
    return finish(request, response)


@lru_cache(maxsize=96)
def _template_bytes(action: str, lang: str) -> bytes:
    from auditor.template.workbook import build_template

    buffer = BytesIO()
    build_template(_rulebook(), action, lang, file=f"template-{action}-{lang}.xlsx").save(buffer)
    return buffer.getvalue()


async def template(request: Request) -> Response:
    action = request.query_params.get("action", "")
    lang = request.query_params.get("lang", lang_of(request))
    if action not in {key for key, _ in actions("en")} or lang not in LANGUAGES:
        raise HTTPException(404)
    data = await run_in_threadpool(_template_bytes, action, lang)
    response = Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="template-{action}-{lang}.xlsx"'},
    )
    return finish(request, response)
