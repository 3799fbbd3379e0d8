"""Server-rendered pages for the people who work the cases, and the citizen's tracking page.

Thin over the JSON API: every page calls the API's own route functions (`api.routes.*`) with
the signed-in principal, so roles, scope (`api.services.scope`), validation, idempotency and the audit
trail are the API's. Hindi and English through the `pages` gettext catalogues
(`schemas/locale/<lang>/LC_MESSAGES/pages.po`); no asset from a CDN (`static/` is served by the
API itself).

    /sign-in, /sign-out, /language        account and language (web.py, account.py)
    /sign-in/oidc                         the state's identity provider (oidc.py)
    /track                                the citizen's page (citizen.py)
    /desk, /cases/{year}/{sequence}       telecaller desk and a case's page (cases.py)
    /inbox, /cases                        the officer's inbox; listing and search (lists.py)
    /cases/{year}/{sequence}/attachments  a case's photos and documents (files.py)
    /review-room/...                      weekly review and Sidhi Baat (review_room.py)
    /dashboard                            the CM dashboard (dashboard.py)
    /engineer                             the Temporal UI, decoded (engineer.py)
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.pages import (
    account,
    cases,
    citizen,
    dashboard,
    engineer,
    files,
    lists,
    oidc,
    review_room,
)
from api.pages.web import PACKAGE, PageError, SignInNeeded, redirect, render

# What the API documentation pages may load: their own files only. ReDoc's bundle shows a
# logo from its vendor's CDN; with this policy the browser never asks for it.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'"
)


class DocsPolicy:
    """Adds DOCS_POLICY to the answers of /docs and /redoc (FastAPI's own routes)."""

    def __init__(self, app: ASGIApp, *, paths: tuple[str, ...] = ("/docs", "/redoc")) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Content-Security-Policy"] = DOCS_POLICY
            await send(message)

        await self.app(scope, receive, with_policy)


def install(app: FastAPI) -> None:
    """The pages' routes (not in the OpenAPI document), their static files and error pages."""
    app.mount("/assets", StaticFiles(directory=PACKAGE / "static"), name="page-assets")
    app.add_middleware(DocsPolicy)
    for module in (account, oidc, citizen, cases, lists, files, review_room, dashboard, engineer):
        app.include_router(module.router)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, err: PageError) -> Response:
        principal = getattr(request.state, "principal", None)
        return render(
            request,
            "error.html",
            {"status": err.status, "message": err.message},
            principal=principal,
            status=err.status,
        )

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, err: SignInNeeded) -> Response:
        return redirect(f"/sign-in?next={quote(err.next_url, safe='')}")
