"""The token store: API users and clients, and their bearer tokens.

A token reads `js_<id>_<secret>`. The id is public (it names the token in listings, logs and
`token revoke ID`); only the SHA-256 hash of the secret is stored, so a copy of the database
gives no usable token. The plaintext is returned once, by `create_user` / `issue_token`, and
never again. Tokens expire (`expires_in`, default from AUTH_TOKEN_DAYS at the command line) and
can be revoked one by one (`revoke_token`) or all of a user's at once (`revoke_user`, which
also deactivates the user).

Scope: a nodal officer is limited to a district and/or a department, a department officer to a
department (`core.permissions`, `api.services.scope`). An officer with neither is a state-level
officer (the state's own nodal cell) and sees every case: this library allows it, since the
state-wide users of the tests and of the state cell need it, but the command line refuses such
an officer unless
`--state-wide` is given, so that a forgotten `--district` never widens anyone's reach.

The command line for users and tokens is `core/admin.py` (`python -m core.admin user ...` /
`token ...` / `dev-tokens`; `make user ARGS="..."`, `make dev-tokens`); the tables are in
`core/models.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import read_session, write_session
from core.models import ApiToken, ApiUser, utcnow
from core.permissions import DISTRICT_OR_DEPARTMENT_ROLES, URGENT_OF_DEPARTMENT_ROLES
from core.settings import Environment, Settings
from schemas.auth import Principal, Role
from schemas.reference import canonical_department, canonical_district

TOKEN_PREFIX = "js"
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
# last_used_at is a hint for administrators, not an audit record: written at most this often
# per token, so that authenticating stays a read (no write lock per request on SQLite).
LAST_USED_GRANULARITY = timedelta(minutes=5)


class AuthError(ValueError):
    """A user or token request the store refuses (unknown role, district, user...)."""


# ---- validation ----------------------------------------------------------------------------


def parse_roles(roles: Iterable[Role | str]) -> frozenset[Role]:
    """The roles named, refusing an unknown one (and an empty list)."""
    parsed: set[Role] = set()
    for role in roles:
        try:
            parsed.add(Role(role))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise AuthError(f"role: unknown role {role!r} (known: {known})") from None
    if not parsed:
        raise AuthError("role: a user needs at least one role")
    return frozenset(parsed)


def check_scope(
    roles: frozenset[Role], district: str | None, department: str | None, *, state_wide: bool
) -> tuple[str | None, str | None]:
    """The canonical (district, department); refuses unknown ones, and an officer without the
    scope their role needs unless `state_wide` (see the module docstring)."""
    if district is not None:
        canonical = canonical_district(district)
        if canonical is None:
            raise AuthError(f"district: unknown district {district!r}")
        district = canonical
    if department is not None:
        code = canonical_department(department)
        if code is None:
            raise AuthError(f"department: unknown department {department!r} (use its code)")
        department = code
    if not state_wide:
        if roles & DISTRICT_OR_DEPARTMENT_ROLES and district is None and department is None:
            raise AuthError(
                "district: a nodal officer needs a district or a department "
                "(or --state-wide for an officer of the state's own cell)"
            )
        if roles & URGENT_OF_DEPARTMENT_ROLES and department is None:
            raise AuthError(
                "department: a department officer needs a department "
                "(or --state-wide for a state-level officer)"
            )
    return district, department


# ---- tokens ----------------------------------------------------------------------------------


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_token(user_id: int, now: datetime, expires_in: timedelta) -> tuple[ApiToken, str]:
    token_id = secrets.token_hex(6)  # hex: never contains the "_" separator
    secret = secrets.token_urlsafe(32)
    row = ApiToken(
        id=token_id,
        user_id=user_id,
        secret_hash=_hash(secret),
        created_at=now,
        expires_at=now + expires_in,
    )
    return row, f"{TOKEN_PREFIX}_{token_id}_{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a token of ours, None for anything else (e.g. an OIDC JWT)."""
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not token_id or not secret or len(token_id) > 32:
        return None
    return token_id, secret


def create_user(
    engine: Engine,
    *,
    name: str,
    roles: Iterable[Role | str],
    district: str | None = None,
    department: str | None = None,
    expires_in: timedelta = DEFAULT_TOKEN_LIFETIME,
    created_by: str = "cli",
    state_wide: bool = True,
    now: datetime | None = None,
) -> tuple[ApiUser, str]:
    """Create a user and its first token; returns the user and the plaintext token (shown
    once: only its hash is kept). Officers without a scope are state-level (`state_wide`;
    the command line passes False unless asked)."""
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise AuthError("name: 1 to 100 characters without spaces")
    role_set = parse_roles(roles)
    district, department = check_scope(role_set, district, department, state_wide=state_wide)
    now = now or utcnow()
    with write_session(engine) as session:
        if session.exec(select(ApiUser).where(ApiUser.name == name)).first() is not None:
            raise AuthError(f"name: a user {name!r} exists already")
        user = ApiUser(
            name=name,
            roles=",".join(sorted(r.value for r in role_set)),
            district=district,
            department=department,
            created_at=now,
            created_by=created_by,
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        token_row, token = _new_token(user.id, now, expires_in)
        session.add(token_row)
        session.commit()
    return user, token


def issue_token(
    engine: Engine,
    name: str,
    *,
    expires_in: timedelta = DEFAULT_TOKEN_LIFETIME,
    now: datetime | None = None,
) -> str:
    """A new token for an active user (its other tokens stay valid); the plaintext, once."""
    now = now or utcnow()
    with write_session(engine) as session:
        user = session.exec(select(ApiUser).where(ApiUser.name == name)).first()
        if user is None:
            raise AuthError(f"name: no user {name!r}")
        if not user.active:
            raise AuthError(f"name: user {name!r} is deactivated")
        assert user.id is not None
        token_row, token = _new_token(user.id, now, expires_in)
        session.add(token_row)
        session.commit()
    return token


def revoke_token(engine: Engine, token_id: str, *, now: datetime | None = None) -> bool:
    """Revoke one token by its public id; False when no such unrevoked token exists."""
    with write_session(engine) as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = now or utcnow()
        session.add(row)
        session.commit()
    return True


def revoke_user(engine: Engine, name: str, *, now: datetime | None = None) -> int:
    """Deactivate a user and revoke all its tokens; returns how many tokens were revoked."""
    now = now or utcnow()
    with write_session(engine) as session:
        user = session.exec(select(ApiUser).where(ApiUser.name == name)).first()
        if user is None:
            raise AuthError(f"name: no user {name!r}")
        user.active = False
        session.add(user)
        tokens = session.exec(
            select(ApiToken).where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
        ).all()
        for row in tokens:
            row.revoked_at = now
            session.add(row)
        session.commit()
    return len(tokens)


def list_users(engine: Engine) -> list[ApiUser]:
    """Every user, active or not, by name."""
    with read_session(engine) as session:
        return list(session.exec(select(ApiUser).order_by(col(ApiUser.name))).all())


def tokens_of(engine: Engine, name: str) -> list[ApiToken]:
    """A user's tokens, newest first (revoked and expired ones included)."""
    with read_session(engine) as session:
        statement = (
            select(ApiToken)
            .join(ApiUser, col(ApiUser.id) == col(ApiToken.user_id))
            .where(ApiUser.name == name)
            .order_by(col(ApiToken.created_at).desc())
        )
        return list(session.exec(statement).all())


_DUMMY_HASH = _hash("no such token")


def authenticate_token(engine: Engine, token: str, now: datetime) -> Principal | None:
    """The principal a token of ours stands for; None when it is malformed, unknown, has a
    wrong secret, is revoked or expired, or its user is deactivated."""
    parts = split_token(token)
    if parts is None:
        return None
    token_id, secret = parts
    with read_session(engine) as session:
        found = session.exec(
            select(ApiToken, ApiUser)
            .join(ApiUser, col(ApiUser.id) == col(ApiToken.user_id))
            .where(ApiToken.id == token_id)
        ).first()
    # Compare even for an unknown id, so timing does not tell which ids exist.
    row, user = found if found is not None else (None, None)
    matches = hmac.compare_digest(row.secret_hash if row else _DUMMY_HASH, _hash(secret))
    if row is None or user is None or not matches:
        return None
    if row.revoked_at is not None or row.expires_at <= now or not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        with write_session(engine) as session:
            session.execute(
                sa.update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now)
            )
            session.commit()
    return Principal(
        subject=user.name,
        roles=user.role_set,
        district=user.district,
        department=user.department,
        token_id=row.id,
    )


# ---- development tokens ----------------------------------------------------------------------

# One development user per role, scoped like a real one (make run writes their tokens).
DEV_USERS: tuple[tuple[str, Role, str | None, str | None], ...] = (
    ("dev-telecaller", Role.TELECALLER, None, None),
    ("dev-nodal-officer-ranchi", Role.NODAL_OFFICER, "Ranchi", None),
    ("dev-department-officer-police", Role.DEPARTMENT_OFFICER, None, "police"),
    ("dev-reviewer", Role.REVIEWER, None, None),
    ("dev-administrator", Role.ADMINISTRATOR, None, None),
    ("dev-integration", Role.INTEGRATION, None, None),
    ("dev-engineer", Role.ENGINEER, None, None),
    ("dev-monitoring", Role.MONITORING, None, None),
)
DEV_TOKEN_LIFETIME = timedelta(days=30)


def dev_tokens_file(settings: Settings) -> Path:
    return settings.data_dir / "dev-tokens.json"


def write_dev_tokens(engine: Engine, settings: Settings) -> dict[str, dict[str, Any]]:
    """Create (once) a development user per role, revoke their old tokens, issue fresh ones
    and write them to DATA_DIR/dev-tokens.json (mode 0600). Refused in production."""
    if settings.environment is Environment.PRODUCTION:
        raise AuthError("environment: development tokens are never created in production")
    existing = {user.name: user for user in list_users(engine)}
    now = utcnow()
    tokens: dict[str, dict[str, Any]] = {}
    for name, role, district, department in DEV_USERS:
        user = existing.get(name)
        if user is None:
            _user, token = create_user(
                engine,
                name=name,
                roles=[role],
                district=district,
                department=department,
                created_by="dev-tokens",
                state_wide=False,
                expires_in=DEV_TOKEN_LIFETIME,
                now=now,
            )
        else:
            if not user.active:  # deactivated by hand: a development user comes back
                with write_session(engine) as session:
                    session.execute(
                        sa.update(ApiUser).where(col(ApiUser.name) == name).values(active=True)
                    )
                    session.commit()
            # Fresh tokens replace the previous run's: only the file's tokens work.
            for row in tokens_of(engine, name):
                if row.revoked_at is None:
                    revoke_token(engine, row.id, now=now)
            token = issue_token(engine, name, expires_in=DEV_TOKEN_LIFETIME, now=now)
        tokens[role.value] = {
            "user": name,
            "district": district,
            "department": department,
            "token": token,
            "expires_at": (now + DEV_TOKEN_LIFETIME).isoformat(),
        }
    path = dev_tokens_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(tokens, out, indent=2)
        out.write("\n")
    return tokens
