"""Server-rendered pages for the people who work the cases, and the citizen's tracking page
(issue 19).

Thin over the JSON API: every page calls the API's own route functions (`api.routes.*`) with
the signed-in principal, so roles, scope (`api.scope`), validation, idempotency and the audit
trail are the API's. Hindi and English through the `pages` gettext catalogues
(`core/locale/<lang>/LC_MESSAGES/pages.po`); no asset from a CDN (`static/` is served by the
API itself).

    /sign-in, /sign-out, /language        account and language (web.py, account.py)
    /track                                the citizen's page (citizen.py)
    /desk, /cases/{year}/{sequence}       telecaller desk and a case's page (cases.py)
    /inbox                                the officer's inbox (cases.py)
    /review-room/...                      weekly review and Sidhi Baat (review_room.py)
    /dashboard                            the CM dashboard (dashboard.py)
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.pages import account, cases, citizen, dashboard, review_room
from api.pages.web import PACKAGE, PageError, SignInNeeded, redirect, render


def install(app: FastAPI) -> None:
    """The pages' routes (not in the OpenAPI document), their static files and error pages."""
    app.mount("/assets", StaticFiles(directory=PACKAGE / "static"), name="page-assets")
    for module in (account, citizen, cases, review_room, dashboard):
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
