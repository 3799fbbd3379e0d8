"""The audit trail: who changed what, when, from where, and with what outcome.

Every state-changing API request (any method but GET, HEAD and OPTIONS; the codec's
decode/encode only read) is recorded by `api.middleware.AuditMiddleware`, refused ones
included: a 401 from an unknown address is as much part of the story as a decision of the
review. An entry is written
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
request and the response. The table is `core.models.AuditEntry`; this module holds what a
request adds, the writing and the reading.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from core.db import read_session, write_session
from core.models import AUDIT_SUMMARY_LENGTH, AuditEntry

log = logging.getLogger(__name__)

# String fields whose values are place or department names, never personal data.
SAFE_TEXT_FIELDS = frozenset(
    {"district", "department", "transfer_to_district", "transfer_to_department"}
)


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


# ---- what a route adds -------------------------------------------------------------------


@dataclass
class Pending:
    """What the request being served adds to its entry (collected while the route runs)."""

    complaint: tuple[int, int] | None = None
    subject: str | None = None  # who, when no token says it (a signed webhook)
    summary: list[str] = field(default_factory=list)


PENDING: ContextVar[Pending | None] = ContextVar("jan_samvad_audit", default=None)


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
    pending = PENDING.get()
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


def complaint_of_number(registration_number: str) -> tuple[int, int] | None:
    """`20983/2018` → (2018, 20983); None for anything else."""
    sequence, _, year = registration_number.partition("/")
    return complaint_of(year, sequence)


def complaint_of(year: Any, sequence: Any) -> tuple[int, int] | None:
    """Only numbers that can name a case (a database integer): a request for
    /v1/complaints/9223372036854775808/1 is recorded without a complaint, not refused."""
    try:
        pair = int(year), int(sequence)
    except (TypeError, ValueError):
        return None
    return pair if all(0 <= n < 2**31 for n in pair) else None


# ---- storage and reading -------------------------------------------------------------------


def worker_entry(
    *,
    subject: str,
    action: str,
    complaint: tuple[int, int] | None,
    status_code: int,
    facts: Mapping[str, Any],
    now: datetime,
) -> AuditEntry:
    """An entry for what a worker decided on someone's behalf (an Open311 media_url refused):
    method WORKER, the action as its route, non-personal facts only."""
    summary = "; ".join([action, *(f"{k}={_plain(v)}" for k, v in facts.items())])
    return AuditEntry(
        at=now,
        subject=subject,
        method="WORKER",
        route=action,
        complaint_year=complaint[0] if complaint else None,
        complaint_sequence=complaint[1] if complaint else None,
        summary=summary[:AUDIT_SUMMARY_LENGTH],
        status_code=status_code,
        outcome=outcome_of(status_code).value,
    )


def append(engine: Engine, entry: AuditEntry) -> None:
    with write_session(engine) as session:
        session.add(entry)
        session.commit()


def _matching(
    query: Any,
    *,
    subject: str | None,
    complaint: tuple[int, int] | None,
    outcomes: Iterable[str],
    since: datetime | None,
    until: datetime | None,
) -> Any:
    """`query` narrowed to the entries the filters select (one home for the page and its
    count)."""
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
    return query


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
    query = _matching(
        select(AuditEntry),
        subject=subject,
        complaint=complaint,
        outcomes=outcomes,
        since=since,
        until=until,
    )
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    query = query.order_by(col(AuditEntry.id).desc()).limit(limit)
    with read_session(engine) as session:
        return list(session.exec(query))


def count(
    engine: Engine,
    *,
    subject: str | None = None,
    complaint: tuple[int, int] | None = None,
    outcomes: Iterable[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many entries the same filters select in all (every page of `entries`)."""
    query = _matching(
        select(func.count()).select_from(AuditEntry),
        subject=subject,
        complaint=complaint,
        outcomes=outcomes,
        since=since,
        until=until,
    )
    with read_session(engine) as session:
        return int(session.exec(query).one())
