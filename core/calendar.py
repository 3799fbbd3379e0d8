"""The review calendar, in India Standard Time.

Weekly review: every Tuesday. Sidhi Baat: the last Tuesday of each month (the Tuesday whose
following Tuesday falls in the next month). A case escalated before the agenda cutoff (the day
before, at the cutoff time) goes to that session; after it, to the following one.

Pure functions of their arguments: safe inside workflow code (give them `workflow.now()`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, field_serializer

IST = timezone(timedelta(hours=5, minutes=30), "IST")


class IstModel(BaseModel):
    """A model whose times are written in IST (`+05:30`) in JSON: every model the API returns
    derives from it (a test checks), so there is one clock in every answer. Only the offset
    changes: the moment is the same, and read back it compares equal."""

    # Unannotated on purpose: an annotated return type would replace every field's own type
    # in the JSON schema (the OpenAPI document would lose its `date-time` formats).
    @field_serializer("*", mode="wrap", when_used="json")
    def _in_ist(self, value, handler):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(IST)
        return handler(value)


# The years the centre's calendar reasons about: a date outside is a mistake, not a plan
# (and 9999-12-28 plus a rollover day would overflow).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def within_calendar(value: date) -> date:
    """`value` if it lies in FIRST_YEAR..LAST_YEAR, else ValueError (an API 422)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must lie between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31")
    return value


def assume_ist(value: datetime) -> datetime:
    """A date/time given without an offset (or a date alone, read as its midnight) is read as
    India Standard Time; one with an offset is kept. The one rule for every time the API
    takes in; it must lie within the calendar's years (`within_calendar`)."""
    within_calendar(value.date())
    return value.replace(tzinfo=IST) if value.tzinfo is None else value


# A time in a request: zone-less or date-only values are IST (`assume_ist`).
IstDateTime = Annotated[datetime, AfterValidator(assume_ist)]
# A session's day in a URL.
CalendarDay = Annotated[date, AfterValidator(within_calendar)]
TUESDAY = 1  # date.weekday()


class SessionKind(StrEnum):
    WEEKLY_REVIEW = "weekly_review"
    SIDHI_BAAT = "sidhi_baat"


def to_ist(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the calendar needs an aware moment")
    return moment.astimezone(IST)


def is_last_tuesday(day: date) -> bool:
    return day.weekday() == TUESDAY and (day + timedelta(days=7)).month != day.month


def last_tuesday_of_month(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    last_day = first_of_next - timedelta(days=1)
    return last_day - timedelta(days=(last_day.weekday() - TUESDAY) % 7)


def _tuesdays_from(day: date) -> date:
    return day + timedelta(days=(TUESDAY - day.weekday()) % 7)


def session_start(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=IST)


def next_session(
    kind: SessionKind, after: datetime, *, at: time, cutoff_before: timedelta
) -> datetime:
    """The start of the first session of `kind` whose agenda cutoff is still ahead of `after`.

    `at` is the session's time of day (IST); the cutoff is `cutoff_before` ahead of the start.
    """
    moment = to_ist(after)
    candidate = _tuesdays_from(moment.date())
    while True:
        if kind is SessionKind.SIDHI_BAAT and not is_last_tuesday(candidate):
            candidate = last_tuesday_of_month(candidate.year, candidate.month)
        start = session_start(candidate, at)
        if moment < start - cutoff_before:
            return start
        candidate = candidate + timedelta(days=7)


def session_id(kind: SessionKind, start: datetime) -> str:
    """Business key of a session, e.g. `weekly-review-2026-12-01`."""
    return f"{kind.value.replace('_', '-')}-{to_ist(start).date().isoformat()}"


def upcoming_sessions(
    kind: SessionKind, after: datetime, *, at: time, count: int, open_for: timedelta
) -> list[datetime]:
    """The starts of the next `count` sessions of `kind` still open at `after`.

    A session is open until `open_for` after its start (the rollover moment), so the one
    running now is included. Built on `next_session` with no cutoff, so Sidhi Baat dates are
    last Tuesdays by the same rule as the complaints use.
    """
    starts: list[datetime] = []
    moment = after - open_for
    while len(starts) < count:
        start = next_session(kind, moment, at=at, cutoff_before=timedelta(0))
        starts.append(start)
        moment = start
    return starts
