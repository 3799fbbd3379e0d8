"""The lifecycle's rules (`workflows/rules.py`) as plain functions: no Temporal server, no
database, milliseconds each. The workflow tests check that the workflow does what they say."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from schemas.calendar import IST, Holiday, SessionKind, fmt_ist
from schemas.enums import ComplaintKind, ComplaintStatus
from schemas.policy import Policy
from schemas.workflow import (
    CallbackOutcome,
    CallbackResult,
    ComplaintState,
    DepartmentReport,
    ReviewDecision,
    ReviewSlot,
)
from workflows import rules
from workflows.rules import CallbackNext, Wake

POLICY = Policy()
LADDER = rules.case_ladder(None, POLICY)
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
    assert rules.next_wake(awaiting_report(), POLICY, NOW, ladder=LADDER) == (
        NOW + timedelta(days=5),
        Wake.REMIND_OFFICER,
    )
    assert rules.next_wake(awaiting_report(1), POLICY, NOW, ladder=LADDER) == (
        NOW + timedelta(days=8),
        Wake.REMIND_OFFICER,
    )
    assert rules.next_wake(awaiting_report(2), POLICY, NOW, ladder=LADDER) == (
        NOW + timedelta(days=10),
        Wake.REPORT_DEADLINE_MISSED,
    )


def test_after_a_long_stop_past_the_deadline_no_reminder_only_escalation() -> None:
    late = NOW + timedelta(days=11)
    wake = rules.next_wake(awaiting_report(), POLICY, late, ladder=LADDER)
    assert wake == (NOW + timedelta(days=10), Wake.REPORT_DEADLINE_MISSED)


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
            ComplaintState(status=ComplaintStatus.WEEKLY_REVIEW, review=slot, rung="weekly_review"),
            (NOW + POLICY.review_rollover_after, Wake.ROLL_OVER),
        ),
        ComplaintStatus.CLOSED: (
            ComplaintState(status=ComplaintStatus.CLOSED, closed_at=NOW),
            (NOW + max(POLICY.reopen_window, POLICY.appeal_window), Wake.REOPEN_WINDOW_ENDS),
        ),
    }
    for state, expected in cases.values():
        assert rules.next_wake(state, POLICY, NOW, ladder=LADDER) == expected
    withdrawn = ComplaintState(status=ComplaintStatus.WITHDRAWN)
    assert rules.next_wake(withdrawn, POLICY, NOW, ladder=LADDER) is None


def test_a_sitting_moves_off_a_holiday_and_its_deadline_is_the_rollover() -> None:
    escalated = ist(2027, 1, 10, 12, 0)
    calendar = REPUBLIC_DAY_2027.working_calendar()
    ladder = rules.case_ladder(None, REPUBLIC_DAY_2027)
    sidhi_baat = ladder.rung("sidhi_baat")
    moved = rules.rung_slot(sidhi_baat, escalated, None, calendar)
    assert moved.session_id == "sidhi-baat-2027-01-27"
    assert moved.starts_at == ist(2027, 1, 27, 11, 0)
    # The published deadline: when the case rolls over if still undecided.
    assert sidhi_baat.forum is not None
    rollover = sidhi_baat.forum.rollover_after
    assert rules.review_deadline(moved, rollover) == ist(2027, 1, 28, 11, 0)
    # The sitting that prepares it: the weekly review before it.
    weekly = rules.rung_slot(ladder.rung("weekly_review"), escalated, None, calendar)
    assert weekly.starts_at == ist(2027, 1, 12, 11, 0)


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
            citizen_unsatisfied=unsatisfied,
        )
        is granted
    )


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


def test_deadlines_fall_at_the_end_of_a_working_day() -> None:
    with_calendar = rules.report_due(NOW, POLICY, suggestion=False, urgent=False)
    assert with_calendar == ist(2026, 12, 15, 17, 0)
    urgent = rules.report_due(NOW, POLICY, suggestion=False, urgent=True)
    assert urgent == NOW + timedelta(hours=12)
    assert rules.directive_due(NOW, POLICY).time() == time(17, 0)
    in_working_days = Policy(directive_default_working_days=3)
    assert rules.directive_due(NOW, in_working_days) == ist(2026, 12, 3, 17, 0)


def test_the_promise_is_the_one_set_or_registration_plus_the_window() -> None:
    set_at = NOW + timedelta(days=3)
    assert rules.promise(set_at, NOW, POLICY, suggestion=False, urgent=True) == set_at
    # A state carried without one: registration plus the case's own report window.
    complaint = rules.promise(None, NOW, POLICY, suggestion=False, urgent=False)
    suggestion = rules.promise(None, NOW, POLICY, suggestion=True, urgent=False)
    urgent = rules.promise(None, NOW, POLICY, suggestion=False, urgent=True)
    assert complaint == NOW + POLICY.report_deadline_complaint
    assert suggestion == NOW + POLICY.report_deadline_suggestion
    assert urgent == NOW + POLICY.report_deadline_urgent
    assert len({complaint, suggestion, urgent}) == 3


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


def test_an_action_on_a_case_in_another_status_or_not_open_is_refused() -> None:
    assert rules.status_refusal(ComplaintStatus.CLOSED, ComplaintStatus.CLOSED) is None
    assert rules.status_refusal(
        ComplaintStatus.CLOSED, ComplaintStatus.WEEKLY_REVIEW, ComplaintStatus.SIDHI_BAAT
    ) == ("wrong_status", {"status": "closed", "wanted": "weekly_review or sidhi_baat"})
    assert rules.open_refusal(ComplaintStatus.AWAITING_REPORT) is None
    for status in (ComplaintStatus.REGISTERED, ComplaintStatus.WITHDRAWN):
        assert rules.open_refusal(status) == ("not_open", {"status": status.value})


def test_a_report_is_refused_naming_what_is_wrong() -> None:
    def refused(kind: ComplaintKind = ComplaintKind.COMPLAINT, **fields: object) -> str | None:
        report = DepartmentReport.model_validate({"reply": "done", **fields})
        refusal = rules.report_refusal(report, kind=kind, policy=POLICY)
        return refusal[0] if refusal else None

    assert refused(outcome="resolved") is None
    assert refused(ComplaintKind.SUGGESTION, outcome="resolved") == "outcome_not_for_kind"
    assert refused(outcome="resolved", reply="  ") == "reply_required"
    assert refused(outcome="transferred") == "transfer_target"
    assert refused(outcome="transferred", transfer_to_district="Ranchi") is None
    assert refused(outcome="not_actionable") == "reason_required"
    assert refused(outcome="not_actionable", reason="sub_judice") is None


def test_a_second_unreachable_tap_and_a_dissatisfaction_without_words_are_refused() -> None:
    due = NOW + timedelta(days=1)
    unreachable = CallbackResult(outcome=CallbackOutcome.UNREACHABLE, telecaller="tc")
    assert rules.callback_refusal(unreachable, attempts=1, due_at=due, now=NOW) == (
        "attempt_just_recorded",
        {"attempt": 1, "due": fmt_ist(due)},
    )
    assert rules.callback_refusal(unreachable, attempts=1, due_at=due, now=due) is None
    assert rules.callback_refusal(unreachable, attempts=0, due_at=None, now=NOW) is None
    unsatisfied = CallbackResult(outcome=CallbackOutcome.NOT_SATISFIED, telecaller="tc")
    refusal = rules.callback_refusal(unsatisfied, attempts=0, due_at=None, now=NOW)
    assert refusal == ("remark_required", {})


def test_a_decision_for_another_session_or_with_a_bad_deadline_is_refused() -> None:
    slot = ReviewSlot(
        kind=SessionKind.WEEKLY_REVIEW, session_id="weekly-review-2026-12-01", starts_at=NOW
    )
    assert rules.session_refusal(slot, "weekly-review-2026-12-01") is None
    assert rules.session_refusal(slot, "weekly-review-2026-12-08") == (
        "other_session",
        {"current": "weekly-review-2026-12-01", "requested": "weekly-review-2026-12-08"},
    )
    assert rules.session_refusal(None, "x")[0] == "other_session"  # type: ignore[index]

    def decided(**fields: object) -> str | None:
        decision = ReviewDecision.model_validate(
            {"decision": "directive", "text": "act", "decided_by": "dc", **fields}
        )
        refusal = rules.decision_refusal(decision, now=NOW)
        return refusal[0] if refusal else None

    assert decided() is None
    assert decided(decision="close") == "citizen_not_informed"
    assert decided(decision="close", citizen_informed=True) is None
    assert decided(new_deadline=NOW - timedelta(days=1)) == "deadline_past"
    assert decided(new_deadline=NOW + timedelta(days=1)) is None


def test_a_reopening_after_its_window_is_refused_with_the_date_it_ended() -> None:
    window = timedelta(days=15)
    assert rules.reopen_refusal(NOW, NOW + window, window) is None
    late = rules.reopen_refusal(NOW, NOW + window + timedelta(minutes=1), window)
    assert late == ("reopen_window_ended", {"days": 15, "date": "15-12-2026"})


def test_a_spread_offsets_each_case_by_its_own_fixed_seconds_within_the_spread() -> None:
    spread = timedelta(minutes=30)
    offsets = [rules.spread_offset(f"complaint-{n}-2026", spread) for n in range(1, 2001)]
    assert all(timedelta(0) <= o < spread for o in offsets)
    assert all(o == timedelta(seconds=int(o.total_seconds())) for o in offsets)
    # The same case, the same offset (every run, every worker); cases spread over the window.
    assert offsets[:50] == [
        rules.spread_offset(f"complaint-{n}-2026", spread) for n in range(1, 51)
    ]
    assert len(set(offsets)) > 1100  # 2,000 cases over 1,800 seconds: about 1,200 distinct
    per_quarter = [
        sum(q * spread / 4 <= o < (q + 1) * spread / 4 for o in offsets) for q in range(4)
    ]
    assert min(per_quarter) > 400
    assert rules.spread_offset("complaint-1-2026", timedelta(0)) == timedelta(0)
    assert rules.spread_offset("complaint-1-2026", timedelta(milliseconds=900)) == timedelta(0)


def test_a_reminder_moves_by_its_offset_but_never_to_its_deadline() -> None:
    spread, due = timedelta(hours=4), datetime(2026, 12, 10, 17, 0, tzinfo=IST)
    remind_at = due - timedelta(hours=1)
    ids = [f"complaint-{n}-2026" for n in range(1, 40)]
    near = next(i for i in ids if rules.spread_offset(i, spread) < timedelta(hours=1))
    far = next(i for i in ids if rules.spread_offset(i, spread) >= timedelta(hours=1))

    def moved(wake: Wake, workflow_id: str, moment: datetime = remind_at) -> datetime:
        return rules.spread_moment(
            moment, wake, workflow_id=workflow_id, spread=spread, deadline=due
        )

    assert moved(Wake.REMIND_OFFICER, near) == remind_at + rules.spread_offset(near, spread)
    assert moved(Wake.REMIND_OFFICER, far) == remind_at  # not past its deadline
    # Every other wake moves by its whole offset, past the deadline included.
    assert moved(Wake.REPORT_DEADLINE_MISSED, far, due) == due + rules.spread_offset(far, spread)
    assert moved(Wake.ROLL_OVER, far) == remind_at + rules.spread_offset(far, spread)
