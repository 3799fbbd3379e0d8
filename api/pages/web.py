"""The pages' plumbing: the session cookie, CSRF, the language, rendering.

Signing in turns the user's token (ours, or the state identity provider's access token) into
an HttpOnly session cookie holding that token, so every page request is authenticated by the
very authenticator the JSON API uses (`api.auth.principal_from_token`): expiry, revocation and
roles apply to the pages exactly as to the API (`api.auth.signed_in`), and scope is the API's
(`api.services.scope`) because the pages call the services the API's routes call.

CSRF: every form carries a token that is an HMAC of a secret the browser holds only as an
HttpOnly cookie — the session token once signed in, a random nonce before (sign-in, citizen
tracking). Another site can make the browser send the cookie but can neither read it nor
compute the token, so its forged POST is refused (403) before anything is done.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jinja2
from babel.dates import format_date, format_datetime
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from api.auth import SESSION_COOKIE, SESSION_SECONDS
from api.errors import ApiError
from api.pages.reference import department_label, district_label
from core.settings import Settings
from schemas.auth import Principal, Role
from schemas.calendar import IST
from schemas.i18n import (
    SOURCE_LANGUAGE,
    language_name,
    local_name,
    offered_languages,
    text_direction,
    translations,
)

PACKAGE = Path(__file__).parent
NONCE_COOKIE = "jan_samvad_nonce"
LANGUAGE_COOKIE = "jan_samvad_lang"
DOMAIN = "pages"

# Autoescaped HTML; `{% trans %}` and `_()` take the reader's catalogue from each render's
# context (`render`), so one environment serves both languages at once.
PAGE_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
)


class PageError(Exception):
    """An error page: `status` with a message already in the reader's language."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def page_languages() -> tuple[str, ...]:
    """The languages the pages offer: those citizens may choose (LANGUAGES, the default
    first), and English, the catalogues' source, for staff."""
    offered = offered_languages()
    return offered if SOURCE_LANGUAGE in offered else (*offered, SOURCE_LANGUAGE)


def language(request: Request) -> str:
    """The reader's language: their choice (cookie), else their browser's, else the first of
    LANGUAGES."""
    languages = page_languages()
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in languages:
            return code
    return languages[0]


def problem(request: Request, err: ApiError) -> str:
    """Why the API refused, in the reader's language where the refusal has it
    (`detail_<code>`), else in English."""
    localised = err.extra.get(f"detail_{language(request)}")
    return str(localised) if localised else err.detail


def gettext_for(request: Request) -> Callable[[str], str]:
    """`_` of the reader's language (for messages built in Python)."""
    return translations(DOMAIN, language(request)).gettext


def csrf_for(secret: str) -> str:
    """The CSRF token of the forms of a browser holding `secret` (its session or nonce)."""
    return hmac.new(secret.encode(), b"jan-samvad-pages-csrf", hashlib.sha256).hexdigest()


def https(settings: Settings) -> bool:
    return urlsplit(settings.public_base_url).scheme == "https"


def settings_of(request: Request) -> Settings:
    found: Settings = request.app.state.jan_samvad.settings
    return found


def set_cookie(request: Request, response: Any, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Lax cookie for the whole site (Secure over https)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=https(settings_of(request)),
        samesite="lax",
    )


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: no scheme, no `//host`)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches this browser's secret (403 otherwise)."""
    form = await request.form()
    secret = request.cookies.get(SESSION_COOKIE) or request.cookies.get(NONCE_COOKIE)
    given = form.get("csrf_token")
    if not secret or not isinstance(given, str) or not hmac.compare_digest(given, csrf_for(secret)):
        _ = gettext_for(request)
        raise PageError(
            403, _("This form has expired or did not come from this site. Open the page again.")
        )
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str) -> str:
    """A text field of the form, stripped ('' when absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# ---- rendering -------------------------------------------------------------------------------


def _format_time(language_code: str) -> Callable[[datetime | None], str]:
    def format_time(moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return format_datetime(moment, "d MMM y, HH:mm", tzinfo=IST, locale=language_code)

    return format_time


def _format_day(language_code: str) -> Callable[[Any], str]:
    def format_day(day: Any) -> str:
        if day is None:
            return "—"
        return format_date(day, "EEE d MMM y", locale=language_code)

    return format_day


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The template `name` in the reader's language, with the shell's context: the signed-in
    principal, the CSRF token of this browser's forms, the language switch."""
    code = language(request)
    catalogue = translations(DOMAIN, code)
    # The same secret `checked_form` checks against: the session's, else the nonce's.
    secret = request.cookies.get(SESSION_COOKIE) or request.cookies.get(NONCE_COOKIE)
    new_nonce = None
    if not secret:
        secret = new_nonce = secrets.token_urlsafe(32)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": code,
            "dir": text_direction(code),
            "other_languages": [(c, language_name(c)) for c in page_languages() if c != code],
            # A name from the data (designation, office...) in the reader's language.
            "local": lambda kind, english: local_name(kind, english, code) if english else "",
            # The signed-in officer's district and department by name (the header).
            "district_name": lambda name: district_label(name, code),
            "department_name": lambda value: department_label(value, code),
            "gettext": catalogue.gettext,
            "ngettext": catalogue.ngettext,
            "_": catalogue.gettext,
            "principal": principal,
            "csrf_token": csrf_for(secret),
            "here": here,
            "when": _format_time(code),
            "day": _format_day(code),
            "Role": Role,
            **(context or {}),
        },
        status_code=status,
    )
    if new_nonce is not None:
        set_cookie(request, response, NONCE_COOKIE, new_nonce, SESSION_SECONDS)
    # Pages show personal data: never kept by a shared browser's or a proxy's cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    # Nothing but this site's own files: the pages are plain forms; the one script
    # (static/history.js, the caller's history on the desk) is this site's, and optional.
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def redirect(url: str) -> RedirectResponse:
    """303: after a form post, the browser GETs the next page (a reload does not re-post)."""
    return RedirectResponse(url, status_code=303)
