"""What every page shares: the signed-in user, CSRF, language, rendering, headers.

Cookies: ``auditor_session`` (the session, SameSite=Lax so a link from an
e-mail lands signed in), ``auditor_csrf`` (the double-submit token every form
carries back, SameSite=Strict) and ``auditor_lang``. All are HttpOnly, and
Secure when the request came over TLS (directly or through a proxy that says
so, ``--forwarded-allow-ips``).

Every HTML page gets a Content-Security-Policy that admits only its own
inline code, by a nonce drawn for that response.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from auditor.core.catalogue import fixer
from auditor.core.config import LANGUAGES
from auditor.core.resources import shipped_dir
from auditor.core.yamlfile import read_yaml
from auditor.report.i18n import moment, plural
from auditor.web.accounts import User, session_user, set_lang, token_user
from auditor.web.db import Database

SESSION, CSRF, LANG = "auditor_session", "auditor_csrf", "auditor_lang"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_CSP = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# What any other response (a download, JSON) may do: nothing.
NOTHING_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; sandbox"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@cache
def messages() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = read_yaml(Path(__file__).with_name("messages.yaml"))
    return data


def t(key: str, lang: str, **values: Any) -> str:
    """The web page's words for ``key`` in ``lang``."""
    texts = messages()
    text = texts.get(lang, {}).get(key) or texts["en"][key]
    # A value the message names but the caller lacks shows as "?", never an error page.
    return plural(text, values).format_map(_Values(values)) if "{" in text else text


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


@cache
def environment() -> jinja2.Environment:
    # The loader's root is the reports' folder: pages include its stylesheet.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(shipped_dir("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["summary_line"] = lambda text, t: t("job.summary", **json.loads(text))
    env.filters["moment"] = moment
    return env


def state(request: Request) -> Any:
    """The application's shared objects (web/app.py's ``Server``)."""
    return request.app.state.server


def base(request: Request) -> str:
    """The prefix the application is mounted under (``--root-path``), or ''."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def href(request: Request, path: str, **query: Any) -> str:
    """A link to ``path`` of this application, under its prefix."""
    tail = f"?{urlencode({k: v for k, v in query.items() if v is not None})}" if query else ""
    return f"{base(request)}{quote(path)}{tail}"


def number(request: Request, name: str) -> int:
    """A number from the URL that can be a row's id; anything else is a page not found."""
    value = request.path_params.get(name)
    if not isinstance(value, int) or not 0 < value < 2**63:
        raise HTTPException(404)
    return value


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def current_user(request: Request) -> User | None:
    if "auditor.user" not in request.scope:
        found = session_user(state(request).db, request.cookies.get(SESSION))
        request.scope["auditor.user"] = found[0] if found else None
        request.scope["auditor.session.csrf"] = found[1] if found else None
    user: User | None = request.scope["auditor.user"]
    return user


def require_user(request: Request) -> User:
    """The signed-in user; anyone else is sent to the login page."""
    user = current_user(request)
    if user is None:
        target = href(request, "/login", next=request.url.path)
        raise HTTPException(303, headers={"Location": target})
    return user


def require_admin(request: Request) -> User:
    user = require_user(request)
    if not user.admin:
        raise HTTPException(403)
    return user


def same_site(request: Request) -> None:
    """Refuse a download another site's page set off (it would be logged in our user's name).

    Browsers say where a request came from (Sec-Fetch-Site); a top-level
    link from another site carries the session cookie (SameSite=Lax) but
    says "cross-site". Scripts send no such header and use the API anyway.
    """
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(403)


def api_user(request: Request) -> User:
    """The owner of the request's Bearer token (scripts: no cookies, no CSRF)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = token_user(state(request).db, token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
    return user


def lang_of(request: Request) -> str:
    """The page's language: ?lang= (remembered), else the user's, the cookie's, English."""
    asked = request.query_params.get("lang")
    user = current_user(request)
    if asked in LANGUAGES:
        if user is not None and user.lang != asked:
            set_lang(state(request).db, user, asked)
            request.scope["auditor.user"] = User(user.id, user.name, user.role, asked)
        request.scope["auditor.lang.set"] = asked
        return asked
    if user is not None:
        return user.lang
    cookie = request.cookies.get(LANG)
    return cookie if cookie in LANGUAGES else "en"


def csrf_token(request: Request) -> str:
    """The token this request's forms carry.

    Signed in: the session's own (accounts.open_session). Anonymous (the
    login form, the applicant's check): this browser's, made on first use
    and sent back as a cookie, which the form must match.
    """
    if current_user(request) is not None:
        return str(request.scope["auditor.session.csrf"])
    token = request.cookies.get(CSRF) or request.scope.get("auditor.csrf.new")
    if not token:
        token = secrets.token_urlsafe(32)
        request.scope["auditor.csrf.new"] = token
    return str(token)


def check_csrf(request: Request, fields: Mapping[str, Any]) -> None:
    """Refuse a form whose token is not this session's or browser's (a page elsewhere posting)."""
    if current_user(request) is not None:
        expected = str(request.scope["auditor.session.csrf"])
    else:
        expected = request.cookies.get(CSRF, "")
    sent = str(fields.get("csrf", ""))
    if not expected or not secrets.compare_digest(expected.encode(), sent.encode()):
        raise HTTPException(403, detail="csrf")


def finish(request: Request, response: Response) -> Response:
    """Cookies this request made (CSRF token, language) and the security headers."""
    flags: dict[str, Any] = {
        "httponly": True,
        "secure": secure(request),
        "path": base(request) or "/",
    }
    if new := request.scope.get("auditor.csrf.new"):
        response.set_cookie(CSRF, new, samesite="strict", **flags)
    if lang := request.scope.get("auditor.lang.set"):
        response.set_cookie(LANG, lang, max_age=365 * 86400, samesite="lax", **flags)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if secure(request):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    response.headers.setdefault("Content-Security-Policy", NOTHING_CSP)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A page of templates/web/, in the request's language, with its own nonce."""
    lang = lang_of(request)
    nonce = secrets.token_urlsafe(16)
    user = current_user(request)
    page = (
        environment()
        .get_template(f"web/{template}")
        .render(
            lang=lang,
            t=lambda key, **values: t(key, lang, **values),
            fix=fixer(lang),
            user=user,
            csrf=csrf_token(request),
            nonce=nonce,
            href=lambda path, **query: href(request, path, **query),
            here=request.url.path,
            other_lang="nl" if lang == "en" else "en",
            **context,
        )
    )
    response = HTMLResponse(page, status_code=status)
    response.headers["Content-Security-Policy"] = PAGE_CSP.format(nonce=nonce)
    return finish(request, response)


def refused(request: Request, status: int, reason: str, **params: Any) -> Response:
    """The page that says what was not done and why (``refused.<reason>`` in messages.yaml).

    Its way back is the page the visitor came from, if it was one of ours;
    else the start page (or, for an applicant, the self-check).
    """
    came_from = request.headers.get("referer", "")
    ours = str(request.base_url)
    back = came_from if came_from.startswith(ours) else None
    if back is None:
        back = href(request, "/" if current_user(request) else "/check")
    return render(
        request, "refused.html.j2", status=status, reason=reason, params=params, back=back
    )


def redirect(request: Request, path: str, **query: Any) -> Response:
    return finish(request, RedirectResponse(href(request, path, **query), status_code=303))


@dataclass
class RateLimit:
    """At most ``limit`` requests per ``window`` seconds from one address."""

    limit: int
    window: float
    seen: dict[str, deque[float]] = field(default_factory=dict)
    most: int = 10_000  # addresses remembered before the quiet ones are forgotten

    def allow(self, request: Request) -> bool:
        address = request.client.host if request.client else "?"
        if ":" in address:  # IPv6: one household or office has a /64, not one address
            address = ":".join(address.split(":")[:4])
        moment = time.monotonic()
        times = self.seen.setdefault(address, deque())
        while times and times[0] <= moment - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(moment)
        if len(self.seen) > self.most:
            # Forget the addresses whose attempts have all aged out; if that is
            # not enough (a flood of new addresses), the longest quiet ones.
            for key in [k for k, v in self.seen.items() if v[-1] <= moment - self.window]:
                del self.seen[key]
            while len(self.seen) > self.most // 2:
                del self.seen[min(self.seen, key=lambda k: self.seen[k][-1])]
            self.most = max(self.most, 2 * len(self.seen))
        return True


def database(request: Request) -> Database:
    db: Database = state(request).db
    return db
