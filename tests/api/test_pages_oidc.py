"""Signing in to the pages with the state's identity provider: the authorization
code flow with PKCE against a local provider (discovery, authorization, token endpoint and
JWKS over real HTTP); the access token becomes the session cookie only once the API's own
authenticator accepts it, and a callback this browser did not start is refused."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.settings import AuthProvider, Settings
from tests.helpers import api_client

AUDIENCE = "jan-samvad-api"
CLIENT = "jan-samvad-pages"


class Provider:
    """A local OIDC provider: discovery, a token endpoint that checks PKCE, the JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:8]
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}
        self.codes: dict[str, tuple[str, dict[str, Any]]] = {}
        self.exchanges: list[dict[str, list[str]]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            "issuer": provider.issuer,
                            "authorization_endpoint": f"{provider.issuer}/authorize",
                            "token_endpoint": f"{provider.issuer}/token",
                            "jwks_uri": f"{provider.issuer}/certs",
                        },
                    )
                else:
                    self._json(200, jwks)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                provider.exchanges.append(form)
                code = form.get("code", [""])[0]
                verifier = form.get("code_verifier", [""])[0]
                found = provider.codes.pop(code, None)
                digest = hashlib.sha256(verifier.encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if found is None or found[0] != challenge:
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(
                    200,
                    {
                        "access_token": provider.token(**found[1]),
                        "token_type": "Bearer",
                        "expires_in": 300,
                    },
                )

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": AUDIENCE, "iat": now, "exp": now + 300, **claims}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})

    def approve(self, challenge: str, **claims: Any) -> str:
        """The user signs in at the provider: a code for the flow with this challenge."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = (challenge, claims)
        return code


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    running = Provider()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture
async def pages(
    engine: Engine, settings: Settings, dev_env: WorkflowEnvironment, provider: Provider
) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "auth_provider": AuthProvider.BOTH,
            "oidc_issuer": provider.issuer,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_url": f"{provider.issuer}/certs",
            "oidc_client_id": CLIENT,
            "public_base_url": "http://testserver",
        }
    )
    app = create_app(configured, engine=engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        http.headers["accept-language"] = "en"
        yield http


async def test_sign_in_with_the_state_identity_provider(
    pages: httpx.AsyncClient, provider: Provider
) -> None:
    page = await pages.get("/sign-in?next=/review-room")
    assert 'id="oidc-sign-in"' in page.text
    start = await pages.get("/sign-in/oidc?next=/review-room")
    assert start.status_code == 303
    to = urlsplit(start.headers["location"])
    assert f"{to.scheme}://{to.netloc}{to.path}" == f"{provider.issuer}/authorize"
    query = {k: v[0] for k, v in parse_qs(to.query).items()}
    assert query["client_id"] == CLIENT and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/sign-in/oidc/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    flow_cookie = start.headers["set-cookie"]
    assert "HttpOnly" in flow_cookie and "Path=/sign-in/oidc" in flow_cookie

    claims = {"sub": "cm-secretary", "roles": ["reviewer"]}
    # A callback with another state (a login forced on this browser by another site): refused.
    forged = await pages.get(
        "/sign-in/oidc/callback",
        params={"code": provider.approve(query["code_challenge"], **claims), "state": "x"},
    )
    assert forged.status_code == 400 and "jan_samvad_session" not in pages.cookies
    # A code issued for another flow's challenge: the provider refuses the exchange.
    stolen = await pages.get(
        "/sign-in/oidc/callback",
        params={"code": provider.approve("another-challenge", **claims), "state": query["state"]},
    )
    assert stolen.status_code == 502 and "jan_samvad_session" not in pages.cookies

    code = provider.approve(query["code_challenge"], **claims)
    back = await pages.get("/sign-in/oidc/callback", params={"code": code, "state": query["state"]})
    assert back.status_code == 303 and back.headers["location"] == "/review-room"
    exchange = provider.exchanges[-1]
    assert exchange["grant_type"] == ["authorization_code"]
    assert exchange["client_id"] == [CLIENT] and "client_secret" not in exchange
    session = back.headers["set-cookie"]
    assert "jan_samvad_session=" in session and "HttpOnly" in session
    room = await pages.get("/review-room")
    assert room.status_code == 200 and "cm-secretary" in room.text
    # Roles from the provider's claims, as the API reads them: not a telecaller.
    assert (await pages.get("/desk")).status_code == 403


async def test_a_token_without_our_roles_or_with_an_unknown_district_signs_nobody_in(
    pages: httpx.AsyncClient, provider: Provider
) -> None:
    start = await pages.get("/sign-in/oidc")
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    code = provider.approve(
        query["code_challenge"], sub="someone", roles=["nodal_officer"], district="Atlantis"
    )
    back = await pages.get("/sign-in/oidc/callback", params={"code": code, "state": query["state"]})
    assert back.status_code == 401 and "jan_samvad_session" not in pages.cookies
