"""The review calendar and the working-day calendar, in India Standard Time.

Weekly review: every Tuesday. Sidhi Baat: the last Tuesday of each month (the Tuesday whose
following Tuesday falls in the next month). A case escalated before the agenda cutoff (the day
before, at the cutoff time) goes to that session; after it, to the following one. A session
whose day is not a working day (a gazetted holiday: 26 January 2027, Republic Day, is the last
Tuesday of January) moves to the next working day, or is skipped (`WorkingCalendar`).

Pure functions of their arguments: safe inside workflow code (give them `workflow.now()` and
the calendar the case carries in its policy; nothing here reads a file or the clock).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
)

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
    """The shipped forums' session kinds (`schemas.escalation.Forum.session_kind`); a ladder
    file names its own forums' kinds (a `Kind`)."""

    DC_REVIEW = "dc_review"
    WEEKLY_REVIEW = "weekly_review"
    SIDHI_BAAT = "sidhi_baat"


# A session kind in a model: a member when the code knows it, else a ladder's own (at most 20
# characters: `review_session.kind`).
Kind = Annotated[
    SessionKind | Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]*[a-z]$", max_length=20)],
    Field(union_mode="left_to_right"),
]


class SessionOnHoliday(StrEnum):
    """What becomes of a session whose day is not a working day."""

    NEXT_WORKING_DAY = "next_working_day"  # held on the next working day, same time
    SKIP = "skip"  # not held: its cases go to the following session of the kind


class Holiday(BaseModel):
    """One gazetted holiday (an IST date): national (the `holidays` package) or the state's
    own (`HOLIDAYS_FILE`, see `core.holidays`)."""

    model_config = ConfigDict(frozen=True)

    day: date
    name: str


SUNDAY, SATURDAY = 6, 5  # date.weekday()
# No state closes its offices for this long: a calendar that does is a mistake, not a plan.
_MAX_DAYS_OFF = 60


class WorkingCalendar(BaseModel):
    """The days offices work: not Sundays, not second Saturdays (if `second_saturday_off`),
    not gazetted `holidays` (IST dates). `day_ends` is the end of the working day (IST), the
    time of day a deadline counted in days falls at (None: the time of day the work arrived);
    `session_on_holiday` moves or skips a session that falls on a day off. Built from the
    case's policy (`Policy.working_calendar`), so it travels in the workflow input and
    replays identically."""

    model_config = ConfigDict(frozen=True)

    holidays: frozenset[date] = frozenset()
    second_saturday_off: bool = False
    day_ends: time | None = time(17, 0)
    session_on_holiday: SessionOnHoliday = SessionOnHoliday.NEXT_WORKING_DAY


def is_second_saturday(day: date) -> bool:
    return day.weekday() == SATURDAY and 8 <= day.day <= 14


def is_working_day(day: date, calendar: WorkingCalendar) -> bool:
    """Whether offices work on `day` (IST date) under `calendar`."""
    if day.weekday() == SUNDAY or day in calendar.holidays:
        return False
    return not (calendar.second_saturday_off and is_second_saturday(day))


def next_working_day(day: date, calendar: WorkingCalendar) -> date:
    """`day` itself if offices work on it, else the first working day after it.

    Raises ValueError if none falls within 60 days (a calendar that closes offices that long
    is a configuration mistake)."""
    for offset in range(_MAX_DAYS_OFF + 1):
        candidate = day + timedelta(days=offset)
        if is_working_day(candidate, calendar):
            return candidate
    raise ValueError(f"no working day within {_MAX_DAYS_OFF} days of {day.isoformat()}")


def end_of_working_day(moment: datetime, calendar: WorkingCalendar) -> datetime:
    """A deadline counted in calendar days, as the office reads it: the end of the working
    day (`calendar.day_ends`, IST) on the IST date of `moment`, or on the next working day if
    that date is a day off. Never at the time of day the call was taken."""
    local = to_ist(moment)
    day = next_working_day(local.date(), calendar)
    return datetime.combine(day, calendar.day_ends or local.time(), tzinfo=IST)


def add_working_days(start: datetime, days: int, calendar: WorkingCalendar) -> datetime:
    """The end (`calendar.day_ends`, IST) of the `days`-th working day after the IST date of
    `start` (the day the work arrived does not count). `days` >= 1, else ValueError.

    Example: registered Friday 22 Jan 2027 04:32 with 3 working days: Saturday 23 (if not a
    second Saturday), Monday 25, Wednesday 27 (26 is Republic Day) → 27 Jan 2027 17:00 IST."""
    if days < 1:
        raise ValueError("a deadline in working days needs at least 1 day")
    local = to_ist(start)
    day = local.date()
    for _ in range(days):
        day = next_working_day(day + timedelta(days=1), calendar)
    return datetime.combine(day, calendar.day_ends or local.time(), tzinfo=IST)


def to_ist(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the calendar needs an aware moment")
    return moment.astimezone(IST)


def fmt_ist(moment: datetime | None) -> str:
    """A moment as people read it in SMS, timelines and refusals: `15-12-2026 17:00` (IST);
    `-` for none."""
    return to_ist(moment).strftime("%d-%m-%Y %H:%M") if moment else "-"


def fmt_ist_date(moment: datetime) -> str:
    """The IST day of a moment as people read it in SMS and refusals: `15-12-2026`."""
    return to_ist(moment).strftime("%d-%m-%Y")


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


def _held_on(day: date, calendar: WorkingCalendar | None) -> date | None:
    """The day a session due on `day` is held: `day`, the next working day, or None
    (skipped)."""
    if calendar is None or is_working_day(day, calendar):
        return day
    if calendar.session_on_holiday is SessionOnHoliday.SKIP:
        return None
    return next_working_day(day, calendar)


def next_session(
    kind: str,
    after: datetime,
    *,
    at: time,
    cutoff_before: timedelta,
    calendar: WorkingCalendar | None = None,
) -> datetime:
    """The start of the first session of `kind` whose agenda cutoff is still ahead of `after`.

    `at` is the session's time of day (IST); the cutoff is `cutoff_before` ahead of the start.
    With a `calendar`, a session due on a day off is held on the next working day (or skipped,
    `session_on_holiday`): the start returned is the real one.
    """
    moment = to_ist(after)
    start_day = moment.date()
    if calendar is not None:
        # A session due before `after` may have moved past it (Tuesday 26 January 2027 held
        # on Wednesday 27): look from far enough back for any moved session to be seen.
        start_day -= timedelta(days=_MAX_DAYS_OFF)
    candidate = _tuesdays_from(start_day)
    while True:
        if kind == SessionKind.SIDHI_BAAT and not is_last_tuesday(candidate):
            candidate = last_tuesday_of_month(candidate.year, candidate.month)
        held = _held_on(candidate, calendar)
        if held is not None:
            start = session_start(held, at)
            if moment < start - cutoff_before:
                return start
        candidate = candidate + timedelta(days=7)


def upcoming_sessions(
    kind: str,
    after: datetime,
    *,
    at: time,
    count: int,
    open_for: timedelta,
    calendar: WorkingCalendar | None = None,
) -> list[datetime]:
    """The starts of the next `count` sessions of `kind` still open at `after`.

    A session is open until `open_for` after its start (the rollover moment), so the one
    running now is included. Built on `next_session` with no cutoff, so Sidhi Baat dates are
    last Tuesdays (moved off holidays by `calendar`) by the same rule as the complaints use.
    """
    starts: list[datetime] = []
    moment = after - open_for
    while len(starts) < count:
        start = next_session(kind, moment, at=at, cutoff_before=timedelta(0), calendar=calendar)
        starts.append(start)
        moment = start
    return starts
