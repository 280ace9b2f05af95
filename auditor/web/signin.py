"""Signing in and out, and the user's own API tokens."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from auditor.web.accounts import (
    User,
    add_token,
    close_session,
    open_session,
    revoke_token,
    verify,
)
from auditor.web.http import (
    SESSION,
    base,
    check_csrf,
    current_user,
    database,
    redirect,
    refused,
    render,
    require_user,
    secure,
    state,
)


def _next(request: Request, target: str) -> str:
    """Where to go after signing in: a path of this application, never another site."""
    prefix = base(request)
    if prefix and target.startswith(prefix + "/"):
        target = target[len(prefix) :]
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def login_page(request: Request) -> Response:
    if current_user(request) is not None:
        return redirect(request, "/")
    target = request.query_params.get("next", "/")
    return render(request, "login.html.j2", failed=False, next=target, name="")


async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    check_csrf(request, form)
    target = _next(request, str(form.get("next", "/")))
    if not state(request).login_rate.allow(request):
        return refused(request, 429, "rate")
    db = database(request)
    name = str(form.get("name", ""))[:64]
    # argon2 takes its time on purpose: not on the event loop, which serves everyone.
    user = await run_in_threadpool(verify, db, name, str(form.get("password", ""))[:1024])
    if user is None:
        db.log(name or "-", "login-failed", detail=request.client.host if request.client else "")
        return render(request, "login.html.j2", status=401, failed=True, next=target, name=name)
    db.log(user.name, "login")
    response = redirect(request, target)
    response.set_cookie(
        SESSION,
        open_session(db, user),
        httponly=True,
        secure=secure(request),
        samesite="lax",
        path=base(request) or "/",
    )
    return response


async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form)
    user = current_user(request)
    close_session(database(request), request.cookies.get(SESSION))
    if user is not None:
        database(request).log(user.name, "logout")
    response = redirect(request, "/login")
    response.delete_cookie(SESSION, path=base(request) or "/")
    return response


def _tokens(request: Request, user_id: int) -> list[Any]:
    return database(request).all(
        "SELECT rowid, name, created FROM tokens WHERE user_id = ? ORDER BY created", user_id
    )


def _origin(request: Request) -> str:
    """``https://host`` as the visitor reached us (the examples are for copying)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _tokens_page(request: Request, user: User, new: str | None) -> Response:
    return render(
        request,
        "tokens.html.j2",
        tokens=_tokens(request, user.id),
        new=new,
        origin=_origin(request),
    )


async def tokens_page(request: Request) -> Response:
    return _tokens_page(request, require_user(request), None)


async def change_tokens(request: Request) -> Response:
    """Make a token (shown this once), or revoke one of the user's own."""
    user = require_user(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    check_csrf(request, form)
    db = database(request)
    if form.get("do") == "revoke":
        name = revoke_token(db, user, str(form.get("id", "")))
        if name is not None:
            db.log(user.name, "token-revoked", detail=name)
        return redirect(request, "/tokens")
    name = " ".join(str(form.get("name", "")).split())[:80] or "script"
    token = add_token(db, user, name)
    db.log(user.name, "token-created", detail=name)
    return _tokens_page(request, user, token)
