"""Bearer-token authentication: the token store, the `require` dependency, the admin
command line, development tokens and the OIDC/JWKS authenticator.

Role-by-endpoint decisions and district scopes are tests/api/test_authz.py's; here a couple of
endpoints that need only the read model stand for all (`GET /v1/complaints` admits the case
readers, not integration clients).
"""

from __future__ import annotations

import hashlib
import json
import stat
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.auth import Authenticator, OidcAuthenticator, TokenStoreAuthenticator
from api.main import create_app
from core import admin, audit
from core.admin import operator
from core.auth import (
    AuthError,
    authenticate_token,
    create_user,
    issue_token,
    list_users,
    revoke_token,
    revoke_user,
    split_token,
    tokens_of,
    write_dev_tokens,
)
from core.models import ApiToken, ApiUser, utcnow
from core.settings import AuthProvider, Environment, Settings, get_settings
from harness.factories import auth_headers
from schemas.auth import Role
from tests.helpers import api_client

CASES = "/v1/complaints"


@asynccontextmanager
async def app_client(
    settings: Settings, engine: Engine, authenticator: Authenticator | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app (lazy Temporal client: these endpoints read the read model only), with no
    default token."""
    app = create_app(settings, engine=engine, authenticator=authenticator)
    async with api_client(app, authorized=False) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- the store ---------------------------------------------------------------------------------


def test_a_token_is_returned_once_and_only_the_hash_of_its_secret_is_stored(
    any_engine: Engine,
) -> None:
    user, token = create_user(
        any_engine, name="asha", roles=["nodal_officer", Role.TELECALLER], district=" ranchi "
    )
    parts = split_token(token)
    assert parts is not None and token.startswith("js_")
    token_id, secret = parts
    assert (user.roles, user.district) == ("nodal_officer,telecaller", "Ranchi")

    # Nothing in the user and token tables contains the secret (or the whole token).
    with any_engine.connect() as connection:
        dump = repr(
            [
                *connection.execute(sa.text("SELECT * FROM api_token")).all(),
                *connection.execute(sa.text("SELECT * FROM api_user")).all(),
            ]
        )
    assert secret not in dump and token not in dump
    assert token_id in dump
    assert hashlib.sha256(secret.encode()).hexdigest() in dump

    principal = authenticate_token(any_engine, token, utcnow())
    assert principal is not None
    assert principal.subject == "asha"
    assert principal.roles == {Role.NODAL_OFFICER, Role.TELECALLER}
    assert (principal.district, principal.department, principal.token_id) == (
        "Ranchi",
        None,
        token_id,
    )
    # The same id with another secret, or a mangled token, is nobody.
    assert authenticate_token(any_engine, f"js_{token_id}_{secret}x", utcnow()) is None
    assert authenticate_token(any_engine, f"js_ffffffffffff_{secret}", utcnow()) is None
    assert authenticate_token(any_engine, secret, utcnow()) is None


def test_tokens_expire(engine: Engine) -> None:
    now = utcnow()
    _user, token = create_user(
        engine, name="short", roles=[Role.REVIEWER], expires_in=timedelta(hours=1), now=now
    )
    assert authenticate_token(engine, token, now + timedelta(minutes=59)) is not None
    assert authenticate_token(engine, token, now + timedelta(hours=1)) is None
    # A new token for the same user has its own lifetime.
    fresh = issue_token(engine, "short", expires_in=timedelta(days=2), now=now)
    assert authenticate_token(engine, fresh, now + timedelta(days=1)) is not None


def test_revoking_a_token_or_a_user(engine: Engine) -> None:
    _user, first = create_user(engine, name="ravi", roles=[Role.TELECALLER])
    second = issue_token(engine, "ravi")
    first_id = split_token(first)[0]  # type: ignore[index]

    assert revoke_token(engine, first_id) is True
    assert revoke_token(engine, first_id) is False  # already revoked
    assert authenticate_token(engine, first, utcnow()) is None
    assert authenticate_token(engine, second, utcnow()) is not None

    assert revoke_user(engine, "ravi") == 1  # the one still live
    assert authenticate_token(engine, second, utcnow()) is None
    assert [u.active for u in list_users(engine) if u.name == "ravi"] == [False]
    with pytest.raises(AuthError, match="deactivated"):
        issue_token(engine, "ravi")
    with pytest.raises(AuthError, match="no user"):
        revoke_user(engine, "nobody")


def test_a_deactivated_user_is_refused_even_with_an_unrevoked_token(engine: Engine) -> None:
    _user, token = create_user(engine, name="gone", roles=[Role.REVIEWER])
    with Session(engine) as session:
        user = session.exec(select(ApiUser).where(ApiUser.name == "gone")).one()
        user.active = False
        session.add(user)
        session.commit()
    assert authenticate_token(engine, token, utcnow()) is None


def test_last_use_is_recorded_coarsely(engine: Engine) -> None:
    now = utcnow()
    _user, token = create_user(engine, name="used", roles=[Role.REVIEWER], now=now)
    assert tokens_of(engine, "used")[0].last_used_at is None
    authenticate_token(engine, token, now)
    assert tokens_of(engine, "used")[0].last_used_at == now
    # Within a few minutes no write (authentication stays a read); later, updated.
    authenticate_token(engine, token, now + timedelta(minutes=1))
    assert tokens_of(engine, "used")[0].last_used_at == now
    later = now + timedelta(minutes=10)
    authenticate_token(engine, token, later)
    assert tokens_of(engine, "used")[0].last_used_at == later


def test_users_are_validated(engine: Engine) -> None:
    with pytest.raises(AuthError, match="unknown role 'superuser'"):
        create_user(engine, name="x1", roles=["superuser"])
    with pytest.raises(AuthError, match="at least one role"):
        create_user(engine, name="x2", roles=[])
    with pytest.raises(AuthError, match="unknown district 'Atlantis'"):
        create_user(engine, name="x3", roles=[Role.NODAL_OFFICER], district="Atlantis")
    with pytest.raises(AuthError, match="unknown department 'magic'"):
        create_user(engine, name="x4", roles=[Role.DEPARTMENT_OFFICER], department="magic")
    with pytest.raises(AuthError, match="a nodal officer needs a district or a department"):
        create_user(engine, name="x5", roles=[Role.NODAL_OFFICER], state_wide=False)
    with pytest.raises(AuthError, match="a department officer needs a department"):
        create_user(
            engine, name="x6", roles=[Role.DEPARTMENT_OFFICER], district="Ranchi", state_wide=False
        )
    user, _ = create_user(engine, name="x7", roles=[Role.DEPARTMENT_OFFICER], department="Police")
    assert user.department == "police"
    with pytest.raises(AuthError, match="exists already"):
        create_user(engine, name="x7", roles=[Role.REVIEWER])
    assert {u.name for u in list_users(engine)} == {"x7"}


# ---- the dependency, through the real app ------------------------------------------------------


async def test_no_token_or_a_bad_one_is_401_with_a_bearer_challenge(
    settings: Settings, engine: Engine
) -> None:
    _user, token = create_user(engine, name="reader", roles=[Role.REVIEWER])
    async with app_client(settings, engine) as http:
        missing = await http.get(CASES)
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert "bearer token is required" in missing.json()["detail"]

        for bad in (token + "x", "js_000000000000_nothing", "not-a-token"):
            answer = await http.get(CASES, headers=bearer(bad))
            assert answer.status_code == 401, bad
            assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
            assert "invalid, expired or revoked" in answer.json()["detail"]
        basic = await http.get(CASES, headers={"Authorization": "Basic dXNlcjpwdw=="})
        assert basic.status_code == 401

        assert (await http.get(CASES, headers=bearer(token))).status_code == 200
        # Open without a token: health and the docs.
        assert (await http.get("/healthz")).status_code not in (401, 403)
        assert (await http.get("/docs")).status_code == 200
        assert (await http.get("/openapi.json")).status_code == 200


async def test_expired_revoked_and_deactivated_tokens_are_401(
    settings: Settings, engine: Engine
) -> None:
    long_ago = utcnow() - timedelta(days=100)
    _u, expired = create_user(engine, name="old", roles=[Role.REVIEWER], now=long_ago)
    _u, revoked = create_user(engine, name="revoked", roles=[Role.REVIEWER])
    _u, deactivated = create_user(engine, name="left", roles=[Role.REVIEWER])
    _u, fine = create_user(engine, name="fine", roles=[Role.REVIEWER])
    revoke_token(engine, split_token(revoked)[0])  # type: ignore[index]
    revoke_user(engine, "left")
    async with app_client(settings, engine) as http:
        for token in (expired, revoked, deactivated):
            answer = await http.get(CASES, headers=bearer(token))
            assert answer.status_code == 401
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await http.get(CASES, headers=bearer(fine))).status_code == 200


async def test_a_valid_token_without_an_admitted_role_is_403_naming_the_roles(
    settings: Settings, engine: Engine
) -> None:
    integration = auth_headers(engine, Role.INTEGRATION)
    async with app_client(settings, engine) as http:
        answer = await http.get(CASES, headers=integration)
    assert answer.status_code == 403
    detail = answer.json()["detail"]
    assert "needs one of the roles" in detail and "reviewer" in detail
    assert "has integration" in detail


async def test_docs_offer_the_bearer_scheme(settings: Settings, engine: Engine) -> None:
    async with app_client(settings, engine) as http:
        spec = (await http.get("/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["BearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["paths"][CASES]["get"]["security"] == [{"BearerToken": []}]
    assert "security" not in spec["paths"]["/healthz"]["get"]


async def test_the_principal_is_kept_on_the_request(settings: Settings, engine: Engine) -> None:
    """The audit trail reads `request.state.principal`; a custom authenticator plugs in."""
    seen: list[str] = []

    class Recording:
        def __init__(self, inner: Authenticator) -> None:
            self.inner = inner

        async def authenticate(self, request: Any, token: str) -> Any:
            principal = await self.inner.authenticate(request, token)
            seen.append(token)
            return principal

    _u, token = create_user(engine, name="kept", roles=[Role.REVIEWER, Role.TELECALLER])
    app = create_app(settings, engine=engine, authenticator=Recording(TokenStoreAuthenticator()))
    principals: list[Any] = []

    @app.middleware("http")
    async def capture(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        principals.append(getattr(request.state, "principal", None))
        return response

    async with api_client(app, authorized=False) as http:
        assert (await http.get(CASES, headers=bearer(token))).status_code == 200
    assert seen == [token]  # authenticated once per request
    assert principals[0] is not None and principals[0].subject == "kept"


async def test_the_default_test_client_is_a_state_wide_all_roles_user(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings, engine=engine)
    async with api_client(app) as http:
        assert (await http.get(CASES)).status_code == 200
        assert (await http.get(CASES, headers={"Authorization": "Bearer nope"})).status_code == 401
    all_roles = [u for u in list_users(engine) if u.name.startswith("test-all-roles-")]
    assert len(all_roles) == 1
    assert all_roles[0].role_set == frozenset(Role)
    assert (all_roles[0].district, all_roles[0].department) == (None, None)


# ---- the admin command line ----------------------------------------------------------------


@pytest.fixture
def cli_settings(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """core.admin reads its settings from the environment: point it at the test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def run_admin(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        admin.main(list(argv))
    return int(exit_info.value.code or 0)


def test_the_cli_creates_lists_reissues_and_revokes(
    cli_settings: Settings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_admin(
        "user", "create", "nodal-ranchi", "--role", "nodal_officer", "--role", "telecaller",
        "--district", "Ranchi", "--days", "7",
    )  # fmt: skip
    assert code == 0
    out, err = capsys.readouterr()
    token = next(line for line in out.splitlines() if line.startswith("js_"))
    assert "shown only now" in err
    principal = authenticate_token(engine, token, utcnow())
    assert principal is not None and principal.district == "Ranchi"
    assert authenticate_token(engine, token, utcnow() + timedelta(days=8)) is None  # --days 7

    assert run_admin("user", "list") == 0
    listing = capsys.readouterr().out
    token_id = split_token(token)[0]  # type: ignore[index]
    assert "nodal-ranchi" in listing and token_id in listing and "[Ranchi]" in listing
    assert token not in listing  # the secret is never shown again

    assert run_admin("user", "token", "nodal-ranchi") == 0
    second = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("js_"))
    assert authenticate_token(engine, second, utcnow()) is not None

    assert run_admin("token", "revoke", token_id) == 0
    assert authenticate_token(engine, token, utcnow()) is None
    assert authenticate_token(engine, second, utcnow()) is not None
    assert run_admin("token", "revoke", token_id) == 1
    assert "no live token" in capsys.readouterr().err

    assert run_admin("user", "revoke", "nodal-ranchi") == 0
    assert "1 token(s) revoked" in capsys.readouterr().out
    assert authenticate_token(engine, second, utcnow()) is None

    # Each change is in the audit trail (the refused revocation and the listing are not).
    trail = list(reversed(audit.entries(engine, subject=operator())))
    assert [(e.method, e.route, e.status_code) for e in trail] == [
        ("CLI", "core.admin user create", 0),
        ("CLI", "core.admin user token", 0),
        ("CLI", "core.admin token revoke", 0),
        ("CLI", "core.admin user revoke", 0),
    ]
    assert (
        trail[0].summary == "user create; user=nodal-ranchi; roles=nodal_officer,telecaller; days=7"
    )
    assert all(token not in e.summary and second not in e.summary for e in trail)


def test_the_cli_refuses_an_unscoped_officer_unless_state_wide(
    cli_settings: Settings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_admin("user", "create", "nobody-knows", "--role", "nodal_officer") == 1
    assert "needs a district or a department" in capsys.readouterr().err
    assert run_admin("user", "create", "bad-role", "--role", "king") == 1
    assert "unknown role 'king'" in capsys.readouterr().err
    assert list_users(engine) == []
    assert run_admin("user", "create", "cell", "--role", "nodal_officer", "--state-wide") == 0
    assert [u.name for u in list_users(engine)] == ["cell"]


def test_dev_tokens_one_per_role_in_a_private_file(
    cli_settings: Settings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_admin("dev-tokens") == 0
    path = cli_settings.data_dir / "dev-tokens.json"
    assert str(path) in capsys.readouterr().out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens = json.loads(path.read_text(encoding="utf-8"))
    assert set(tokens) == {role.value for role in Role}
    for role in Role:
        principal = authenticate_token(engine, tokens[role.value]["token"], utcnow())
        assert principal is not None and principal.roles == {role}
    nodal = authenticate_token(engine, tokens["nodal_officer"]["token"], utcnow())
    assert nodal is not None and nodal.district == "Ranchi"
    desk = authenticate_token(engine, tokens["department_officer"]["token"], utcnow())
    assert desk is not None and desk.department == "police"

    # Again: the same users, fresh tokens, the previous ones revoked.
    users = [u.name for u in list_users(engine)]
    path.chmod(0o644)
    assert run_admin("dev-tokens") == 0
    again = json.loads(path.read_text(encoding="utf-8"))
    assert [u.name for u in list_users(engine)] == users
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for role in Role:
        assert again[role.value]["token"] != tokens[role.value]["token"]
        assert authenticate_token(engine, tokens[role.value]["token"], utcnow()) is None
        assert authenticate_token(engine, again[role.value]["token"], utcnow()) is not None


def test_dev_tokens_are_refused_in_production(settings: Settings, engine: Engine) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    with pytest.raises(AuthError, match="never created in production"):
        write_dev_tokens(engine, production)
    assert list_users(engine) == []
    assert not (settings.data_dir / "dev-tokens.json").exists()


# ---- OIDC / JWKS ---------------------------------------------------------------------------

ISSUER = "https://sso.example.gov.in/realms/jan-samvad"
AUDIENCE = "jan-samvad-api"


class Provider:
    """A local identity provider: an RSA key, its JWKS served over HTTP, signed tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.kid = uuid.uuid4().hex[:8]
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}
        body = json.dumps(self.jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.jwks_url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "officer-7", "iat": now, "exp": now + 300}
        payload.update(claims)
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    provider = Provider()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


async def test_oidc_accepts_a_signed_token_and_refuses_bad_ones(
    settings: Settings, engine: Engine, provider: Provider
) -> None:
    oidc = OidcAuthenticator(issuer=ISSUER, audience=AUDIENCE, jwks_url=provider.jwks_url)
    _u, ours = create_user(engine, name="ours", roles=[Role.REVIEWER])
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with app_client(settings, engine, authenticator=oidc) as http:
        good = provider.token(roles=["reviewer", "some-other-app-admin"])
        assert (await http.get(CASES, headers=bearer(good))).status_code == 200

        refused = {
            "wrong audience": provider.token(roles=["reviewer"], aud="another-api"),
            "wrong issuer": provider.token(roles=["reviewer"], iss="https://evil.example"),
            "expired": provider.token(roles=["reviewer"], exp=int(time.time()) - 3600),
            "forged": provider.token(key=other_key, roles=["reviewer"]),
            "our token (OIDC only)": ours,
        }
        for reason, token in refused.items():
            answer = await http.get(CASES, headers=bearer(token))
            assert answer.status_code == 401, reason
            assert answer.headers["WWW-Authenticate"].startswith("Bearer"), reason

        no_role = provider.token(roles=["some-other-app-admin"])
        assert (await http.get(CASES, headers=bearer(no_role))).status_code == 403


def test_oidc_claims_map_to_the_principal(provider: Provider) -> None:
    oidc = OidcAuthenticator(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=provider.jwks,
        subject_claim="preferred_username",
        roles_claim="realm_access.roles",
        district_claim="jan_samvad_district",
    )
    principal = oidc.principal(
        {
            "preferred_username": "nodal.ranchi",
            "realm_access": {"roles": ["nodal_officer", "offline_access"]},
            "jan_samvad_district": "RANCHI",
            "department": "Police",
        }
    )
    assert principal is not None
    assert principal.subject == "nodal.ranchi"
    assert principal.roles == {Role.NODAL_OFFICER}
    assert (principal.district, principal.department) == ("Ranchi", "police")
    assert principal.token_id is None
    space_separated = oidc.principal(
        {"preferred_username": "r", "realm_access": {"roles": "reviewer telecaller"}}
    )
    assert space_separated is not None
    assert space_separated.roles == {Role.REVIEWER, Role.TELECALLER}
    # An unknown district would otherwise read as "no district": state-wide. Refused instead.
    assert oidc.principal({"preferred_username": "x", "jan_samvad_district": "Atlantis"}) is None
    assert oidc.principal({"realm_access": {"roles": ["reviewer"]}}) is None  # no subject


async def test_an_injected_key_set_verifies_without_fetching(
    settings: Settings, engine: Engine, provider: Provider
) -> None:
    oidc = OidcAuthenticator(issuer=ISSUER, audience=AUDIENCE, jwks=provider.jwks)
    async with app_client(settings, engine, authenticator=oidc) as http:
        good = provider.token(roles=["telecaller"], district="Dumka")
        assert (await http.get(CASES, headers=bearer(good))).status_code == 200
        late = provider.token(roles=["telecaller"], exp=int(time.time()) - 120)
        assert (await http.get(CASES, headers=bearer(late))).status_code == 401


async def test_auth_provider_both_takes_our_tokens_and_the_providers(
    settings: Settings, engine: Engine, provider: Provider
) -> None:
    both = settings.model_copy(
        update={
            "auth_provider": AuthProvider.BOTH,
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_url": provider.jwks_url,
        }
    )
    _u, ours = create_user(engine, name="client", roles=[Role.REVIEWER])
    async with app_client(both, engine) as http:
        for token in (ours, provider.token(roles=["reviewer"])):
            assert (await http.get(CASES, headers=bearer(token))).status_code == 200
        forged = provider.token(
            key=rsa.generate_private_key(public_exponent=65537, key_size=2048), roles=["reviewer"]
        )
        assert (await http.get(CASES, headers=bearer(forged))).status_code == 401


def test_oidc_settings_are_required_together() -> None:
    with pytest.raises(ValueError, match="needs OIDC_ISSUER"):
        Settings(auth_provider=AuthProvider.OIDC, oidc_issuer=ISSUER, _env_file=None)


def test_the_migration_creates_the_tables(engine: Engine) -> None:
    names = set(sa.inspect(engine).get_table_names())
    assert {ApiUser.__tablename__, ApiToken.__tablename__} <= names
