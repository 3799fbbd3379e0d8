"""Sign-in, sign-out, the language switch and each role's home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth import SESSION_COOKIE, SESSION_SECONDS, current_principal, principal_from_token
from api.errors import ApiError
from api.pages.oidc import enabled
from api.pages.web import (
    LANGUAGE_COOKIE,
    CheckedForm,
    field,
    gettext_for,
    https,
    page_languages,
    redirect,
    render,
    safe_next,
    set_cookie,
    settings_of,
)
from core.permissions import home_of

router = APIRouter(include_in_schema=False, tags=["pages"])


@router.get("/")
async def home(request: Request) -> Response:
    principal = await current_principal(request)
    return redirect(home_of(principal) if principal is not None else "/sign-in")


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "") -> Response:
    return render(
        request,
        "sign_in.html",
        {"next": safe_next(next, ""), "oidc": enabled(settings_of(request))},
    )


@router.post("/sign-in")
async def sign_in(request: Request, form: CheckedForm) -> Response:
    """The token typed (or pasted) becomes the HttpOnly session cookie, if it is valid."""
    token = field(form, "token")
    next_url = safe_next(field(form, "next"), "")
    _ = gettext_for(request)
    try:
        principal = await principal_from_token(request, token) if token else None
    except ApiError:
        principal = None
    if principal is None:
        return render(
            request,
            "sign_in.html",
            {"next": next_url, "error": _("This token is not valid, has expired or was revoked.")},
            status=401,
        )
    response = redirect(next_url or home_of(principal))
    set_cookie(request, response, SESSION_COOKIE, token, SESSION_SECONDS)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, form: CheckedForm) -> Response:
    """Forgets the session cookie (the token itself stays valid until it expires or is
    revoked: `make user ARGS="revoke NAME"`)."""
    response = redirect("/sign-in")
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        secure=https(settings_of(request)),
        samesite="lax",
    )
    return response


@router.get("/language")
async def switch_language(request: Request, to: str = "hi", next: str = "/") -> Response:
    """Remembers the reader's language (a preference, not a change of any record)."""
    response = redirect(safe_next(next))
    if to in page_languages():
        set_cookie(request, response, LANGUAGE_COOKIE, to, 365 * 24 * 3600)
    return response
