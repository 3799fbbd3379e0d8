"""Loading the gazetted holidays (I/O: never imported by workflow code).

National and state holidays for India come from the `holidays` package (its India calendar,
with the state's subdivision, e.g. `JH`); the state's own notified list comes from a JSON file
an administrator maintains (`HOLIDAYS_FILE`, shipped: `core/seed/holidays_jharkhand.json`,
which cites its sources and marks entries not yet checked against a notification). The result
goes into the policy (`schemas.policy.load_policy`), so each case carries the calendar it
started with and workflows stay deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays as holidays_package
from pydantic import BaseModel, ConfigDict

from core.settings import Settings
from schemas.calendar import Holiday, to_ist
from schemas.policy import Policy, load_policy


class StateHoliday(BaseModel):
    """One entry of a state holiday file."""

    model_config = ConfigDict(extra="forbid")

    date: date
    name: str
    name_hi: str | None = None
    source: str | None = None  # a key of the file's `sources`
    verified: bool = False  # checked against a published notification


class StateHolidayFile(BaseModel):
    """The state's holiday file: `{"state", "about", "sources": {key: citation}, "holidays":
    [StateHoliday, ...]}`. Every entry's `source` must be one of `sources`."""

    state: str
    about: str = ""
    sources: dict[str, str] = {}
    holidays: list[StateHoliday]

    def model_post_init(self, __context: object) -> None:
        for entry in self.holidays:
            if entry.source is not None and entry.source not in self.sources:
                raise ValueError(f"holiday {entry.date}: unknown source {entry.source!r}")


def read_state_holidays(path: Path) -> StateHolidayFile:
    """The state's holiday file; pydantic.ValidationError / ValueError name the bad entry."""
    return StateHolidayFile.model_validate_json(path.read_text(encoding="utf-8"))


def national_holidays(years: Iterable[int], subdivision: str | None) -> list[Holiday]:
    """India's holidays for `years` from the `holidays` package (`subdivision`: a state code
    such as `JH`, or None for the national list alone)."""
    calendar = holidays_package.country_holidays("IN", subdiv=subdivision or None, years=years)
    return [Holiday(day=day, name=name) for day, name in sorted(calendar.items())]


def load_holidays(
    state_file: Path | None, *, subdivision: str | None, years: Iterable[int]
) -> tuple[Holiday, ...]:
    """National holidays for `years` plus every entry of `state_file`, sorted by day (one
    entry per day and name)."""
    found = {(h.day, h.name): h for h in national_holidays(years, subdivision)}
    if state_file is not None:
        for entry in read_state_holidays(state_file).holidays:
            found[(entry.date, entry.name)] = Holiday(day=entry.date, name=entry.name)
    return tuple(sorted(found.values(), key=lambda h: (h.day, h.name)))


def configured_policy(settings: Settings, now: datetime) -> Policy:
    """The policy new cases get: POLICY_FILE (or the defaults) with the gazetted holidays of
    the IST year of `now`, the one before and the three after (HOLIDAYS_FILE,
    HOLIDAY_SUBDIVISION). A case open longer than that sees no holidays past its last year."""
    year = to_ist(now).year
    found = load_holidays(
        settings.holidays_file,
        subdivision=settings.holiday_subdivision or None,
        years=range(year - 1, year + 4),
    )
    policy = load_policy(settings.policy_file, holidays=found)
    if settings.ivr_kinds:
        kinds = tuple(k.strip() for k in settings.ivr_kinds.split(",") if k.strip())
        policy = policy.model_copy(update={"ivr_kinds": kinds})
    if settings.timer_spread_minutes:
        spread = timedelta(minutes=settings.timer_spread_minutes)
        policy = policy.model_copy(update={"timer_spread": spread})
    return policy
