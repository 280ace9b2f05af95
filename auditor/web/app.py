"""The web application: ``create_app(Settings(...))`` gives the ASGI app uvicorn serves.

DATA/auditor.sqlite   accounts, sessions, tokens, inboxes, jobs, the log
DATA/inboxes/<id>/    each inbox's files, report and state (web/inboxes.py)
DATA/scratch/         uploads being received, zips of reports being sent
DATA/scratch/checks/  applicants' self-checks, deleted when collected or expired
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from auditor.core.config import AuditConfig
from auditor.core.locks import hold
from auditor.web import admin, api, selfcheck, signin, workspace
from auditor.web.db import Database
from auditor.web.http import RateLimit, finish, refused
from auditor.web.jobs import JobQueue
from auditor.web.selfcheck import SelfChecks
from auditor.web.uploads import UploadLimits

log = logging.getLogger("auditor.web")


@dataclass(frozen=True)
class Settings:
    data: Path
    slots: int = 2  # audits at once
    waiting: int = 50  # audits queued behind them
    audit: AuditConfig = field(default_factory=AuditConfig)  # workers, limits (lang: per run)
    upload: UploadLimits = field(default_factory=UploadLimits)
    check_expiry: float = 900.0  # seconds an applicant's annotated copy waits
    login_rate: tuple[int, float] = (10, 300.0)  # attempts per address per window
    check_rate: tuple[int, float] = (20, 600.0)


@dataclass
class Server:
    """What the handlers share (``request.app.state.server``)."""

    data: Path
    db: Database
    jobs: JobQueue
    checks: SelfChecks
    scratch: Path
    upload: UploadLimits
    login_rate: RateLimit
    check_rate: RateLimit
    config: Callable[[str], AuditConfig]
    held: contextlib.ExitStack  # the data folder's lock, for as long as the process serves


def make_server(settings: Settings) -> Server:
    data = settings.data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)  # proposals hold personal data
    held = contextlib.ExitStack()
    # Two servers on one folder would each take the other's running jobs for
    # a dead server's (and mark them interrupted): one server per folder.
    held.enter_context(
        hold(
            data / "serve.lock",
            0,
            lambda holder: f"another auditor serve ({holder}) uses {data}; stop it first",
        )
    )
    scratch = data / "scratch"
    # Whatever a previous server left half-received is of no use now.
    for leftover in scratch.glob("upload-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in scratch.glob("zip-*.zip"):
        leftover.unlink()
    scratch.mkdir(exist_ok=True)
    db = Database(data / "auditor.sqlite")

    def config(lang: str) -> AuditConfig:
        return replace(settings.audit, lang=lang)

    return Server(
        data=data,
        db=db,
        jobs=JobQueue(db, config, settings.slots, settings.waiting),
        checks=SelfChecks(scratch / "checks", settings.check_expiry),
        scratch=scratch,
        upload=settings.upload,
        login_rate=RateLimit(*settings.login_rate),
        check_rate=RateLimit(*settings.check_rate),
        config=config,
        held=held,
    )


async def error_page(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code in (301, 302, 303, 307, 308):
        return finish(request, Response(status_code=error.status_code, headers=error.headers))
    if request.url.path.startswith(f"{request.scope.get('root_path', '')}/api/"):
        body = {"error": error.detail}
        return finish(request, JSONResponse(body, error.status_code, headers=error.headers))
    reason = "csrf" if error.detail == "csrf" else str(error.status_code)
    if error.status_code not in (400, 401, 403, 404, 405, 409, 413, 429, 503):
        return finish(request, PlainTextResponse(str(error.detail), error.status_code))
    return refused(request, error.status_code, reason)


async def failure_page(request: Request, error: Exception) -> Response:
    """A bug: the visitor gets a page (with the usual headers), the log the traceback."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    try:
        if request.url.path.startswith(f"{request.scope.get('root_path', '')}/api/"):
            return finish(request, JSONResponse({"error": "internal error"}, 500))
        return refused(request, 500, "500")
    except Exception:  # the page itself failed (the database?): plain words then
        return finish(request, PlainTextResponse("internal error", 500))


def routes() -> list[Route]:
    inbox = "/inboxes/{inbox:int}"
    return [
        Route("/", workspace.home),
        # The reports' pages name no icon; the browser asks anyway.
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/login", signin.login_page, methods=["GET"]),
        Route("/login", signin.login, methods=["POST"]),
        Route("/logout", signin.logout, methods=["POST"]),
        Route("/tokens", signin.tokens_page, methods=["GET"]),
        Route("/tokens", signin.change_tokens, methods=["POST"]),
        Route("/admin/users", admin.users_page, methods=["GET"]),
        Route("/admin/users", admin.change_users, methods=["POST"]),
        Route("/admin/log", admin.log_page),
        Route("/inboxes", admin.create, methods=["POST"]),
        Route(inbox, workspace.inbox_page),
        Route(f"{inbox}/upload", workspace.upload, methods=["POST"]),
        Route(f"{inbox}/files/delete", workspace.delete_file, methods=["POST"]),
        Route(f"{inbox}/run", workspace.start_run, methods=["POST"]),
        Route(f"{inbox}/members", admin.members, methods=["POST"]),
        Route(f"{inbox}/delete", admin.delete, methods=["POST"]),
        Route(inbox + "/jobs/{job:int}", workspace.job_page),
        Route(inbox + "/jobs/{job:int}/status", workspace.job_json),
        Route(f"{inbox}/report.zip", workspace.report_zip),
        Route(f"{inbox}/report/", workspace.report),
        Route(inbox + "/report/{path:path}", workspace.report),
        Route("/check", selfcheck.check_page, methods=["GET"]),
        Route("/check", selfcheck.run_check, methods=["POST"]),
        Route("/check/{token}/annotated", selfcheck.annotated_copy),
        Route("/template", selfcheck.template),
        Route("/api/inboxes/{inbox:int}/runs", api.start, methods=["POST"]),
        Route("/api/inboxes/{inbox:int}/jobs/{job:int}", api.job),
        Route("/api/inboxes/{inbox:int}/results.json", api.results),
    ]


def create_app(settings: Settings) -> Starlette:
    server = make_server(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        server.jobs.start()
        sweeper = asyncio.create_task(_sweep(server))
        try:
            yield
        finally:
            sweeper.cancel()
            server.jobs.stop()

    app = Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={HTTPException: error_page, Exception: failure_page},
    )
    app.state.server = server
    return app


async def _sweep(server: Server) -> None:
    """Applicants' files that were never collected go when they expire."""
    while True:
        await asyncio.sleep(min(30.0, server.checks.expiry / 4))
        server.checks.sweep()
