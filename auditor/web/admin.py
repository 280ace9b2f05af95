"""What an admin manages: accounts, inboxes and who is a member of which; the log."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from auditor.core.errors import ConfigError
from auditor.web.accounts import ROLES, User, add_user, find_user, list_users, remove_user
from auditor.web.db import Database
from auditor.web.http import (
    check_csrf,
    database,
    number,
    redirect,
    refused,
    render,
    require_admin,
    state,
)
from auditor.web.inboxes import (
    Inbox,
    add_member,
    create_inbox,
    delete_inbox,
    get_inbox,
    remove_member,
)
from auditor.web.jobs import InboxBusy


async def users_page(request: Request) -> Response:
    require_admin(request)
    return render(
        request, "users.html.j2", users=list_users(database(request)), roles=ROLES, error=None
    )


async def change_users(request: Request) -> Response:
    admin, form, db = await _admin_form(request)
    name = str(form.get("name", ""))
    try:
        if form.get("do") == "remove":
            if name == admin.name:
                raise ConfigError("you cannot remove your own account")
            remove_user(db, name)
            db.log(admin.name, "user-removed", detail=name)
        else:
            role = str(form.get("role", "officer"))
            add_user(db, name, str(form.get("password", "")), role, str(form.get("lang", "en")))
            db.log(admin.name, "user-added", detail=f"{name} ({role})")
    except ConfigError as error:
        return render(
            request,
            "users.html.j2",
            status=400,
            users=list_users(db),
            roles=ROLES,
            error=str(error),
        )
    return redirect(request, "/admin/users")


async def create(request: Request) -> Response:
    admin, form, db = await _admin_form(request)
    try:
        inbox = create_inbox(db, state(request).data, str(form.get("name", "")), [admin])
    except ConfigError as error:
        return refused(request, 400, "invalid", detail=str(error))
    db.log(admin.name, "inbox-created", inbox.id, inbox.name)
    return redirect(request, f"/inboxes/{inbox.id}")


async def _admin_form(request: Request) -> tuple[User, FormData, Database]:
    """An admin's form, its CSRF token checked."""
    admin = require_admin(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    check_csrf(request, form)
    return admin, form, database(request)


def _inbox(request: Request, db: Database) -> Inbox:
    inbox = get_inbox(db, state(request).data, number(request, "inbox"))
    if inbox is None:
        raise HTTPException(404)
    return inbox


async def members(request: Request) -> Response:
    admin, form, db = await _admin_form(request)
    inbox = _inbox(request, db)
    user = find_user(db, str(form.get("name", "")))
    if user is None:
        return refused(request, 400, "no-user", name=str(form.get("name", "")))
    if form.get("do") == "remove":
        remove_member(db, inbox.id, user)
        db.log(admin.name, "member-removed", inbox.id, user.name)
    else:
        add_member(db, inbox.id, user)
        db.log(admin.name, "member-added", inbox.id, user.name)
    return redirect(request, f"/inboxes/{inbox.id}")


async def delete(request: Request) -> Response:
    admin, _form, db = await _admin_form(request)
    inbox = _inbox(request, db)
    try:
        with state(request).jobs.change(inbox.id):
            await run_in_threadpool(delete_inbox, db, inbox)
    except InboxBusy:
        return refused(request, 409, "busy")
    db.log(admin.name, "inbox-deleted", inbox.id, inbox.name)
    return redirect(request, "/")


async def log_page(request: Request) -> Response:
    require_admin(request)
    rows = database(request).all("SELECT * FROM log ORDER BY id DESC LIMIT 500")
    return render(request, "log.html.j2", rows=rows)
