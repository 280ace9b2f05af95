"""Serving the report's own HTML pages with a policy made from their inline code.

The reports are single files that work offline (their stylesheet and
script are inline); served by the application, each page may run exactly
the inline blocks it was written with, identified by their SHA-256, and
nothing else: no other script, no fetches, no frames.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path

from starlette.responses import Response

_BODY = re.compile(rb"<body[^>]*>", re.IGNORECASE)
_HEADER = re.compile(rb'<header class="page">', re.IGNORECASE)
_BLOCK = re.compile(rb"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL | re.IGNORECASE)


def inline_hashes(page: bytes) -> dict[str, list[str]]:
    """``{"script": [...], "style": [...]}``: CSP source expressions of the inline blocks."""
    found: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _BLOCK.findall(page):
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        found[kind.decode().lower()].append(f"'sha256-{digest}'")
    return found


def report_page(path: Path, back: str, label: str) -> Response:
    """The page, with a way back to the inbox (``back``, named ``label``) at its top.

    The link goes into the page's own header, so the page's own stylesheet
    places it (the policy admits no style of ours).
    """
    link = f'<p class="meta"><a href="{html.escape(back)}">&larr; {html.escape(label)}</a></p>'
    icon = b'<link rel="icon" href="data:,">'
    page = path.read_bytes()
    top = _HEADER.search(page) or _BODY.search(page)
    if top is not None:
        page = page[: top.end()] + link.encode() + page[top.end() :]
    page = page.replace(b"</head>", icon + b"</head>", 1)
    hashes = inline_hashes(page)
    scripts = " ".join(hashes["script"]) or "'none'"
    styles = " ".join(hashes["style"]) or "'none'"
    policy = (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    response = Response(page, media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = policy
    return response
