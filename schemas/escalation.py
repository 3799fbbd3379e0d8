"""The escalation ladder as data: ordered rungs, each with a stable code apart from its rank.

A rung is where a case waits: with the nodal officer (no forum), or on the agenda of a review
forum (its session kind, the day rule that says when it sits, its time, agenda cutoff and
rollover bound). `next` names the rung a case goes to when it escalates from there; the top
rung names itself (a case undecided at Sidhi Baat rolls over to the next one, counted). Codes
never change when a rung is inserted: ranks order the rungs, codes identify them, so stored
and running cases keep their meaning.

Two ladders are defined:

- `JHARKHAND` (the seed's, the default): nodal officer → weekly review (CM's secretary, every
  Tuesday) → Sidhi Baat (CM, last Tuesday of the month). `level` maps each rung to the
  `EscalationLevel` value stored today (0, 1, 2), which keeps its meaning.
- `DISTRICT_COLLECTOR`: a District Collector (Deputy Commissioner, उपायुक्त) review between the
  nodal officer and the weekly review, held by each district's DC on a weekday the
  configuration names (`weekday_by_district`, default Friday).

Status of this module (issue 17, part 3): `workflows.rules.escalation_target` derives the
seed ladder's escalation from `JHARKHAND`; the District Collector ladder is defined and
validated, its calendar rule and labels tested, but no workflow runs it yet (the DC rung's
status, session kind, schedules, API routes and SMS forum name are still to come) — so it is
not selectable by configuration.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.calendar import (
    IST,
    WorkingCalendar,
    is_working_day,
    next_working_day,
    to_ist,
)


class DayRule(StrEnum):
    """When a forum sits."""

    EVERY_WEEK = "every_week"  # every `weekday`
    LAST_OF_MONTH = "last_of_month"  # the last `weekday` of each month


class Forum(BaseModel):
    """A review forum: its session kind (the session IDs' and routes' name), when it sits,
    and how long an undecided case may wait there (`max_rollovers` sessions in a row, then the
    next rung; None only on the top rung, whose rollovers are counted and shown)."""

    model_config = ConfigDict(frozen=True)

    session_kind: str = Field(pattern="^[a-z][a-z_]{1,18}[a-z]$")  # fits VARCHAR(20)
    day_rule: DayRule
    weekday: int = Field(ge=0, le=6)  # date.weekday(): Monday 0 ... Sunday 6
    # A weekday per district (canonical name) for forums held by each district.
    weekday_by_district: dict[str, int] = {}
    session_time: time = time(11, 0)
    agenda_cutoff_before: timedelta = timedelta(hours=17)
    rollover_after: timedelta = timedelta(days=1)
    max_rollovers: int | None = Field(default=None, ge=1)

    def weekday_for(self, district: str | None) -> int:
        if district is not None:
            return self.weekday_by_district.get(district, self.weekday)
        return self.weekday


class Rung(BaseModel):
    """One rung: identity (`code`), order (`rank`), the case status and stored
    `EscalationLevel` value while there, its forum (None: with the officer), the rung it
    escalates to, and its labels for citizens, SMS and agendas (`en`, `hi`)."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern="^[a-z][a-z_]*[a-z]$", max_length=20)
    rank: int
    status: str
    level: int = Field(ge=0)
    forum: Forum | None = None
    next: str
    labels: dict[str, str]


class Ladder(BaseModel):
    """An ordered ladder of rungs; validated on construction (ValueError naming the rung)."""

    model_config = ConfigDict(frozen=True)

    name: str
    rungs: tuple[Rung, ...]

    @model_validator(mode="after")
    def _well_formed(self) -> Ladder:
        codes = [r.code for r in self.rungs]
        if len(set(codes)) != len(codes):
            raise ValueError(f"ladder {self.name}: rung codes must be unique: {codes}")
        ranks = [r.rank for r in self.rungs]
        if ranks != sorted(set(ranks)):
            raise ValueError(f"ladder {self.name}: ranks must increase down the list: {ranks}")
        if not self.rungs or self.rungs[0].forum is not None:
            raise ValueError(f"ladder {self.name}: the first rung is the officer's (no forum)")
        by_code = {r.code: r for r in self.rungs}
        for rung in self.rungs:
            target = by_code.get(rung.next)
            if target is None:
                raise ValueError(f"rung {rung.code}: next rung {rung.next!r} is not on the ladder")
            if target.rank < rung.rank or (target is rung and rung is not self.rungs[-1]):
                raise ValueError(f"rung {rung.code}: escalation must go up the ladder")
            if not {"en", "hi"} <= {k for k, v in rung.labels.items() if v.strip()}:
                raise ValueError(f"rung {rung.code}: needs labels in en and hi")
            if rung is not self.rungs[0] and rung.forum is None:
                raise ValueError(f"rung {rung.code}: every rung above the officer's has a forum")
            if rung.forum and rung.forum.max_rollovers is None and rung is not self.rungs[-1]:
                raise ValueError(f"rung {rung.code}: needs a rollover bound (max_rollovers)")
        if self.rungs[-1].next != self.rungs[-1].code:
            raise ValueError(f"ladder {self.name}: the top rung escalates to itself")
        return self

    def rung(self, code: str) -> Rung:
        """The rung with `code`; KeyError if none."""
        for rung in self.rungs:
            if rung.code == code:
                return rung
        raise KeyError(code)

    def for_level(self, level: int) -> Rung:
        """The rung whose stored `EscalationLevel` value is `level`; KeyError if none."""
        for rung in self.rungs:
            if rung.level == level:
                return rung
        raise KeyError(level)

    def next_rung(self, code: str) -> Rung:
        """Where a case escalates from the rung `code`."""
        return self.rung(self.rung(code).next)


def next_sitting(
    forum: Forum,
    after: datetime,
    *,
    district: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> datetime:
    """The start (IST) of the first sitting of `forum` whose agenda cutoff is ahead of `after`:
    its day rule, the district's weekday, and a sitting due on a day off moved to the next
    working day (`calendar`; skipping follows `core.calendar.next_session`)."""
    weekday = forum.weekday_for(district)
    moment = to_ist(after)
    day = moment.date() - timedelta(days=60 if calendar is not None else 0)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while True:
        if forum.day_rule is DayRule.LAST_OF_MONTH and (day + timedelta(days=7)).month == day.month:
            day += timedelta(days=7)
            continue
        held: date = day
        if calendar is not None and not is_working_day(day, calendar):
            held = next_working_day(day, calendar)
        start = datetime.combine(held, forum.session_time, tzinfo=IST)
        if moment < start - forum.agenda_cutoff_before:
            return start
        day += timedelta(days=7)


_TUESDAY, _FRIDAY = 1, 4

NODAL_OFFICER = Rung(
    code="nodal_officer",
    rank=0,
    status="awaiting_report",
    level=0,
    next="weekly_review",
    labels={"en": "With the nodal officer", "hi": "नोडल पदाधिकारी के पास"},
)
WEEKLY_REVIEW = Rung(
    code="weekly_review",
    rank=20,
    status="weekly_review",
    level=1,
    forum=Forum(
        session_kind="weekly_review", day_rule=DayRule.EVERY_WEEK, weekday=_TUESDAY, max_rollovers=4
    ),
    next="sidhi_baat",
    labels={
        "en": "CM secretary's weekly review",
        "hi": "मुख्यमंत्री सचिव की साप्ताहिक समीक्षा बैठक",
    },
)
SIDHI_BAAT = Rung(
    code="sidhi_baat",
    rank=30,
    status="sidhi_baat",
    level=2,
    forum=Forum(session_kind="sidhi_baat", day_rule=DayRule.LAST_OF_MONTH, weekday=_TUESDAY),
    next="sidhi_baat",
    labels={"en": "CM's Sidhi Baat", "hi": "मुख्यमंत्री की सीधी बात"},
)

JHARKHAND = Ladder(name="jharkhand", rungs=(NODAL_OFFICER, WEEKLY_REVIEW, SIDHI_BAAT))

DISTRICT_COLLECTOR = Ladder(
    name="district_collector",
    rungs=(
        NODAL_OFFICER.model_copy(update={"next": "dc_review"}),
        Rung(
            code="dc_review",
            rank=10,
            status="dc_review",
            # A stored level of its own: 0-2 keep their meaning on every ladder.
            level=3,
            forum=Forum(
                session_kind="dc_review",
                day_rule=DayRule.EVERY_WEEK,
                weekday=_FRIDAY,
                max_rollovers=2,
            ),
            next="weekly_review",
            labels={
                "en": "District Collector's review",
                "hi": "उपायुक्त की समीक्षा बैठक",
            },
        ),
        WEEKLY_REVIEW,
        SIDHI_BAAT,
    ),
)

LADDERS = {ladder.name: ladder for ladder in (JHARKHAND, DISTRICT_COLLECTOR)}
