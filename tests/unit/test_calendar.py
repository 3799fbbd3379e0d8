"""The review calendar in IST: weekly Tuesdays, last-Tuesday Sidhi Baat, cutoffs, year ends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.holidays import load_holidays, read_state_holidays
from schemas.calendar import (
    IST,
    SessionKind,
    SessionOnHoliday,
    WorkingCalendar,
    add_working_days,
    end_of_working_day,
    is_last_tuesday,
    is_working_day,
    last_tuesday_of_month,
    next_session,
    upcoming_sessions,
)
from schemas.escalation import session_id
from schemas.policy import Policy
from tests.paths import ROOT

AT = time(11, 0)
CUTOFF = timedelta(hours=17)  # Monday 18:00 for a Tuesday 11:00 session


def ist(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=IST)


def weekly(after: datetime) -> datetime:
    return next_session(SessionKind.WEEKLY_REVIEW, after, at=AT, cutoff_before=CUTOFF)


def sidhi_baat(after: datetime) -> datetime:
    return next_session(SessionKind.SIDHI_BAAT, after, at=AT, cutoff_before=CUTOFF)


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2026, 2, date(2026, 2, 24)),  # February, four Tuesdays
        (2028, 2, date(2028, 2, 29)),  # leap February ending on a Tuesday
        (2026, 3, date(2026, 3, 31)),  # five Tuesdays, the last on the 31st
        (2026, 12, date(2026, 12, 29)),  # December
        (2027, 8, date(2027, 8, 31)),
        (2026, 11, date(2026, 11, 24)),
    ],
)
def test_last_tuesday_of_month(year: int, month: int, expected: date) -> None:
    assert last_tuesday_of_month(year, month) == expected
    assert is_last_tuesday(expected)
    assert not is_last_tuesday(expected - timedelta(days=7))


def test_weekly_review_before_and_after_the_monday_cutoff() -> None:
    # Wednesday 25 Nov 2026: next Tuesday is 1 Dec.
    assert weekly(ist(2026, 11, 25, 10, 0)) == ist(2026, 12, 1, 11, 0)
    # Monday 30 Nov before 18:00: still this week's Tuesday.
    assert weekly(ist(2026, 11, 30, 17, 59)) == ist(2026, 12, 1, 11, 0)
    # Monday 30 Nov after the cutoff: the Tuesday after.
    assert weekly(ist(2026, 11, 30, 18, 0)) == ist(2026, 12, 8, 11, 0)
    # On the Tuesday itself: the next week's.
    assert weekly(ist(2026, 12, 1, 9, 0)) == ist(2026, 12, 8, 11, 0)


def test_weekly_review_uses_ist_not_utc() -> None:
    # 12:45 UTC on Monday is 18:15 IST: past the cutoff.
    from datetime import UTC

    assert weekly(datetime(2026, 11, 30, 12, 45, tzinfo=UTC)) == ist(2026, 12, 8, 11, 0)
    assert weekly(datetime(2026, 11, 30, 12, 15, tzinfo=UTC)) == ist(2026, 12, 1, 11, 0)


def test_weekly_review_across_the_year_end() -> None:
    assert weekly(ist(2026, 12, 28, 20, 0)) == ist(2027, 1, 5, 11, 0)


def test_sidhi_baat_is_the_last_tuesday_and_respects_the_cutoff() -> None:
    assert sidhi_baat(ist(2026, 11, 2, 10, 0)) == ist(2026, 11, 24, 11, 0)
    # After November's cutoff (Monday 23rd, 18:00): December's last Tuesday.
    assert sidhi_baat(ist(2026, 11, 23, 18, 30)) == ist(2026, 12, 29, 11, 0)
    # December's missed: January of the next year.
    assert sidhi_baat(ist(2026, 12, 29, 9, 0)) == ist(2027, 1, 26, 11, 0)
    # February (four Tuesdays) and a five-Tuesday month.
    assert sidhi_baat(ist(2027, 2, 1, 9, 0)) == ist(2027, 2, 23, 11, 0)
    assert sidhi_baat(ist(2026, 3, 10, 9, 0)) == ist(2026, 3, 31, 11, 0)


def test_every_session_over_three_years_is_a_tuesday_after_its_cutoff() -> None:
    moment = ist(2026, 1, 1, 0, 0)
    while moment < ist(2029, 1, 1, 0, 0):
        for kind, start in (
            (SessionKind.WEEKLY_REVIEW, weekly(moment)),
            (SessionKind.SIDHI_BAAT, sidhi_baat(moment)),
        ):
            assert start.weekday() == 1
            assert moment < start - CUTOFF
            assert start - moment <= timedelta(days=8 if kind is SessionKind.WEEKLY_REVIEW else 43)
            if kind is SessionKind.SIDHI_BAAT:
                assert is_last_tuesday(start.date())
        moment += timedelta(hours=13)


def test_session_id_is_the_business_key() -> None:
    assert (
        session_id(SessionKind.WEEKLY_REVIEW, ist(2026, 12, 1, 11, 0)) == "weekly-review-2026-12-01"
    )
    assert session_id(SessionKind.SIDHI_BAAT, ist(2026, 12, 29, 11, 0)) == "sidhi-baat-2026-12-29"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        weekly(datetime(2026, 11, 25, 10, 0))


# ---- holidays and working days ------------------------------------------------------------

JHARKHAND = ROOT / "core" / "seed" / "holidays_jharkhand.json"


def jharkhand_calendar(**changes: Any) -> WorkingCalendar:
    found = load_holidays(JHARKHAND, subdivision="JH", years=[2026, 2027])
    return WorkingCalendar(holidays=frozenset(h.day for h in found), **changes)


def test_sidhi_baat_of_january_2027_is_not_held_on_republic_day() -> None:
    calendar = jharkhand_calendar()
    assert not is_working_day(date(2027, 1, 26), calendar)
    start = next_session(
        SessionKind.SIDHI_BAAT, ist(2027, 1, 10), at=AT, cutoff_before=CUTOFF, calendar=calendar
    )
    # Held on the next working day, Wednesday 27 January, at the same time.
    assert start == ist(2027, 1, 27, 11, 0)
    assert session_id(SessionKind.SIDHI_BAAT, start) == "sidhi-baat-2027-01-27"
    # The weekly review of that Tuesday moves alike.
    weekly_start = next_session(
        SessionKind.WEEKLY_REVIEW, ist(2027, 1, 21), at=AT, cutoff_before=CUTOFF, calendar=calendar
    )
    assert weekly_start == ist(2027, 1, 27, 11, 0)
    # Without the calendar, the old rule (the bug): Republic Day.
    assert sidhi_baat(ist(2027, 1, 10)) == ist(2027, 1, 26, 11, 0)


def test_a_moved_session_is_still_found_after_its_nominal_day() -> None:
    # Wednesday 27 Jan 2027 at 09:00: the session moved to 11:00 that day is still ahead (no
    # cutoff, as the planner asks), and the planner's list has it before February's.
    calendar = jharkhand_calendar()
    starts = upcoming_sessions(
        SessionKind.SIDHI_BAAT,
        ist(2027, 1, 27, 9, 0),
        at=AT,
        count=2,
        open_for=timedelta(days=1),
        calendar=calendar,
    )
    assert starts == [ist(2027, 1, 27, 11, 0), ist(2027, 2, 23, 11, 0)]


def test_a_session_on_a_holiday_may_be_skipped_instead() -> None:
    calendar = jharkhand_calendar(session_on_holiday=SessionOnHoliday.SKIP)
    start = next_session(
        SessionKind.SIDHI_BAAT, ist(2027, 1, 10), at=AT, cutoff_before=CUTOFF, calendar=calendar
    )
    assert start == ist(2027, 2, 23, 11, 0)  # January's is not held; February's last Tuesday
    weekly_start = next_session(
        SessionKind.WEEKLY_REVIEW, ist(2027, 1, 21), at=AT, cutoff_before=CUTOFF, calendar=calendar
    )
    assert weekly_start == ist(2027, 2, 2, 11, 0)


def test_working_days_skip_sundays_second_saturdays_and_holidays() -> None:
    calendar = jharkhand_calendar(second_saturday_off=True)
    assert not is_working_day(date(2026, 12, 6), calendar)  # Sunday
    assert not is_working_day(date(2026, 12, 12), calendar)  # second Saturday
    assert is_working_day(date(2026, 12, 19), calendar)  # third Saturday
    assert is_working_day(date(2026, 12, 12), jharkhand_calendar())  # the state works it
    # Registered Friday 22 Jan 2027 at 04:32, 3 working days: Sat 23, Mon 25, Wed 27 (26 is
    # Republic Day), at the end of the working day.
    assert add_working_days(ist(2027, 1, 22, 4, 32), 3, calendar) == ist(2027, 1, 27, 17, 0)


def test_working_days_across_the_diwali_sohrai_chhath_weeks() -> None:
    calendar = jharkhand_calendar(second_saturday_off=True)
    # Friday 6 Nov 2026: Sat 7 (first Saturday) works; Sun 8 Diwali; Mon 9, Tue 10 Sohrai;
    # Wed 11, Thu 12, Fri 13, Sat 14 (second Saturday: off); Sun 15; Mon 16 Chhath; Tue 17.
    due = add_working_days(ist(2026, 11, 6, 10, 0), 5, calendar)
    assert due == ist(2026, 11, 17, 17, 0)


def test_working_days_across_a_month_end_and_a_year_end() -> None:
    calendar = jharkhand_calendar(second_saturday_off=True)
    # Thursday 24 Dec 2026: Fri 25 Christmas, Sat 26, Sun 27, Mon 28 ... Thu 31, Fri 1 Jan.
    assert add_working_days(ist(2026, 12, 24, 22, 15), 1, calendar) == ist(2026, 12, 26, 17, 0)
    assert add_working_days(ist(2026, 12, 24, 22, 15), 6, calendar) == ist(2027, 1, 1, 17, 0)
    # Month end: Friday 30 Apr 2027 + 2: Sat 1 May (works), Mon 3 May.
    assert add_working_days(ist(2027, 4, 30, 12, 0), 2, calendar) == ist(2027, 5, 3, 17, 0)
    with pytest.raises(ValueError):
        add_working_days(ist(2027, 4, 30, 12, 0), 0, calendar)


def test_a_deadline_in_days_falls_at_the_end_of_a_working_day() -> None:
    calendar = jharkhand_calendar()
    # Taken at 04:32: due at 17:00 on its day, never in the night.
    assert end_of_working_day(ist(2026, 12, 15, 4, 32), calendar) == ist(2026, 12, 15, 17, 0)
    # Due on a Sunday: Monday's end.
    assert end_of_working_day(ist(2026, 12, 13, 4, 32), calendar) == ist(2026, 12, 14, 17, 0)
    # Due on Republic Day 2027 (Tuesday): Wednesday's end.
    assert end_of_working_day(ist(2027, 1, 26, 9, 0), calendar) == ist(2027, 1, 27, 17, 0)


def test_policy_deadlines_in_calendar_days_and_in_working_days() -> None:
    holidays = load_holidays(JHARKHAND, subdivision="JH", years=[2026, 2027])
    policy = Policy(holidays=holidays)
    registered = ist(2026, 11, 30, 4, 32)  # Monday
    # 15 calendar days: Tuesday 15 Dec at 17:00 (not 04:32).
    assert policy.report_due(registered, suggestion=False, urgent=False) == ist(2026, 12, 15, 17)
    # Urgent cases keep their exact 12 hours.
    assert policy.report_due(registered, suggestion=False, urgent=True) == ist(2026, 11, 30, 16, 32)
    # 10 working days with second Saturdays off: 1-5 Dec, 7-11 Dec (12th is the second Sat).
    in_working_days = Policy(
        holidays=holidays, report_working_days_complaint=10, second_saturday_off=True
    )
    assert in_working_days.report_due(registered, suggestion=False, urgent=False) == ist(
        2026, 12, 11, 17
    )
    # Suggestions keep their calendar window unless given their own.
    assert in_working_days.report_due(registered, suggestion=True, urgent=False) == ist(
        2026, 12, 30, 17
    )


def test_the_shipped_holiday_file_cites_its_sources() -> None:
    shipped = read_state_holidays(JHARKHAND)
    assert shipped.state == "Jharkhand"
    assert all(entry.source in shipped.sources for entry in shipped.holidays)
    assert {entry.date.year for entry in shipped.holidays} == {2026, 2027}
    verified = {entry.date for entry in shipped.holidays if entry.verified}
    assert date(2026, 1, 26) in verified and date(2026, 3, 4) in verified
    # National holidays come from the `holidays` package, state ones from the file.
    found = {h.day for h in load_holidays(JHARKHAND, subdivision="JH", years=[2027])}
    assert date(2027, 1, 26) in found  # package: Republic Day
    assert date(2027, 11, 15) in found  # file: Jharkhand Foundation Day


def test_a_holiday_file_with_an_unknown_source_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "holidays.json"
    bad.write_text(
        '{"state": "X", "sources": {}, "holidays": '
        '[{"date": "2026-01-26", "name": "Republic Day", "source": "gazette"}]}',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="2026-01-26: unknown source 'gazette'"):
        read_state_holidays(bad)


def test_without_an_end_of_day_deadlines_keep_the_time_of_day() -> None:
    calendar = jharkhand_calendar(day_ends=None)
    moment = ist(2027, 1, 25, 4, 32)  # Monday
    assert end_of_working_day(ist(2027, 1, 26, 4, 32), calendar) == ist(2027, 1, 27, 4, 32)
    assert add_working_days(moment, 1, calendar) == ist(2027, 1, 27, 4, 32)
    exact = Policy(working_day_ends=None)
    assert exact.report_due(moment, suggestion=False, urgent=False) == moment + timedelta(days=15)
