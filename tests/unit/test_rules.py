"""The lifecycle's rules (`workflows/rules.py`) as plain functions: no Temporal server, no
database, milliseconds each. The workflow tests check that the workflow does what they say."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from schemas.calendar import IST, Holiday, SessionKind
from schemas.enums import ComplaintStatus, EscalationLevel
from schemas.policy import Policy
from schemas.workflow import ComplaintState, ReviewSlot
from workflows import rules
from workflows.rules import CallbackNext, Wake

POLICY = Policy()
REPUBLIC_DAY_2027 = Policy(holidays=(Holiday(day=datetime(2027, 1, 26).date(), name="R"),))


def ist(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=IST)


NOW = ist(2026, 11, 30, 4, 32)  # Monday


def awaiting_report(reminders_sent: int = 0) -> ComplaintState:
    return ComplaintState(
        status=ComplaintStatus.AWAITING_REPORT,
        report_window_start=NOW,
        next_deadline=NOW + timedelta(days=10),
        reminders_sent=reminders_sent,
    )


def test_an_awaiting_report_case_reminds_at_its_fractions_then_escalates() -> None:
    assert rules.next_wake(awaiting_report(), POLICY, NOW, drop_late_reminders=True) == (
        NOW + timedelta(days=5),
        Wake.REMIND_OFFICER,
    )
    assert rules.next_wake(awaiting_report(1), POLICY, NOW, drop_late_reminders=True) == (
        NOW + timedelta(days=8),
        Wake.REMIND_OFFICER,
    )
    assert rules.next_wake(awaiting_report(2), POLICY, NOW, drop_late_reminders=True) == (
        NOW + timedelta(days=10),
        Wake.REPORT_DEADLINE_MISSED,
    )


def test_after_a_long_stop_past_the_deadline_no_reminder_only_escalation() -> None:
    late = NOW + timedelta(days=11)
    wake = rules.next_wake(awaiting_report(), POLICY, late, drop_late_reminders=True)
    assert wake == (NOW + timedelta(days=10), Wake.REPORT_DEADLINE_MISSED)
    # Runs from before SMS_QUEUE_PATCH still sent the reminder first.
    old = rules.next_wake(awaiting_report(), POLICY, late, drop_late_reminders=False)
    assert old == (NOW + timedelta(days=5), Wake.REMIND_OFFICER)


def test_every_open_status_has_exactly_one_next_wake() -> None:
    slot = ReviewSlot(
        kind=SessionKind.WEEKLY_REVIEW, session_id="weekly-review-2026-12-01", starts_at=NOW
    )
    cases = {
        ComplaintStatus.AWAITING_CALLBACK: (
            ComplaintState(status=ComplaintStatus.AWAITING_CALLBACK, next_deadline=NOW),
            (NOW, Wake.CALLBACK_OVERDUE),
        ),
        ComplaintStatus.WEEKLY_REVIEW: (
            ComplaintState(status=ComplaintStatus.WEEKLY_REVIEW, review=slot),
            (NOW + POLICY.review_rollover_after, Wake.ROLL_OVER),
        ),
        ComplaintStatus.CLOSED: (
            ComplaintState(status=ComplaintStatus.CLOSED, closed_at=NOW),
            (NOW + POLICY.reopen_window, Wake.REOPEN_WINDOW_ENDS),
        ),
    }
    for state, expected in cases.values():
        assert rules.next_wake(state, POLICY, NOW, drop_late_reminders=True) == expected
    withdrawn = ComplaintState(status=ComplaintStatus.WITHDRAWN)
    assert rules.next_wake(withdrawn, POLICY, NOW, drop_late_reminders=True) is None


def test_escalation_goes_one_level_up_and_sidhi_baat_stays_the_top() -> None:
    assert rules.escalation_target(EscalationLevel.NODAL_OFFICER) == (
        EscalationLevel.WEEKLY_REVIEW,
        SessionKind.WEEKLY_REVIEW,
    )
    for level in (EscalationLevel.WEEKLY_REVIEW, EscalationLevel.SIDHI_BAAT):
        assert rules.escalation_target(level) == (
            EscalationLevel.SIDHI_BAAT,
            SessionKind.SIDHI_BAAT,
        )
    assert rules.goes_on_to_sidhi_baat(SessionKind.WEEKLY_REVIEW, 4, POLICY)
    assert not rules.goes_on_to_sidhi_baat(SessionKind.WEEKLY_REVIEW, 3, POLICY)
    assert not rules.goes_on_to_sidhi_baat(SessionKind.SIDHI_BAAT, 40, POLICY)


def test_a_review_slot_moves_off_a_holiday_only_with_the_calendar() -> None:
    escalated = ist(2027, 1, 10, 12, 0)
    calendar = REPUBLIC_DAY_2027.working_calendar()
    moved = rules.review_slot(SessionKind.SIDHI_BAAT, escalated, REPUBLIC_DAY_2027, calendar)
    assert moved.session_id == "sidhi-baat-2027-01-27"
    assert moved.starts_at == ist(2027, 1, 27, 11, 0)
    old = rules.review_slot(SessionKind.SIDHI_BAAT, escalated, REPUBLIC_DAY_2027, None)
    assert old.session_id == "sidhi-baat-2027-01-26"
    # The published deadline: when the case rolls over (citizen clock), or the meeting.
    assert rules.review_deadline(moved, POLICY, citizen_clock=True) == ist(2027, 1, 28, 11, 0)
    assert rules.review_deadline(moved, POLICY, citizen_clock=False) == moved.starts_at
    # A Sidhi Baat case is prepared at the weekly review before it.
    assert rules.weekly_review_before(moved.starts_at, escalated, POLICY, calendar) == ist(
        2027, 1, 12, 11, 0
    )
    assert rules.weekly_review_before(ist(2027, 1, 12, 11, 0), escalated, POLICY, calendar) is None


@pytest.mark.parametrize(
    ("now", "deadline", "unsatisfied", "granted"),
    [
        (NOW + timedelta(days=1), NOW + timedelta(days=15), False, False),  # not yet due
        (NOW + timedelta(days=16), NOW + timedelta(days=17), False, True),  # promise outlived
        (NOW + timedelta(days=3), NOW + timedelta(days=2), False, True),  # overdue
        (NOW + timedelta(days=1), NOW + timedelta(days=15), True, True),  # unsatisfied
    ],
)
def test_a_review_request_is_granted_when_overdue_outlived_or_unsatisfied(
    now: datetime, deadline: datetime, unsatisfied: bool, granted: bool
) -> None:
    assert (
        rules.review_request_granted(
            now=now,
            next_deadline=deadline,
            promise=NOW + timedelta(days=15),
            registered_at=NOW,
            window=timedelta(days=15),
            citizen_unsatisfied=unsatisfied,
            citizen_clock=True,
        )
        is granted
    )


def test_before_the_citizen_clock_a_request_counts_from_registration() -> None:
    # A directive gave a new promise 30 days out; the old rule ignored it.
    args = {
        "now": NOW + timedelta(days=16),
        "next_deadline": NOW + timedelta(days=30),
        "promise": NOW + timedelta(days=30),
        "registered_at": NOW,
        "window": timedelta(days=15),
        "citizen_unsatisfied": False,
    }
    assert not rules.review_request_granted(**args, citizen_clock=True)  # type: ignore[arg-type]
    assert rules.review_request_granted(**args, citizen_clock=False)  # type: ignore[arg-type]


def test_unreachable_attempts_are_retried_then_escalated_or_closed() -> None:
    first = rules.after_unreachable(1, NOW, POLICY)
    assert first == rules.CallbackStep(
        CallbackNext.RETRY, NOW + timedelta(days=1), NOW + timedelta(days=4)
    )
    assert rules.after_unreachable(2, NOW, POLICY).next is CallbackNext.RETRY
    assert rules.after_unreachable(3, NOW, POLICY).next is CallbackNext.ESCALATE
    closing = Policy(callback_exhausted_action="close")
    assert rules.after_unreachable(3, NOW, closing).next is CallbackNext.CLOSE
    assert rules.callback_schedule(NOW, POLICY) == (
        NOW + timedelta(days=1),
        NOW + timedelta(days=4),
    )


def test_deadlines_with_and_without_the_working_calendar() -> None:
    calendar = POLICY.working_calendar()
    exact = rules.report_due(NOW, POLICY, None, suggestion=False, urgent=False)
    assert exact == NOW + timedelta(days=15)
    with_calendar = rules.report_due(NOW, POLICY, calendar, suggestion=False, urgent=False)
    assert with_calendar == ist(2026, 12, 15, 17, 0)
    urgent = rules.report_due(NOW, POLICY, calendar, suggestion=False, urgent=True)
    assert urgent == NOW + timedelta(hours=12)
    assert rules.directive_due(NOW, POLICY, None) == NOW + timedelta(days=7)
    assert rules.directive_due(NOW, POLICY, calendar).time() == time(17, 0)
    in_working_days = Policy(directive_default_working_days=3)
    assert rules.directive_due(NOW, in_working_days, calendar) == ist(2026, 12, 3, 17, 0)


def test_a_transfer_never_resets_the_citizens_clock() -> None:
    promise = NOW + timedelta(days=15)
    # Early: the usual window, capped at the promise plus the grace.
    early = rules.transfer_terms(
        now=NOW + timedelta(days=13),
        usual_due=NOW + timedelta(days=28),
        promise=promise,
        transfers=1,
        policy=POLICY,
    )
    assert early == rules.TransferTerms(deadline=promise + timedelta(days=2), escalate_because=None)
    # Past the promise plus the grace: to review, with the promise in the reason (IST).
    late_now = NOW + timedelta(days=18)
    late = rules.transfer_terms(
        now=late_now,
        usual_due=late_now + timedelta(days=15),
        promise=promise,
        transfers=1,
        policy=POLICY,
    )
    assert late.deadline == late_now
    assert late.escalate_because == "transferred after the promised time 15-12-2026 04:32"
    # Too many transfers: to review, whatever the deadline.
    bounced = rules.transfer_terms(
        now=NOW, usual_due=NOW + timedelta(days=15), promise=promise, transfers=3, policy=POLICY
    )
    assert bounced.escalate_because == "transferred 3 times"
