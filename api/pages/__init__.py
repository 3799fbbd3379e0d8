"""Server-rendered pages for the people who work the cases, and the citizen's tracking page.

Thin over the JSON API: every page calls the application services the API's routes call
(`api.services.*`) with the signed-in principal, so roles, scope (`api.services.scope`),
validation, idempotency and the audit trail are the API's. Hindi and English through the
`pages` gettext catalogues (`schemas/locale/<lang>/LC_MESSAGES/pages.po`); no asset from a CDN
(`static/` is served by the API itself).

    /sign-in, /sign-out, /language        account and language (web.py, account.py)
    /sign-in/oidc                         the state's identity provider (oidc.py)
    /track                                the citizen's page (citizen.py)
    /desk, /cases/{year}/{sequence}       telecaller desk and a case's page (cases.py)
    /inbox, /cases                        the officer's inbox; listing and search (lists.py)
    /cases/{year}/{sequence}/attachments  a case's photos and documents (files.py; posted: cases.py)
    /review-room/...                      weekly review and Sidhi Baat (review_room.py)
    /dashboard                            the CM dashboard (dashboard.py)
    /engineer                             the Temporal UI, decoded (engineer.py)
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.auth import NotForRole, SignInNeeded
from api.middleware import DocsPolicy
from api.pages import (
    account,
    cases,
    citizen,
    dashboard,
    engineer,
    files,
    grading,
    lists,
    oidc,
    review_room,
)
from api.pages.web import PACKAGE, PageError, gettext_for, redirect, render


def install(app: FastAPI) -> None:
    """The pages' routes (not in the OpenAPI document), their static files and error pages."""
    app.mount("/assets", StaticFiles(directory=PACKAGE / "static"), name="page-assets")
    app.add_middleware(DocsPolicy)
    for module in (
        account,
        oidc,
        citizen,
        cases,
        lists,
        files,
        review_room,
        dashboard,
        grading,
        engineer,
    ):
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

    @app.exception_handler(NotForRole)
    async def _not_for_role(request: Request, err: NotForRole) -> Response:
        _ = gettext_for(request)
        return await _page_error(request, PageError(403, _("This page is not for your role.")))

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, err: SignInNeeded) -> Response:
        return redirect(f"/sign-in?next={quote(err.next_url, safe='')}")
