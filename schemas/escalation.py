"""The escalation ladder as data: ordered rungs, each with a stable code apart from its rank.

A rung is where a case waits: with the nodal officer (no forum), or on the agenda of a review
forum (its session kind, the day rule that says when it sits, its time, agenda cutoff and
rollover bound). `next` names the rung a case goes to when it escalates from there; the top
rung names itself (a case undecided at Sidhi Baat rolls over to the next one, counted). Codes
never change when a rung is inserted: ranks order the rungs, codes identify them, so stored
and running cases keep their meaning. A rung's names are given here in English, keyed `en`:
`labels` (agendas, pages), `sms_names` (the `{forum}` of an SMS, at most 30 characters: a DLT
variable) and `status_labels` (what a citizen tracking the case reads). Other languages come
from the `names` catalogue (contexts `forum`, `forum|sms`, `status`), like every other name;
a ladder file may also give a rung's names in a language itself (`"hi": ...`).

Two ladders are shipped (`LADDERS`), chosen by the setting LADDER, or replaced by a
LADDER_FILE (JSON, validated by these models, see `load_ladder`):

- `JHARKHAND` (the seed's, the default): nodal officer → weekly review (CM's secretary, every
  Tuesday) → Sidhi Baat (CM, last Tuesday of the month). `level` maps each rung to the
  `EscalationLevel` value stored today (0, 1, 2), which keeps its meaning.
- `DISTRICT_COLLECTOR`: a District Collector (Deputy Commissioner, उपायुक्त) review between the
  nodal officer and the weekly review, one session per district, held by each district's DC on
  a weekday the configuration names (`weekday_by_district`, DISTRICT_REVIEW_DAYS; default
  Friday).

A ladder file defines its own words: a rung's `status` and `level` and its forum's
`session_kind` are strings (numbers) the file names, checked when it is loaded; a forum is held
for the whole state, per district, or per division (`divisions` in the file). The process's
configured ladder (`configure`) is read, with the shipped ones, by everything that names a
status, kind or level outside workflows (pages, metrics, agendas, session ids): docs/ladders.md.

The ladder a case was registered under travels in its workflow input (like its policy), so a
running case keeps its ladder when the configuration changes.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.calendar import (
    IST,
    Kind,
    SessionKind,
    SessionOnHoliday,
    WorkingCalendar,
    is_working_day,
    next_working_day,
    to_ist,
)
from schemas.enums import (
    LIFECYCLE_STATUSES,
    ComplaintStatus,
    EscalationLevel,
    Level,
    Status,
)
from schemas.i18n import local_name
from schemas.policy import Policy
from schemas.reference import DISTRICTS, DLT_VARIABLE_MAX, canonical_district
from schemas.visible import refuse_hidden, require_letter

# The read model's session id column (review_session.session_id, VARCHAR(40)): a longer id
# is shortened deterministically (`session_id`).
SESSION_ID_MAX = 40

# Who holds a forum's sessions: one for the whole state, one per district, one per division.
HeldBy = Literal["state", "district", "division"]


class DayRule(StrEnum):
    """When a forum sits."""

    EVERY_WEEK = "every_week"  # every `weekday`
    LAST_OF_MONTH = "last_of_month"  # the last `weekday` of each month


class Forum(BaseModel):
    """A review forum: its session kind (the session IDs' and routes' name), when it sits,
    and how long an undecided case may wait there (`max_rollovers` sessions in a row, then the
    next rung; None only on the top rung, whose rollovers are counted and shown).

    `held_by`: `state` (one session per sitting), `district` (one per district per sitting,
    each district's own weekday from `weekday_by_district`, else `weekday`) or `division` (one
    per division per sitting: `divisions` names each division's districts, every district in
    exactly one). `per_district` is `held_by == "district"` (a file may say either).
    `prepared_at`: the code of a lower rung whose sessions prepare a case bound here ("awaiting
    Sidhi Baat" on the weekly review's agenda). `invites_citizens`: citizens who asked to meet
    the Chief Minister are invited by SMS. `chair`: who chairs its sessions (the minutes')."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    session_kind: Kind
    day_rule: DayRule
    weekday: int = Field(ge=0, le=6)  # date.weekday(): Monday 0 ... Sunday 6
    # A weekday per district (canonical name) for forums held by each district.
    weekday_by_district: dict[str, int] = {}
    held_by: HeldBy = "state"
    per_district: bool = False
    # Division name -> its districts (canonical names), for a forum held per division.
    divisions: dict[str, tuple[str, ...]] = {}
    session_time: time = time(11, 0)
    agenda_cutoff_before: timedelta = timedelta(hours=17)
    rollover_after: timedelta = timedelta(days=1)
    max_rollovers: int | None = Field(default=None, ge=1)
    prepared_at: str | None = None
    invites_citizens: bool = False
    # Who chairs its sessions, as the minutes name them (English, 1 to 80 characters with a
    # letter and no hidden or control character; other languages from the `names` catalogue,
    # context `forum|chair`). None: the shipped forums' chairs by kind, else none named. Read
    # by the pages from the configured ladder only: left out of every dump, so that the forum
    # in a workflow's payload (a case's ladder, a planner's input) stays as a 1.0 worker reads
    # it (its forums forbid unknown fields).
    chair: str | None = Field(default=None, min_length=1, max_length=80, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _held_by_district(cls, data: Any) -> Any:
        """`per_district: true` (files written before `held_by`) is `held_by: "district"`;
        `per_district` always says whether the forum is held by districts."""
        if not isinstance(data, dict):
            return data
        if data.get("per_district") and data.get("held_by", "district") != "district":
            raise ValueError("per_district: true contradicts held_by (say held_by alone)")
        held_by = "district" if data.get("per_district") else data.get("held_by", "state")
        return {**data, "held_by": held_by, "per_district": held_by == "district"}

    @field_validator("chair")
    @classmethod
    def _chair_readable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value != value.strip() or any(unicodedata.category(c) == "Cc" for c in value):
            raise ValueError("a chair is one line without surrounding spaces")
        return require_letter(refuse_hidden(value))

    @model_validator(mode="after")
    def _districts_known(self) -> Forum:
        for district, weekday in self.weekday_by_district.items():
            if canonical_district(district) != district:
                raise ValueError(f"weekday_by_district: unknown district {district!r}")
            if not 0 <= weekday <= 6:
                raise ValueError(f"weekday_by_district.{district}: a weekday is 0 (Mon) to 6")
        if self.held_by != "division":
            if self.divisions:
                raise ValueError("divisions: only a forum held_by division has divisions")
            return self
        if not self.divisions:
            raise ValueError("divisions: a forum held_by division names its divisions")
        seen: dict[str, str] = {}
        for division, districts in self.divisions.items():
            if not division.strip() or len(division) > 60:
                raise ValueError(
                    f"divisions: a division's name is 1 to 60 characters: {division!r}"
                )
            for district in districts:
                if canonical_district(district) != district:
                    raise ValueError(f"divisions.{division}: unknown district {district!r}")
                if district in seen:
                    raise ValueError(
                        f"divisions.{division}: {district} is already in {seen[district]}"
                    )
                seen[district] = division
        missing = [d for d in DISTRICTS if d not in seen]
        if missing:
            raise ValueError(f"divisions: districts in no division: {', '.join(missing)}")
        return self

    def place_of(self, district: str | None) -> str | None:
        """Where the session a case of `district` goes to is held: the district, its
        division, or None (the whole state)."""
        if self.held_by == "district":
            return district
        if self.held_by == "division" and district is not None:
            for division, districts in self.divisions.items():
                if district in districts:
                    return division
        return None

    def places(self) -> tuple[str | None, ...]:
        """Every place that holds a session of this forum at each sitting (None: the state)."""
        if self.held_by == "district":
            return DISTRICTS
        if self.held_by == "division":
            return tuple(self.divisions)
        return (None,)

    def weekday_for(self, district: str | None) -> int:
        if district is not None:
            return self.weekday_by_district.get(district, self.weekday)
        return self.weekday

    def weekdays(self) -> frozenset[int]:
        """Every weekday a session of this forum is due on (the planner's trigger days)."""
        return frozenset({self.weekday, *self.weekday_by_district.values()})


class Rung(BaseModel):
    """One rung: identity (`code`), order (`rank`), the case status and stored level (the
    shipped ones `EscalationLevel` values, a file's its own numbers) while there, its forum
    (None: with the officer), the rung it escalates to, and its names per language code (see
    the module's docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern="^[a-z][a-z_]*[a-z]$", max_length=20)
    rank: int
    # The officer's rung has `awaiting_report`; a forum's rung its own (its session kind).
    status: Status
    level: Level
    forum: Forum | None = None
    next: str
    labels: dict[str, str]
    sms_names: dict[str, str]
    status_labels: dict[str, str]

    def label(self, language: str) -> str:
        """The rung's name on agendas and pages, in `language`."""
        return self.labels.get(language) or local_name("forum", self.labels["en"], language)

    def sms_name(self, language: str) -> str:
        """The forum's name an SMS carries (at most 30 characters), in `language`."""
        return self.sms_names.get(language) or local_name(
            "forum|sms", self.sms_names["en"], language
        )


class Ladder(BaseModel):
    """An ordered ladder of rungs; validated on construction (ValueError naming the rung)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    rungs: tuple[Rung, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _well_formed(self) -> Ladder:
        codes = [r.code for r in self.rungs]
        if len(set(codes)) != len(codes):
            raise ValueError(f"ladder {self.name}: rung codes must be unique: {codes}")
        for field in ("status", "level"):
            values = [getattr(r, field) for r in self.rungs]
            for i, value in enumerate(values):
                if value in values[:i]:
                    raise ValueError(
                        f"rungs.{i}.{field}: '{value}' is already another rung's "
                        f"(each rung needs its own {field})"
                    )
        for i, rung in enumerate(self.rungs[1:], start=1):
            if rung.status in LIFECYCLE_STATUSES:
                raise ValueError(
                    f"rungs.{i}.status: '{rung.status}' is the lifecycle's own, not a forum's"
                )
        ranks = [r.rank for r in self.rungs]
        if ranks != sorted(set(ranks)):
            raise ValueError(f"ladder {self.name}: ranks must increase down the list: {ranks}")
        if not self.rungs or self.rungs[0].forum is not None:
            raise ValueError(f"ladder {self.name}: the first rung is the officer's (no forum)")
        if self.rungs[0].status != ComplaintStatus.AWAITING_REPORT or self.rungs[0].level:
            raise ValueError(
                f"rung {self.rungs[0].code}: the officer's rung has status awaiting_report, level 0"
            )
        by_code = {r.code: r for r in self.rungs}
        kinds = [r.forum.session_kind for r in self.rungs if r.forum]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"ladder {self.name}: each forum needs its own session_kind")
        for rung in self.rungs:
            target = by_code.get(rung.next)
            if target is None:
                raise ValueError(f"rung {rung.code}: next rung {rung.next!r} is not on the ladder")
            if target.rank < rung.rank or (target is rung and rung is not self.rungs[-1]):
                raise ValueError(f"rung {rung.code}: escalation must go up the ladder")
            for field in ("labels", "sms_names", "status_labels"):
                names: dict[str, str] = getattr(rung, field)
                if not names.get("en", "").strip():
                    raise ValueError(f"rung {rung.code}: {field} needs its English (en)")
            for lang, text in rung.sms_names.items():
                if len(text) > DLT_VARIABLE_MAX:
                    raise ValueError(
                        f"rung {rung.code}: sms_names.{lang} is longer than "
                        f"{DLT_VARIABLE_MAX} characters (a DLT variable)"
                    )
            if rung is self.rungs[0]:
                continue
            if rung.forum is None:
                raise ValueError(f"rung {rung.code}: every rung above the officer's has a forum")
            if str(rung.status) != str(rung.forum.session_kind):
                raise ValueError(
                    f"rung {rung.code}: status {rung.status} and forum.session_kind "
                    f"{rung.forum.session_kind} must be the same word"
                )
            if rung.forum.max_rollovers is None and rung is not self.rungs[-1]:
                raise ValueError(f"rung {rung.code}: needs a rollover bound (max_rollovers)")
            prepared = rung.forum.prepared_at
            if prepared is not None and (
                prepared not in by_code
                or by_code[prepared].forum is None
                or by_code[prepared].rank >= rung.rank
            ):
                raise ValueError(f"rung {rung.code}: prepared_at {prepared!r} is no forum below it")
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

    def for_kind(self, kind: str) -> Rung | None:
        """The rung whose forum's session kind is `kind` (None: no such forum here)."""
        for rung in self.rungs:
            if rung.forum is not None and rung.forum.session_kind == kind:
                return rung
        return None

    def next_rung(self, code: str) -> Rung:
        """Where a case escalates from the rung `code`."""
        return self.rung(self.rung(code).next)

    def forums(self) -> list[tuple[Rung, Forum]]:
        """The rungs that have a forum, in order, with it."""
        return [(rung, rung.forum) for rung in self.rungs if rung.forum is not None]


def next_sitting(
    forum: Forum,
    after: datetime,
    *,
    district: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> datetime:
    """The start (IST) of the first sitting of `forum` whose agenda cutoff is ahead of `after`:
    its day rule, the district's weekday, and a sitting due on a day off moved to the next
    working day or skipped (`calendar.session_on_holiday`, as `schemas.calendar.next_session`)."""
    weekday = forum.weekday_for(district)
    moment = to_ist(after)
    # A sitting due before `after` may have moved past it (a holiday): look from far back.
    day = moment.date() - timedelta(days=60 if calendar is not None else 0)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while True:
        if forum.day_rule is DayRule.LAST_OF_MONTH and (day + timedelta(days=7)).month == day.month:
            day += timedelta(days=7)
            continue
        held: date | None = day
        if calendar is not None and not is_working_day(day, calendar):
            skip = calendar.session_on_holiday is SessionOnHoliday.SKIP
            held = None if skip else next_working_day(day, calendar)
        if held is not None:
            start = datetime.combine(held, forum.session_time, tzinfo=IST)
            if moment < start - forum.agenda_cutoff_before:
                return start
        day += timedelta(days=7)


def upcoming_sittings(
    forum: Forum,
    after: datetime,
    *,
    count: int,
    district: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> list[datetime]:
    """The starts of the next `count` sittings of `forum` still open at `after` (open until
    `rollover_after` past the start, so the one running now is included): the planner's."""
    plain = forum.model_copy(update={"agenda_cutoff_before": timedelta(0)})
    starts: list[datetime] = []
    moment = after - forum.rollover_after
    while len(starts) < count:
        start = next_sitting(plain, moment, district=district, calendar=calendar)
        starts.append(start)
        moment = start
    return starts


def is_sitting_day(
    forum: Forum, day: date, *, district: str | None, calendar: WorkingCalendar | None
) -> bool:
    """Whether `forum` sits on `day` (for `district`), moved off holidays by `calendar`."""
    plain = forum.model_copy(update={"agenda_cutoff_before": timedelta(0)})
    midnight = datetime.combine(day, time(0), tzinfo=IST) - timedelta(minutes=1)
    start = next_sitting(plain, midnight, district=district, calendar=calendar)
    return start.date() == day


# ---- session ids: built and parsed here alone ---------------------------------------------

_SESSION_ID = re.compile(
    r"^(?P<kind>[a-z]+(?:-[a-z]+)*?)-(?P<day>\d{4}-\d{2}-\d{2})(?:-(?P<place>[a-z0-9-]+))?$"
)


def district_slug(district: str) -> str:
    """`Seraikela Kharsawan` -> `seraikela-kharsawan` (a session id's place part)."""
    return "-".join(district.lower().split())


def session_id(kind: str, start: datetime, district: str | None = None) -> str:
    """Business key of a session: `weekly-review-2026-12-01`, or for a forum held per
    district (or division) `dc-review-2027-01-08-ranchi`. An id longer than the read model's
    `SESSION_ID_MAX` keeps its first characters (kind and day, at most 31) and ends in a hash
    of the whole: `divcom-review-2027-01-08-seraik-1a2b3c4d`, the same for the same session."""
    sid = f"{kind.replace('_', '-')}-{to_ist(start).date().isoformat()}"
    if district is not None:
        sid += f"-{district_slug(district)}"
    if len(sid) > SESSION_ID_MAX:
        digest = hashlib.sha256(sid.encode()).hexdigest()[:8]
        sid = f"{sid[: SESSION_ID_MAX - 9].rstrip('-')}-{digest}"
    return sid


def parse_session_id(sid: str) -> tuple[SessionKind | str, date, str | None]:
    """The kind, day and place (a district, a configured ladder's division; None: a
    state-level forum) of a session id; ValueError if `sid` is not one `session_id` builds
    for a forum of the configured ladder or a shipped one."""
    found = _SESSION_ID.match(sid)
    if found is None:
        raise ValueError(f"not a session id: {sid!r}")
    kind, day = found["kind"].replace("-", "_"), found["day"]
    if not any(ladder.for_kind(kind) for ladder in ladders()):
        raise ValueError(f"session id {sid!r}: no forum of kind {kind!r}")
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"not a session id: {sid!r}") from None
    if found["place"] is None:
        return _as_kind(kind), when, None
    start = datetime.combine(when, time(12), tzinfo=IST)
    for place in (*DISTRICTS, *(p for f in _forums_held_by_division() for p in f.divisions)):
        if session_id(kind, start, place) == sid:
            return _as_kind(kind), when, place
    raise ValueError(f"session id {sid!r}: unknown place {found['place']!r}")


def _as_kind(kind: str) -> SessionKind | str:
    try:
        return SessionKind(kind)
    except ValueError:
        return kind


def _forums_held_by_division() -> list[Forum]:
    return [f for ladder in ladders() for _, f in ladder.forums() if f.held_by == "division"]


# ---- the shipped ladders ------------------------------------------------------------------

_TUESDAY, _FRIDAY = 1, 4

NODAL_OFFICER = Rung(
    code="nodal_officer",
    rank=0,
    status=ComplaintStatus.AWAITING_REPORT,
    level=EscalationLevel.NODAL_OFFICER,
    next="weekly_review",
    labels={"en": "Nodal officer"},
    sms_names={"en": "the nodal officer"},
    status_labels={"en": "With the department for action"},
)
WEEKLY_REVIEW = Rung(
    code="weekly_review",
    rank=20,
    status=ComplaintStatus.WEEKLY_REVIEW,
    level=EscalationLevel.WEEKLY_REVIEW,
    forum=Forum(
        session_kind=SessionKind.WEEKLY_REVIEW,
        day_rule=DayRule.EVERY_WEEK,
        weekday=_TUESDAY,
        max_rollovers=4,
    ),
    next="sidhi_baat",
    labels={"en": "Weekly review"},
    sms_names={"en": "CM secretary's weekly review"},
    status_labels={"en": "Escalated to the CM Secretary's weekly review"},
)
SIDHI_BAAT = Rung(
    code="sidhi_baat",
    rank=30,
    status=ComplaintStatus.SIDHI_BAAT,
    level=EscalationLevel.SIDHI_BAAT,
    forum=Forum(
        session_kind=SessionKind.SIDHI_BAAT,
        day_rule=DayRule.LAST_OF_MONTH,
        weekday=_TUESDAY,
        prepared_at="weekly_review",
        invites_citizens=True,
    ),
    next="sidhi_baat",
    labels={"en": "Sidhi Baat"},
    sms_names={"en": "CM's Sidhi Baat"},
    status_labels={"en": "Escalated to the Chief Minister's Sidhi Baat"},
)

JHARKHAND = Ladder(name="jharkhand", rungs=(NODAL_OFFICER, WEEKLY_REVIEW, SIDHI_BAAT))

DC_REVIEW = Rung(
    code="dc_review",
    rank=10,
    status=ComplaintStatus.DC_REVIEW,
    # A stored level of its own: 0-2 keep their meaning on every ladder.
    level=EscalationLevel.DC_REVIEW,
    forum=Forum(
        session_kind=SessionKind.DC_REVIEW,
        day_rule=DayRule.EVERY_WEEK,
        weekday=_FRIDAY,
        per_district=True,
        max_rollovers=2,
    ),
    next="weekly_review",
    labels={"en": "District Collector's review"},
    sms_names={"en": "District Collector's review"},
    status_labels={"en": "Escalated to the District Collector's review"},
)

DISTRICT_COLLECTOR = Ladder(
    name="district_collector",
    rungs=(
        NODAL_OFFICER.model_copy(update={"next": "dc_review"}),
        DC_REVIEW,
        WEEKLY_REVIEW,
        SIDHI_BAAT,
    ),
)

LADDERS = {ladder.name: ladder for ladder in (JHARKHAND, DISTRICT_COLLECTOR)}

# The ladder this process was configured with (LADDER, LADDER_FILE; `core.ladder` sets it at
# start), read with the shipped ones by everything outside workflows that names a status,
# kind or level: pages, metrics, agendas, session ids. Workflows read the case's own ladder.
_CONFIGURED: list[Ladder] = []


def configure(ladder: Ladder) -> None:
    """Make `ladder` the configured one (the process's LADDER / LADDER_FILE)."""
    _CONFIGURED[:] = [ladder]


def ladders() -> tuple[Ladder, ...]:
    """The configured ladder, then the shipped ones (the first that knows a word wins)."""
    return (*_CONFIGURED, *(ladder for ladder in LADDERS.values() if ladder not in _CONFIGURED))


def review_statuses() -> tuple[ComplaintStatus | str, ...]:
    """Statuses of a case on some forum's agenda: every rung with a forum, over the configured
    and the shipped ladders, in ladder order."""
    found: list[ComplaintStatus | str] = []
    for ladder in ladders():
        for rung in ladder.rungs:
            if rung.forum is not None and rung.status not in found:
                found.append(rung.status)
    return tuple(found)


# The shipped ladders' review statuses (code that names them; others call `review_statuses`).
REVIEW_STATUSES: tuple[ComplaintStatus, ...] = tuple(
    s
    for s in ComplaintStatus
    if any(r.status is s and r.forum for ladder in LADDERS.values() for r in ladder.rungs)
)


def all_statuses() -> tuple[ComplaintStatus | str, ...]:
    """Every status a case may have: the lifecycle's and every forum's of the configured and
    shipped ladders, in the order a case meets them (filters list them so)."""
    return (
        ComplaintStatus.REGISTERED,
        ComplaintStatus.AWAITING_REPORT,
        ComplaintStatus.AWAITING_CALLBACK,
        *review_statuses(),
        ComplaintStatus.CLOSED,
        ComplaintStatus.WITHDRAWN,
    )


def prepared_at(kind: str) -> tuple[ComplaintStatus | str, ...]:
    """The statuses of cases bound for a higher forum that a session of `kind` prepares
    (`Forum.prepared_at`: Sidhi Baat's cases on the weekly review's agenda), over the
    configured and shipped ladders."""
    found: list[ComplaintStatus | str] = []
    for ladder in ladders():
        below = ladder.for_kind(kind)
        for rung, forum in ladder.forums():
            if below is not None and forum.prepared_at == below.code and rung.status not in found:
                found.append(rung.status)
    return tuple(found)


def forum_rung(kind: str) -> Rung:
    """The rung whose forum's sessions are of `kind`, on the configured ladder or a shipped
    one; KeyError if none."""
    for ladder in ladders():
        rung = ladder.for_kind(kind)
        if rung is not None:
            return rung
    raise KeyError(kind)


def level_rung(level: int) -> Rung:
    """The rung whose stored level is `level`, on the configured ladder or a shipped one;
    KeyError if none."""
    for ladder in ladders():
        for rung in ladder.rungs:
            if rung.level == level:
                return rung
    raise KeyError(level)


def status_rung(status: str) -> Rung | None:
    """The rung whose status is `status` (configured ladder first), None if none."""
    for ladder in ladders():
        for rung in ladder.rungs:
            if rung.status == status:
                return rung
    return None


def all_rungs(extra: Iterable[Ladder] = ()) -> dict[str, Rung]:
    """Every rung by code, over the shipped ladders, the configured one and `extra` (the
    later wins)."""
    found: dict[str, Rung] = {}
    for ladder in (*LADDERS.values(), *_CONFIGURED, *extra):
        for rung in ladder.rungs:
            found[rung.code] = rung
    return found


def with_policy(ladder: Ladder, policy: Policy) -> Ladder:
    """A shipped ladder with the policy's session settings: the weekly review's and Sidhi
    Baat's `weekly_review_time` / `sidhi_baat_time`, every forum's `agenda_cutoff_before` and
    `review_rollover_after`, the weekly review's `max_weekly_rollovers`. (The policy held them
    before the ladder did: a POLICY_FILE that sets them keeps its meaning.)"""
    rungs = []
    for rung in ladder.rungs:
        forum = rung.forum
        if forum is not None:
            update: dict[str, object] = {
                "agenda_cutoff_before": policy.agenda_cutoff_before,
                "rollover_after": policy.review_rollover_after,
            }
            if rung.code == "weekly_review":
                update["session_time"] = policy.weekly_review_time
                update["max_rollovers"] = policy.max_weekly_rollovers
            elif rung.code == "sidhi_baat":
                update["session_time"] = policy.sidhi_baat_time
            rung = rung.model_copy(update={"forum": forum.model_copy(update=update)})
        rungs.append(rung)
    return ladder.model_copy(update={"rungs": tuple(rungs)})


def with_district_days(ladder: Ladder, days: dict[str, int]) -> Ladder:
    """`ladder` with `days` (district -> weekday) as the weekday of each forum held per
    district (DISTRICT_REVIEW_DAYS)."""
    if not days:
        return ladder
    rungs = tuple(
        rung.model_copy(
            update={
                "forum": rung.forum.model_copy(
                    update={"weekday_by_district": {**rung.forum.weekday_by_district, **days}}
                )
            }
        )
        if rung.forum is not None and rung.forum.held_by == "district"
        else rung
        for rung in ladder.rungs
    )
    return Ladder.model_validate({"name": ladder.name, "rungs": rungs})


def load_ladder(path: Path) -> Ladder:
    """A ladder from a JSON file (`Ladder`'s fields); pydantic.ValidationError names the bad
    field (`rungs.1.forum.weekday`) or rung."""
    return Ladder.model_validate_json(path.read_text(encoding="utf-8"))
