"""Authentication and authorisation dependencies.

    require(*roles) -> a FastAPI dependency returning the authenticated `Principal` when it holds
    one of `roles`; it also stores it on `request.state.principal` (the audit trail reads it).

    Usage on a route:   principal: Annotated[Principal, Depends(require(*CASE_READERS))]
    or on a router:     APIRouter(..., dependencies=[Depends(require(*CODEC_USERS))])

    signed_in(*roles) -> the same for a staff page, by the session cookie the sign-in page sets
    (no session: `SignInNeeded`, sent to the sign-in page; no admitted role: `NotForRole`).
    codec_principal -> the codec's: by bearer token, or by the codec session cookie.

The roles each right admits are `core.permissions`'s. This is the one module of
authentication dependencies: routes, pages and the codec all take their principal here.

A request brings `Authorization: Bearer <token>`. Who vouches for the token is pluggable: an
`Authenticator`, chosen in `api.main.create_app` (AUTH_PROVIDER): our token store
(`core.auth`, tokens printed once by `python -m core.admin user create`), the state's OIDC
identity provider (JWTs checked against its JWKS), or both. No token, or one that is unknown,
expired, revoked or of a deactivated user: 401 with `WWW-Authenticate: Bearer`. A valid token
without a role the endpoint admits: 403 naming the roles it admits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from api.errors import ApiError
from core.auth import AuthError, authenticate_token, check_scope, split_token
from core.models import utcnow
from core.permissions import CODEC_USERS
from core.settings import AuthProvider, Settings
from schemas.auth import Principal, Role

log = logging.getLogger(__name__)

REALM = "jan-samvad"

# The security scheme of every protected route in /docs ("Authorize" takes the token).
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    description='A token from `make user ARGS="create ..."` (or DATA_DIR/dev-tokens.json '
    "under `make run`), or the state identity provider's access token.",
)


class Authenticator(Protocol):
    """Turns a bearer token into a principal; None when the token is not valid."""

    async def authenticate(self, request: Request, token: str) -> Principal | None: ...


class TokenStoreAuthenticator:
    """Our own tokens (`core.auth`); the engine is the app's unless one is given."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine

    async def authenticate(self, request: Request, token: str) -> Principal | None:
        if split_token(token) is None:
            return None
        engine = self._engine or request.app.state.jan_samvad.engine
        # Blocking database work off the event loop, in one short session of its own.
        return await run_in_threadpool(authenticate_token, engine, token, utcnow())


class OidcAuthenticator:
    """JWTs of an OIDC identity provider, verified against its JWKS (signature, issuer,
    audience, expiry). Roles, district and department come from configurable claims; role
    names the API does not know are ignored (the provider has roles of other systems), and a
    district or department it does not know refuses the token rather than widen the scope; so
    does a scoped role (nodal or department officer) whose scope claims are absent, null or
    empty, and a claim of another shape than the provider's list or name."""

    ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        subject_claim: str = "sub",
        roles_claim: str = "roles",
        district_claim: str = "district",
        department_claim: str = "department",
        leeway_seconds: float = 30.0,
    ) -> None:
        if (jwks_url is None) == (jwks is None):
            raise ValueError("give the provider's jwks_url or a jwks key set, not both")
        self.issuer = issuer
        self.audience = audience
        self.subject_claim = subject_claim
        self.roles_claim = roles_claim
        self.district_claim = district_claim
        self.department_claim = department_claim
        self.leeway = leeway_seconds
        self._keys = jwt.PyJWKSet.from_dict(dict(jwks)) if jwks is not None else None
        # Caches the key set and refetches it when a token names an unknown key (rotation).
        self._client = (
            jwt.PyJWKClient(jwks_url, cache_jwk_set=True, lifespan=300, timeout=10)
            if jwks_url is not None
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcAuthenticator:
        return cls(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            subject_claim=settings.oidc_subject_claim,
            roles_claim=settings.oidc_roles_claim,
            district_claim=settings.oidc_district_claim,
            department_claim=settings.oidc_department_claim,
        )

    async def authenticate(self, request: Request, token: str) -> Principal | None:
        try:
            key = await self._signing_key(token)
        except jwt.PyJWKClientConnectionError as err:
            raise ApiError(503, f"identity provider unreachable: {err}") from err
        except (jwt.PyJWKClientError, jwt.PyJWTError) as err:
            log.info("bearer token refused: %s", err)
            return None
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(self.ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as err:
            log.info("bearer token refused: %s", err)
            return None
        return self.principal(claims)

    async def _signing_key(self, token: str) -> Any:
        if self._client is not None:
            # urllib underneath: off the event loop.
            return (await run_in_threadpool(self._client.get_signing_key_from_jwt, token)).key
        assert self._keys is not None
        kid = jwt.get_unverified_header(token).get("kid")
        for candidate in self._keys.keys:
            if kid is None or candidate.key_id == kid:
                return candidate.key
        raise jwt.InvalidKeyError(f"no key {kid!r} in the identity provider's key set")

    def principal(self, claims: Mapping[str, Any]) -> Principal | None:
        """The principal the verified claims describe; None when they cannot be trusted."""
        subject = _claim(claims, self.subject_claim)
        if not isinstance(subject, str) or not subject:
            log.info("bearer token refused: no %s claim", self.subject_claim)
            return None
        raw_roles = _claim(claims, self.roles_claim)
        if raw_roles is None:
            raw_roles = []
        elif isinstance(raw_roles, str):  # a space- or comma-separated list, like `scope`
            raw_roles = raw_roles.replace(",", " ").split()
        if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
            # `{"administrator": false}` is not the role administrator: a claim of another
            # shape than the provider's list is refused, not read into roles.
            # The subject stays out of the log (it may be a person's name or e-mail address).
            log.warning(
                "bearer token refused: its %s claim is not a list of names", self.roles_claim
            )
            return None
        known = {role.value for role in Role}
        roles = frozenset(Role(r) for r in raw_roles if r in known)
        try:
            district = _scope_claim(claims, self.district_claim)
            department = _scope_claim(claims, self.department_claim)
            # An absent, null or empty claim is no scope, never "every district": a scoped
            # role without its scope is refused, as the command line refuses such a user
            # (state-level officers use tokens made with --state-wide).
            district, department = check_scope(roles, district, department, state_wide=False)
        except (AuthError, TypeError) as err:
            log.warning("bearer token refused: %s", err)
            return None
        return Principal(subject=subject, roles=roles, district=district, department=department)


class ChainAuthenticator:
    """Our tokens (recognised by their `js_` prefix) first, then the identity provider."""

    def __init__(self, *authenticators: Authenticator) -> None:
        self.authenticators: Sequence[Authenticator] = authenticators

    async def authenticate(self, request: Request, token: str) -> Principal | None:
        for authenticator in self.authenticators:
            principal = await authenticator.authenticate(request, token)
            if principal is not None:
                return principal
        return None


def authenticator_from_settings(settings: Settings) -> Authenticator:
    """The authenticator AUTH_PROVIDER names."""
    match settings.auth_provider:
        case AuthProvider.TOKENS:
            return TokenStoreAuthenticator()
        case AuthProvider.OIDC:
            return OidcAuthenticator.from_settings(settings)
        case AuthProvider.BOTH:
            return ChainAuthenticator(
                TokenStoreAuthenticator(), OidcAuthenticator.from_settings(settings)
            )


def _scope_claim(claims: Mapping[str, Any], path: str) -> str | None:
    """A district or department claim: one name; absent, null and empty are None (no scope);
    any other shape (a list, a number, an object) is refused (TypeError)."""
    value = _claim(claims, path)
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]  # some providers give every attribute as a list
    if not isinstance(value, str):
        raise TypeError(f"{path}: one name expected, not {type(value).__name__}")
    return value if value.strip() else None


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested claims (`realm_access.roles`)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


async def principal_from_token(request: Request, token: str) -> Principal | None:
    """The principal of `token` by the app's authenticator (None: not valid); also stored on
    `request.state.principal`. One request authenticates a token once, however many
    dependencies ask."""
    cached = getattr(request.state, "_auth", None)
    if cached is not None and cached[0] == token:
        principal: Principal | None = cached[1]
        return principal
    authenticator: Authenticator = request.app.state.authenticator  # set by create_app
    principal = await authenticator.authenticate(request, token)
    request.state._auth = (token, principal)
    if principal is not None:
        request.state.principal = principal
    return principal


def unauthorized(message: str, *, invalid: bool) -> HTTPException:
    """401 with the challenge RFC 6750 asks for (the body has the usual `detail`)."""
    challenge = f'Bearer realm="{REALM}"'
    if invalid:
        challenge += f', error="invalid_token", error_description="{message}"'
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": challenge})


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting a valid token holding one of `roles` (any role when none)."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> Principal:
        if credentials is None or not credentials.credentials:
            raise unauthorized(
                "authorization: a bearer token is required (Authorization: Bearer <token>)",
                invalid=False,
            )
        return admit(await principal_from_token(request, credentials.credentials), roles)

    return dependency


def admit(principal: Principal | None, roles: Sequence[Role]) -> Principal:
    """The principal a token stood for, if it holds one of `roles` (any role when none):
    401 for no principal (an invalid token), 403 naming the roles admitted."""
    if principal is None:
        raise unauthorized("authorization: the token is invalid, expired or revoked", invalid=True)
    if roles and not principal.has(*roles):
        admitted = ", ".join(role.value for role in roles)
        held = ", ".join(sorted(role.value for role in principal.roles)) or "none"
        raise ApiError(
            403,
            f"authorization: this endpoint needs one of the roles {admitted}; "
            f"{principal.subject} has {held}",
        )
    return principal


# ---- the staff pages' session (a cookie holding the signed-in user's token) ------------------

SESSION_COOKIE = "jan_samvad_session"
SESSION_SECONDS = 8 * 3600  # a working day; the token's own expiry and revocation still apply


class SignInNeeded(Exception):
    """No valid session: the browser is sent to the sign-in page (and back afterwards)."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class NotForRole(Exception):
    """A signed-in user whose roles the page does not admit (a 403 page)."""

    def __init__(self, roles: Sequence[Role]) -> None:
        super().__init__(", ".join(role.value for role in roles))
        self.roles = tuple(roles)


async def current_principal(request: Request) -> Principal | None:
    """The principal of the session cookie's token; None without a valid one."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await principal_from_token(request, token)
    except ApiError:  # the identity provider unreachable: treated as signed out
        return None


def signed_in(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency of the staff pages: the signed-in principal holding one of `roles`.
    Without a session, `SignInNeeded` (the browser goes to the sign-in page); with a session
    lacking the roles, `NotForRole` (a 403 page)."""

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInNeeded(target)
        if roles and not principal.has(*roles):
            raise NotForRole(roles)
        return principal

    return dependency


# ---- the codec's session (a cookie on the codec's paths only, for the Temporal Web UI) -------

CODEC_PREFIX = "/v1/codec"
CODEC_COOKIE = "jan_samvad_codec"
# A working day; the token's own expiry and revocation still apply.
CODEC_SESSION_SECONDS = 8 * 3600


async def codec_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """An engineer or administrator, by bearer token or by the codec session cookie."""
    token = credentials.credentials if credentials is not None else ""
    if not token and CODEC_COOKIE in request.cookies:
        # A browser sends the cookie along with any request to the API, whichever page made
        # it: it counts only on a request from the Web UI (browsers always send Origin with a
        # cross-origin fetch and with every POST), never from another site's page.
        origin = (request.headers.get("origin") or "").rstrip("/")
        settings: Settings = request.app.state.jan_samvad.settings
        allowed = [*settings.codec_cors_origin_list, settings.public_base_url.rstrip("/")]
        if origin in allowed:
            token = request.cookies[CODEC_COOKIE]
        elif origin:
            raise ApiError(403, f"codec session: origin {origin} is not allowed")
    if not token:
        raise unauthorized(
            "authorization: a bearer token (or the codec session cookie from POST "
            "/v1/codec/session) is required",
            invalid=False,
        )
    return admit(await principal_from_token(request, token), CODEC_USERS)


CodecPrincipal = Annotated[Principal, Depends(codec_principal)]
