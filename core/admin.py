"""Deploy-time administration of the Temporal namespace, idempotent (run it on every deploy).

    python -m core.admin register-namespace          # self-hosted cluster only
    python -m core.admin register-search-attributes  # the project's custom search attributes
    python -m core.admin setup                       # both, in that order

Replaying a history against this code is the worker's: `python -m workers.replay`.

Users and bearer tokens of the API (the token store is core/auth.py; `make user ARGS="..."`):

    python -m core.admin user create NAME --role R [--role R2] [--district D] [--department C]
                                      [--state-wide] [--days N]  # prints the token once
    python -m core.admin user token NAME         # another token for NAME, printed once
    python -m core.admin user revoke NAME        # deactivates NAME, revokes all its tokens
    python -m core.admin user list
    python -m core.admin token revoke ID         # one token, by the id shown in `user list`
    python -m core.admin dev-tokens              # one development user per role (not production)

`make run` calls `register-search-attributes` once its dev server is up; docker-compose runs
`setup` as a one-shot service before the workers and the API start. On Temporal Cloud the
namespace and its search attributes are created in the Cloud console or with `tcld`: the
operator service refuses them there, so deploy with `register-search-attributes` skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import pwd
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core import auth
from core.audit import append
from core.db import make_engine, migrate
from core.logging import configure_logging
from core.models import ApiUser, AuditEntry, utcnow
from core.settings import Environment, Settings, get_settings
from core.temporal import connect
from schemas import search_attributes
from schemas.auth import Role

log = logging.getLogger(__name__)

# How long a closed case's history stays in the cluster: long enough to replay a case that a
# citizen reopens or appeals months later (the reopen window is far shorter).
DEFAULT_RETENTION = timedelta(days=90)


class SearchAttributeConflict(RuntimeError):
    """A search attribute of ours exists in the namespace with another type."""


def wanted_search_attributes() -> dict[str, IndexedValueType.ValueType]:
    """Name → indexed type of every custom search attribute the workflows use."""
    return {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in search_attributes.ALL
    }


async def register_search_attributes(
    client: Client, namespace: str, *, wait: float = 30.0
) -> list[str]:
    """Add the project's search attributes missing from `namespace`; returns their names.

    Existing ones of the right type are left alone (idempotent); one of the wrong type is an
    error an operator must resolve, since a workflow upserting it would fail. A namespace
    registered a moment ago is "not found" for a few seconds: that is waited out (`wait`).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            existing = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=namespace)
            )
            break
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or loop.time() >= deadline:
                raise
            await asyncio.sleep(0.5)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for name, kind in wanted_search_attributes().items():
        current = existing.custom_attributes.get(name)
        if current is None:
            missing[name] = kind
        elif current != kind:
            raise SearchAttributeConflict(
                f"search attribute {name} is {IndexedValueType.Name(current)} in namespace "
                f"{namespace}, the workflows need {IndexedValueType.Name(kind)}"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


async def register_namespace(
    client: Client, namespace: str, retention: timedelta = DEFAULT_RETENTION
) -> bool:
    """Register `namespace` if the cluster does not know it; returns whether it was created."""
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
        return False
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    duration = Duration()
    duration.FromTimedelta(retention)
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=namespace, workflow_execution_retention_period=duration
            )
        )
    except RPCError as err:
        # Another deploy step registered it between our two calls: that is success too.
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
        return False
    return True


async def connect_within(settings: Settings, wait: float) -> Client:
    """Connect, retrying for up to `wait` seconds (the cluster may still be starting)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            return await connect(settings)
        except RuntimeError as err:
            if loop.time() >= deadline:
                raise
            log.info("Temporal at %s not ready (%s); retrying", settings.temporal_address, err)
            await asyncio.sleep(1)


async def run(task: str, settings: Settings, *, wait: float, retention: timedelta) -> None:
    """Carry out one administrative task against the configured cluster."""
    client = await connect_within(settings, wait)
    namespace = settings.temporal_namespace
    if task in ("register-namespace", "setup"):
        created = await register_namespace(client, namespace, retention)
        log.info("namespace %s %s", namespace, "registered" if created else "already exists")
    if task in ("register-search-attributes", "setup"):
        added = await register_search_attributes(client, namespace, wait=wait)
        log.info(
            "search attributes in %s: %s",
            namespace,
            f"added {', '.join(added)}" if added else "all present",
        )


# ---- users and tokens (the read model only, no Temporal client) ----------------------------

USER_COMMANDS = ("user", "token", "dev-tokens")


def _user_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.admin", description="Jan Samvad: API users and bearer tokens"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    user = sub.add_parser("user", help="users and API clients").add_subparsers(
        dest="action", required=True
    )
    create = user.add_parser("create", help="create a user and print its first token (once)")
    create.add_argument("name")
    create.add_argument("--role", action="append", required=True, help="repeat for several roles")
    create.add_argument("--district", help="nodal officer's district, e.g. Ranchi")
    create.add_argument("--department", help="department code, e.g. police")
    create.add_argument(
        "--state-wide",
        action="store_true",
        help="an officer of the state's own cell: no district or department limit",
    )
    create.add_argument("--days", type=int, default=settings.auth_token_days)
    token = user.add_parser("token", help="issue another token for a user (printed once)")
    token.add_argument("name")
    token.add_argument("--days", type=int, default=settings.auth_token_days)
    revoke = user.add_parser("revoke", help="deactivate a user and revoke all its tokens")
    revoke.add_argument("name")
    user.add_parser("list", help="users, their roles, scope and live tokens")
    token_commands = sub.add_parser("token", help="tokens").add_subparsers(
        dest="action", required=True
    )
    token_revoke = token_commands.add_parser("revoke", help="revoke one token by its id")
    token_revoke.add_argument("id")
    sub.add_parser("dev-tokens", help="development tokens, one per role (not in production)")
    parser.add_argument(
        "--actor",
        help="who is running this command (recorded in the audit trail with the OS account)",
    )
    return parser


def operator(actor: str | None = None) -> str:
    """Who runs an administrator's command, for the audit trail: the name given with
    `--actor` (the person, when the operating-system account is shared), else the account of
    the process's user id — never `$USER`, which anyone can set."""
    return f"cli:{actor}" if actor else f"cli:{os_user()}"


def os_user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        return f"uid {os.getuid()}"


def _show_token(token: str, expires_in: timedelta) -> None:
    parts = auth.split_token(token)
    print(token)
    print(
        f"(token id {parts[0] if parts else '?'}, valid {expires_in.days} days: shown only now, "
        "only its hash is stored)",
        file=sys.stderr,
    )


def user_cli(argv: Sequence[str], settings: Settings, engine: Engine | None = None) -> int:
    """`python -m core.admin user|token|dev-tokens ...`; returns the exit status."""
    args = _user_parser(settings).parse_args(list(argv))
    if args.command == "dev-tokens" and settings.environment is Environment.PRODUCTION:
        print("error: development tokens are never created in production", file=sys.stderr)
        return 1  # before touching the database at all
    own_engine = engine is None
    if engine is None:
        engine = make_engine(settings.effective_database_url)
        migrate(engine)
    try:
        return _run_user_command(args, settings, engine)
    except auth.AuthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if own_engine:
            engine.dispose()


def _run_user_command(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    match (args.command, getattr(args, "action", None)):
        case ("user", "create"):
            expires_in = timedelta(days=args.days)
            user, token = auth.create_user(
                engine,
                name=args.name,
                roles=args.role,
                district=args.district,
                department=args.department,
                expires_in=expires_in,
                created_by=operator(args.actor),
                state_wide=args.state_wide,
            )
            print(f"user {user.name}: {user.roles}{_scope(user)}")
            _audit(
                engine, args.actor, "user create", user=user.name, roles=user.roles, days=args.days
            )
            _show_token(token, expires_in)
        case ("user", "token"):
            expires_in = timedelta(days=args.days)
            token = auth.issue_token(engine, args.name, expires_in=expires_in)
            _audit(engine, args.actor, "user token", user=args.name, days=args.days)
            _show_token(token, expires_in)
        case ("user", "revoke"):
            count = auth.revoke_user(engine, args.name)
            _audit(engine, args.actor, "user revoke", user=args.name, tokens_revoked=count)
            print(f"user {args.name} deactivated, {count} token(s) revoked")
        case ("user", "list"):
            now = utcnow()
            for user in auth.list_users(engine):
                live = [
                    f"{t.id} (until {t.expires_at:%Y-%m-%d})"
                    for t in auth.tokens_of(engine, user.name)
                    if t.revoked_at is None and t.expires_at > now
                ]
                state = "active" if user.active else "deactivated"
                print(
                    f"{user.name}\t{user.roles}{_scope(user)}\t{state}\t"
                    f"tokens: {', '.join(live) or 'none'}"
                )
        case ("token", "revoke"):
            if not auth.revoke_token(engine, args.id):
                raise auth.AuthError(f"id: no live token {args.id!r}")
            _audit(engine, args.actor, "token revoke", token=args.id)
            print(f"token {args.id} revoked")
        case ("dev-tokens", _):
            tokens = auth.write_dev_tokens(engine, settings)
            _audit(engine, args.actor, "dev-tokens", users=len(tokens))
            print(f"development tokens (also in {auth.dev_tokens_file(settings)}):")
            for role, entry in tokens.items():
                print(f"  {role:<20} {entry['token']}")
    return 0


def _audit(engine: Engine, actor: str | None, action: str, **facts: Any) -> None:
    """The audit trail records the administrator's commands beside the API's requests (method
    CLI, status 0); the subject is `operator(actor)`, and with `--actor` the OS account too."""
    if actor:
        facts["os_user"] = os_user()
    summary = "; ".join([action, *(f"{key}={value}" for key, value in facts.items())])
    append(
        engine,
        AuditEntry(
            at=utcnow(),
            subject=operator(actor),
            roles=Role.ADMINISTRATOR.value,
            method="CLI",
            route=f"core.admin {action}",
            summary=summary,
            status_code=0,
            outcome="succeeded",
        ),
    )


def _scope(user: ApiUser) -> str:
    parts = [p for p in (user.district, user.department) if p]
    return f" [{', '.join(parts)}]" if parts else ""


# ---- entry point ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: `python -m core.admin TASK`."""
    args_given = sys.argv[1:] if argv is None else argv
    if args_given and args_given[0] in USER_COMMANDS:
        raise SystemExit(user_cli(args_given, get_settings()))
    parser = argparse.ArgumentParser(description="Jan Samvad: Temporal namespace administration")
    parser.add_argument(
        "task", choices=["register-namespace", "register-search-attributes", "setup"]
    )
    parser.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the cluster (default 60)"
    )
    parser.add_argument(
        "--retention-days",
        type=int,
        default=DEFAULT_RETENTION.days,
        help="history retention of a namespace this command registers",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    try:
        asyncio.run(
            run(
                args.task,
                settings,
                wait=args.wait,
                retention=timedelta(days=args.retention_days),
            )
        )
    except (SearchAttributeConflict, RPCError, RuntimeError) as err:
        log.error("%s failed: %s", args.task, err)
        exit_now(1)
    exit_now(0)


def exit_now(code: int) -> None:
    """Exit without interpreter finalization: the Temporal client's Rust threads can crash a
    finalizing short-lived process (temporalio/sdk-python#300), turning success into 139."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
