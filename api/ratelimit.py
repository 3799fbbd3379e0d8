"""Abuse controls: rate limits for public tracking, and the per-phone daily limit.

Rate limits are fixed-window counters in the read-model database, so a limit holds across
every API replica.

A counter is one row per (key, window): bumped by one atomic upsert (`INSERT ... ON CONFLICT DO
UPDATE ... RETURNING`, on SQLite and PostgreSQL alike), so concurrent requests on several
replicas never lose a count. Windows are aligned to the epoch; a refused request is told when
the current window ends (`Retry-After`). Rows of windows that ended long ago are deleted as new
windows open. Keys never hold a phone number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.errors import localised_details
from core.db import read_session, write_session
from core.models import Complaint, RateCounter, TimelineEvent, utcnow
from schemas.calendar import IST, to_ist
from schemas.refusals import english

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Counter rows are kept this long after their window started (longer than any window).
_RETAIN = timedelta(days=1)
_TABLE: sa.Table = RateCounter.__table__  # type: ignore[attr-defined]


class RateLimited(Exception):
    """Answered 429 with `Retry-After` (seconds) and the cause: the refusal `reason` (a key of
    `schemas.refusals`) worded as `detail` (English) and `detail_<code>`, and `errors`."""

    def __init__(self, reason: str, *, retry_after: int, field: str, **params: Any) -> None:
        self.reason = reason
        self.params = params
        self.detail = english(reason, params)
        super().__init__(self.detail)
        self.retry_after = max(1, retry_after)
        self.field = field


@dataclass(frozen=True)
class Window:
    """A fixed window of `seconds`, aligned to the epoch."""

    seconds: int

    def start(self, now: datetime) -> datetime:
        elapsed = int((now - _EPOCH).total_seconds())
        return _EPOCH + timedelta(seconds=elapsed - elapsed % self.seconds)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window containing `now` ends."""
        end = self.start(now) + timedelta(seconds=self.seconds)
        return math.ceil((end - now).total_seconds())


@dataclass(frozen=True)
class Counter:
    """A counter key with its limit: blocked once `count >= limit` in the current window."""

    key: str
    limit: int
    reason: str = field(compare=False)  # a key of schemas.refusals
    params: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    field: str = field(default="client", compare=False)


def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_TABLE).values(
        key=sa.bindparam("key"), window_start=sa.bindparam("start"), count=1
    )
    return statement.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"count": _TABLE.c.count + 1}
    ).returning(_TABLE.c.count)


def hit(engine: Engine, key: str, window: Window, *, now: datetime) -> int:
    """Count one event for `key` in the current window; the window's count including it."""
    start = window.start(now)
    with write_session(engine) as session:
        count = int(
            session.execute(_upsert(engine.dialect.name), {"key": key, "start": start}).scalar_one()
        )
        if count == 1:  # a new window opened: forget windows that ended long ago
            session.execute(
                sa.delete(_TABLE).where(_TABLE.c.window_start < start - max(_RETAIN, _span(window)))
            )
        session.commit()
    return count


REFUSED_WINDOW = Window(seconds=60)


def count_refused(engine: Engine, key: str) -> int:
    """Refused anonymous requests of `key` (address and route) in the current minute, this
    one included (the audit trail's flood guard)."""
    return hit(engine, f"refused:{key}"[:120], REFUSED_WINDOW, now=utcnow())


def _span(window: Window) -> timedelta:
    return timedelta(seconds=window.seconds)


def counts(engine: Engine, keys: Iterable[str], window: Window, *, now: datetime) -> dict[str, int]:
    """The current window's count of each key (0 when none)."""
    wanted = list(keys)
    with read_session(engine) as session:  # a read: no write lock on SQLite
        rows = session.execute(
            sa.select(_TABLE.c.key, _TABLE.c.count).where(
                _TABLE.c.key.in_(wanted), _TABLE.c.window_start == window.start(now)
            )
        ).all()
    found: dict[str, int] = {str(key): int(str(count)) for key, count in rows}
    return {key: found.get(key, 0) for key in wanted}


def refuse_if_blocked(
    engine: Engine, counters: Iterable[Counter], window: Window, *, now: datetime
) -> None:
    """Raise `RateLimited` for the first counter that has reached its limit in this window."""
    wanted = list(counters)
    current = counts(engine, (c.key for c in wanted), window, now=now)
    for counter in wanted:
        if current[counter.key] >= counter.limit:
            raise RateLimited(
                counter.reason,
                retry_after=window.retry_after(now),
                field=counter.field,
                **dict(counter.params),
            )


def install(app: FastAPI) -> None:
    """Answer `RateLimited` as 429 with `Retry-After`, in the API's error shape."""

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, err: RateLimited) -> JSONResponse:
        return JSONResponse(
            {
                "detail": err.detail,
                **localised_details(err.reason, err.params),
                "reason": err.reason,
                "retry_after_seconds": err.retry_after,
                "errors": [{"field": err.field, "message": err.detail}],
            },
            status_code=429,
            headers={"Retry-After": str(err.retry_after)},
        )


# ---- the per-phone daily limit at intake ---------------------------------------------------

OVERRIDE_EVENT = "daily_limit_overridden"


@dataclass(frozen=True)
class LimitOverride:
    """A telecaller's permission for one complaint beyond the phone's daily limit."""

    by: str  # the principal's subject
    reason: str


class PhoneLimitReached(Exception):
    """The phone number has filed its complaints for the day (IST)."""

    def __init__(self, limit: int, *, retry_after: int) -> None:
        super().__init__(f"daily limit of {limit} reached")
        self.limit = limit
        self.retry_after = retry_after

    def as_rate_limited(self, helpline: str) -> RateLimited:
        return RateLimited(
            "daily_limit",
            retry_after=self.retry_after,
            field="citizen.phone",
            limit=self.limit,
            helpline=helpline,
        )


def ist_day(now: datetime) -> tuple[datetime, datetime]:
    """The IST calendar day containing `now`: its start and the next day's start."""
    start = datetime.combine(to_ist(now).date(), time(0), tzinfo=IST)
    return start, start + timedelta(days=1)


def check_phone_limit(
    session: Session, phone: str, *, now: datetime, limit: int, override: LimitOverride | None
) -> TimelineEvent | None:
    """Inside the registration transaction (after the registration counter was bumped, which
    serialises registrations, so concurrent requests cannot both take the last place): raise
    `PhoneLimitReached` when `phone` has filed `limit` complaints today (0: no limit). With a
    telecaller's override, the timeline entry recording it instead (complaint_id to be set)."""
    if limit <= 0:
        return None
    start, end = ist_day(now)
    filed: int = session.execute(
        sa.select(sa.func.count())
        .select_from(Complaint)
        .where(
            Complaint.citizen_phone == phone,  # type: ignore[arg-type]
            Complaint.created_at >= start,  # type: ignore[arg-type]
            Complaint.created_at < end,  # type: ignore[arg-type]
        )
    ).scalar_one()
    if filed < limit:
        return None
    if override is None:
        raise PhoneLimitReached(limit, retry_after=math.ceil((end - now).total_seconds()))
    return TimelineEvent(
        complaint_id=0,
        seq=0,  # the workflow numbers its own events from 1
        at=now,
        event=OVERRIDE_EVENT,
        actor=override.by,
        note=f"{override.reason} (complaint {filed + 1} today from this phone; limit {limit})",
    )
