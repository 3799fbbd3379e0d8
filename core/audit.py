"""The audit trail (issue 6): who changed what, when, from where, and with what outcome.

Every state-changing API request (any method but GET, HEAD and OPTIONS; the codec's
decode/encode only read) is recorded by `AuditMiddleware`, refused ones included: a 401 from an
unknown address is as much part of the story as a decision of the review. An entry is written
when the response starts, before the client hears the answer, so a caller told "done" has an
entry.

What an entry holds, and what it must never hold: the subject (user or client name), its roles
and token id, the client address, the method and the *route template* (never the raw path or
the query string), the complaint the request was about, a summary of the change, the status
code and an outcome. No citizen's name, phone or address and no free text: summaries are built
from enumerations, booleans and place names only (`summarize`), because the trail is read by
more people than the cases are.

Append-only: the API has no route that changes or deletes an entry, and the database refuses
UPDATE and DELETE on the table (triggers of migration 0004), so not even a bug can rewrite it.

A route adds what only it knows through `describe` (the complaint it registered, the summary,
the signer of a webhook that carries no token); the middleware fills in the rest from the
request and the response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

import sqlalchemy as sa
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, col, select

from core.db import read_session, write_session
from core.models import _ts, utcnow

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that change nothing: the Temporal UI decoding (or encoding) payloads for display.
READ_ONLY_ROUTES = frozenset(
    {
        "/v1/codec/decode",
        "/v1/codec/encode",
        "/v1/codec/{namespace}/decode",
        "/v1/codec/{namespace}/encode",
    }
)
# String fields whose values are place or department names, never personal data.
SAFE_TEXT_FIELDS = frozenset(
    {"district", "department", "transfer_to_district", "transfer_to_department"}
)
SUMMARY_LENGTH = 500


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"  # 2xx/3xx
    REPLAYED = "replayed"  # a retried request answered from its Idempotency-Key
    UNAUTHENTICATED = "unauthenticated"  # 401
    REFUSED = "refused"  # 403, or 404 (unknown or out of the caller's scope)
    REJECTED = "rejected"  # any other 4xx: invalid, conflicting, rate-limited
    FAILED = "failed"  # 5xx, or no response at all


def outcome_of(status: int, *, replayed: bool = False) -> Outcome:
    if status >= 500:
        return Outcome.FAILED
    if status == 401:
        return Outcome.UNAUTHENTICATED
    if status in (403, 404):
        return Outcome.REFUSED
    if status >= 400:
        return Outcome.REJECTED
    return Outcome.REPLAYED if replayed else Outcome.SUCCEEDED


class AuditEntry(SQLModel, table=True):
    """One state-changing request. Never updated, never deleted (see the module docstring)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    subject: str | None = Field(default=None, max_length=200, index=True)  # None: no token
    roles: str = Field(default="", max_length=300)  # comma-separated, sorted
    token_id: str | None = Field(default=None, max_length=32)
    client_address: str | None = Field(default=None, max_length=64)
    method: str = Field(max_length=10)
    route: str = Field(max_length=200)  # the route template, never the raw path
    complaint_year: int | None = None
    complaint_sequence: int | None = None
    summary: str = Field(default="", max_length=SUMMARY_LENGTH)
    status_code: int
    outcome: str = Field(max_length=20, index=True)

    __table_args__ = (sa.Index("ix_audit_entry_complaint", "complaint_year", "complaint_sequence"),)

    @property
    def registration_number(self) -> str | None:
        if self.complaint_year is None or self.complaint_sequence is None:
            return None
        return f"{self.complaint_sequence}/{self.complaint_year}"


# ---- what a route adds -------------------------------------------------------------------


@dataclass
class _Pending:
    complaint: tuple[int, int] | None = None
    subject: str | None = None  # who, when no token says it (a signed webhook)
    summary: list[str] = field(default_factory=list)


_PENDING: ContextVar[_Pending | None] = ContextVar("jan_samvad_audit", default=None)


def describe(
    summary: str | None = None,
    *,
    complaint: tuple[int, int] | None = None,
    subject: str | None = None,
    facts: Mapping[str, Any] | None = None,
    **more: Any,
) -> None:
    """Adds to the audit entry of the request being served (no-op outside one): a summary
    line, `key=value` facts (`facts` and keywords: pass only non-personal values, e.g. from
    `summarize`), the complaint as (year, sequence), the subject when no token names it."""
    pending = _PENDING.get()
    if pending is None:
        return
    if complaint is not None:
        pending.complaint = complaint
    if subject is not None:
        pending.subject = subject
    if summary:
        pending.summary.append(summary)
    for key, value in {**(facts or {}), **more}.items():
        pending.summary.append(f"{key}={_plain(value)}")


def summarize(model: BaseModel) -> dict[str, str]:
    """The non-personal facts of a request body: its enumerations, booleans and place names
    (a report's outcome, a transfer's target, a decision), never free text, names or phones."""
    facts: dict[str, str] = {}
    for name, value in model:
        if value is None:
            continue
        if isinstance(value, Enum | bool) or name in SAFE_TEXT_FIELDS:
            facts[name] = _plain(value)
    return facts


def _plain(value: Any) -> str:
    return str(value.value if isinstance(value, Enum) else value)


# ---- the middleware ------------------------------------------------------------------------


class AuditMiddleware:
    """ASGI middleware recording every state-changing request (see the module docstring).

    It must sit outside the router (so it sees the matched route, the path parameters and the
    principal `api.auth.require` left in the request state) and writes with the app's engine.
    A failure to write is logged loudly and answered 500: an unrecorded change must not look
    like a recorded one, and the middleware cannot undo what the route has done, so the
    client's retry (Idempotency-Key) is what repairs it."""

    def __init__(self, app: Any, *, count_refused: Callable[[Any, str], int] | None = None) -> None:
        self.app = app
        # (engine, "address route") -> refusals of that key in the current minute, the call
        # included; None: every refusal is a row.
        self.count_refused = count_refused or (lambda _engine, _key: 1)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        pending = _Pending()
        token = _PENDING.set(pending)
        started = dropped = False

        async def send_and_record(message: Any) -> None:
            nonlocal started, dropped
            if message["type"] == "http.response.start" and not started:
                started = True
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                replayed = headers.get(b"idempotent-replayed") == b"true"
                recorded = await self._record(scope, pending, message["status"], replayed)
                if not recorded and message["status"] < 500:
                    dropped = True
                    await _answer_unrecorded(send)
                    return
            if not dropped:
                await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        except Exception:
            if not started:
                await self._record(scope, pending, 500, False)
            raise
        finally:
            _PENDING.reset(token)

    async def _record(self, scope: Any, pending: _Pending, status: int, replayed: bool) -> bool:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        if route in READ_ONLY_ROUTES:
            return True
        state = scope.get("state") or {}
        principal = state.get("principal")
        complaint = pending.complaint or _complaint_of(scope.get("path_params") or {})
        client = scope.get("client")
        subject = getattr(principal, "subject", None) or pending.subject
        app_state = getattr(scope.get("app"), "state", None)
        jan_samvad = getattr(app_state, "jan_samvad", None)
        if subject is None and status >= 400 and client and jan_samvad is not None:
            # Refused and anonymous: counted per address and route, and recorded at the 1st,
            # 10th, 100th... of a minute, so a flood cannot grow the (undeletable) trail by a
            # row a request, yet the trail says it happened and how often.
            count = await run_in_threadpool(
                self.count_refused, jan_samvad.engine, f"{client[0]} {route}"
            )
            if not _worth_a_row(count):
                return True
            if count > 1:
                pending.summary.append(f"refused anonymous requests this minute: {count}")
        entry = AuditEntry(
            at=utcnow(),
            subject=subject[:200] if subject else None,
            roles=",".join(sorted(r.value for r in getattr(principal, "roles", ()))),
            token_id=getattr(principal, "token_id", None),
            client_address=str(client[0])[:64] if client else None,
            method=scope["method"],
            route=route[:200],
            complaint_year=complaint[0] if complaint else None,
            complaint_sequence=complaint[1] if complaint else None,
            summary="; ".join(pending.summary)[:SUMMARY_LENGTH],
            status_code=status,
            outcome=outcome_of(status, replayed=replayed).value,
        )
        if jan_samvad is None:  # the app has not started (lifespan): nothing to write with
            log.error("audit: no database to record %s %s", scope["method"], route)
            return False
        try:
            await run_in_threadpool(append, jan_samvad.engine, entry)
        except Exception:
            log.exception("audit: could not record %s %s (%s)", scope["method"], route, status)
            return False
        return True


def _worth_a_row(count: int) -> bool:
    """The 1st, 10th, 100th... refusal of a minute gets a row."""
    while count % 10 == 0 and count > 1:
        count //= 10
    return count == 1


async def _answer_unrecorded(send: Any) -> None:
    body = b'{"detail":"the request could not be recorded in the audit trail; retry it"}'
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def complaint_of_number(registration_number: str) -> tuple[int, int] | None:
    """`20983/2018` → (2018, 20983); None for anything else."""
    sequence, _, year = registration_number.partition("/")
    return _complaint(year, sequence)


def _complaint_of(path_params: dict[str, Any]) -> tuple[int, int] | None:
    return _complaint(path_params.get("year"), path_params.get("sequence"))


def _complaint(year: Any, sequence: Any) -> tuple[int, int] | None:
    """Only numbers that can name a case (a database integer): a request for
    /v1/complaints/9223372036854775808/1 is recorded without a complaint, not refused."""
    try:
        pair = int(year), int(sequence)
    except (TypeError, ValueError):
        return None
    return pair if all(0 <= n < 2**31 for n in pair) else None


# ---- storage and reading -------------------------------------------------------------------


def append(engine: Engine, entry: AuditEntry) -> None:
    with write_session(engine) as session:
        session.add(entry)
        session.commit()


def entries(
    engine: Engine,
    *,
    subject: str | None = None,
    complaint: tuple[int, int] | None = None,
    outcomes: Iterable[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; page with `before_id` (the last id of the previous page)."""
    query = select(AuditEntry)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    if complaint is not None:
        query = query.where(
            AuditEntry.complaint_year == complaint[0],
            AuditEntry.complaint_sequence == complaint[1],
        )
    wanted = list(outcomes)
    if wanted:
        query = query.where(col(AuditEntry.outcome).in_(wanted))
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    if until is not None:
        query = query.where(col(AuditEntry.at) < until)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    query = query.order_by(col(AuditEntry.id).desc()).limit(limit)
    with read_session(engine) as session:
        return list(session.exec(query))
