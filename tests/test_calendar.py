"""The review calendar in IST: weekly Tuesdays, last-Tuesday Sidhi Baat, cutoffs, year ends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from core.calendar import (
    IST,
    SessionKind,
    is_last_tuesday,
    last_tuesday_of_month,
    next_session,
    session_id,
)

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
