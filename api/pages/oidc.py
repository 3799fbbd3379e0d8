"""Sign-in with the state's identity provider (OIDC authorization code flow with PKCE).

The browser goes to the provider's authorization endpoint with a random `state` and a PKCE
challenge, both remembered in a short-lived HttpOnly cookie; on its return the code is
exchanged at the token endpoint (with the verifier, and the client secret for a confidential
client), and the access token is checked by the API's own authenticator (`AUTH_PROVIDER=oidc`
or `both`: signature, issuer, audience, expiry, roles and scope from its claims) before it
becomes the session cookie, exactly as a pasted token would. The endpoints come from the
issuer's discovery document (`/.well-known/openid-configuration`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth import SESSION_COOKIE, SESSION_SECONDS, principal_from_token
from api.errors import ApiError
from api.pages.web import (
    PageError,
    gettext_for,
    https,
    redirect,
    render,
    safe_next,
    set_cookie,
    settings_of,
)
from core.permissions import home_of
from core.settings import AuthProvider, Settings

router = APIRouter(include_in_schema=False, tags=["pages"])

FLOW_COOKIE = "jan_samvad_oidc"
FLOW_PATH = "/sign-in/oidc"
FLOW_SECONDS = 600
_TIMEOUT = 10.0


def enabled(settings: Settings) -> bool:
    """The provider's sign-in is offered: a client ID, and the API believes its tokens."""
    return bool(
        settings.oidc_client_id
        and settings.oidc_issuer
        and settings.auth_provider is not AuthProvider.TOKENS
    )


def callback_url(settings: Settings) -> str:
    return f"{settings.public_base_url.rstrip('/')}{FLOW_PATH}/callback"


async def _discovery(settings: Settings) -> dict[str, Any]:
    url = f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration"
    async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
        answer = await client.get(url)
    answer.raise_for_status()
    document: dict[str, Any] = answer.json()
    return document


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@router.get(FLOW_PATH)
async def start(request: Request, next: str = "") -> Response:
    """To the provider's sign-in page."""
    settings = settings_of(request)
    _ = gettext_for(request)
    if not enabled(settings):
        raise PageError(404, _("Sign-in with the state's sign-in service is not set up."))
    try:
        endpoint = (await _discovery(settings))["authorization_endpoint"]
    except (httpx.HTTPError, KeyError, ValueError):
        raise PageError(
            503, _("The state's sign-in service cannot be reached. Try again.")
        ) from None
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    query = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": callback_url(settings),
        "scope": "openid",
        "state": state,
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
    }
    response = redirect(f"{endpoint}?{urlencode(query)}")
    flow = json.dumps({"state": state, "verifier": verifier, "next": safe_next(next, "")})
    response.set_cookie(
        FLOW_COOKIE,
        base64.urlsafe_b64encode(flow.encode()).decode(),
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        httponly=True,
        secure=https(settings),
        samesite="lax",  # sent on the provider's top-level redirect back
    )
    return response


@router.get(f"{FLOW_PATH}/callback")
async def callback(request: Request, code: str = "", state: str = "") -> Response:
    """Back from the provider: the code exchanged for an access token, the token checked, the
    session cookie set."""
    settings = settings_of(request)
    _ = gettext_for(request)
    if not enabled(settings):
        raise PageError(404, _("Sign-in with the state's sign-in service is not set up."))
    try:
        flow = json.loads(base64.urlsafe_b64decode(request.cookies.get(FLOW_COOKIE, "")))
        expected, verifier = str(flow["state"]), str(flow["verifier"])
    except (ValueError, KeyError, TypeError):
        expected, verifier, flow = "", "", {}
    failed = _("Sign-in with the state's sign-in service did not complete. Try again.")
    # A callback this browser did not start (or started too long ago) is refused: login CSRF.
    if not code or not expected or not hmac.compare_digest(state, expected):
        return render(request, "sign_in.html", {"next": "", "error": failed}, status=400)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": callback_url(settings),
        "client_id": settings.oidc_client_id,
        "code_verifier": verifier,
    }
    if settings.oidc_client_secret:
        form["client_secret"] = settings.oidc_client_secret
    try:
        endpoint = (await _discovery(settings))["token_endpoint"]
        async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
            answer = await client.post(endpoint, data=form)
        answer.raise_for_status()
        tokens = answer.json()
        token = str(tokens["access_token"])
        lifetime = int(tokens.get("expires_in") or SESSION_SECONDS)
    except (httpx.HTTPError, KeyError, ValueError, TypeError):
        return render(request, "sign_in.html", {"next": "", "error": failed}, status=502)
    try:
        principal = await principal_from_token(request, token)
    except ApiError:
        principal = None
    if principal is None:
        message = _("This token is not valid, has expired or was revoked.")
        return render(request, "sign_in.html", {"next": "", "error": message}, status=401)
    response = redirect(safe_next(str(flow.get("next") or ""), "") or home_of(principal))
    set_cookie(request, response, SESSION_COOKIE, token, min(lifetime, SESSION_SECONDS))
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response
