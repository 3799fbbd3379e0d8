"""The complaint lifecycle's rules, apart from its effects: when a case moves by itself and to
what, where an escalation goes, whether a review request is granted, what an unreachable
citizen's next attempt is, and when work is due.

Pure, deterministic functions of their arguments (the case's state, its policy, its working
calendar, "now"): no Temporal, no I/O, no clock. `workflows.complaint.ComplaintWorkflow` asks
them "when, and what next" and does the effects (state, read model, SMS) under its lock; the
unit tests (`tests/unit/test_rules.py`) run them in milliseconds without a server.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from schemas.calendar import WorkingCalendar, fmt_ist, fmt_ist_date
from schemas.enums import ComplaintKind, ComplaintStatus, is_open, on_agenda
from schemas.escalation import (
    JHARKHAND,
    Ladder,
    Rung,
    next_sitting,
    session_id,
    with_policy,
)
from schemas.policy import Policy
from schemas.reasons import DOES_NOT_PERTAIN
from schemas.reference import canonical_department, canonical_district
from schemas.refusals import CaseRejected
from schemas.workflow import (
    COMPLAINT_OUTCOMES,
    SUGGESTION_OUTCOMES,
    CallbackOutcome,
    CallbackResult,
    ComplaintState,
    DecisionKind,
    DepartmentReport,
    ReportOutcome,
    ReviewDecision,
    ReviewSlot,
)


class Wake(StrEnum):
    """What the case does by itself at its next wake."""

    REMIND_OFFICER = "remind_officer"  # a reminder at a fraction of the report window
    REPORT_DEADLINE_MISSED = "report_deadline_missed"  # escalates
    CALLBACK_OVERDUE = "callback_overdue"  # the verification call was not made: escalates
    ROLL_OVER = "roll_over"  # undecided at its session: on to the next one
    REOPEN_WINDOW_ENDS = "reopen_window_ends"  # a closed case's workflow finishes


def next_wake(
    state: ComplaintState,
    policy: Policy,
    now: datetime,
    *,
    ladder: Ladder,
) -> tuple[datetime, Wake] | None:
    """The next moment the case must move by itself and what it does then; None for a case
    with nothing ahead (withdrawn, or not yet forwarded). Every open status has exactly one.

    A case on a forum rolls over `rollover_after` its rung's forum on `ladder` says. No
    reminder once the deadline has passed (the stack was down through it): the case
    escalates at once instead. A closed case waits out its reopen and appeal windows.
    Raises AssertionError if the state lacks what its status promises (a bug, not input)."""
    match state.status:
        case ComplaintStatus.AWAITING_REPORT:
            assert state.next_deadline and state.report_window_start
            fractions = policy.reminder_fractions[state.reminders_sent :]
            late = now >= state.next_deadline
            if fractions and not late:
                window = state.next_deadline - state.report_window_start
                remind_at = state.report_window_start + window * fractions[0]
                if remind_at < state.next_deadline:
                    return remind_at, Wake.REMIND_OFFICER
            return state.next_deadline, Wake.REPORT_DEADLINE_MISSED
        case ComplaintStatus.AWAITING_CALLBACK:
            assert state.next_deadline
            return state.next_deadline, Wake.CALLBACK_OVERDUE
        case status if on_agenda(status):
            assert state.review
            return state.review.starts_at + rollover_after(state, policy, ladder), Wake.ROLL_OVER
        case ComplaintStatus.CLOSED:
            assert state.closed_at
            window = max(policy.reopen_window, policy.appeal_window)
            return state.closed_at + window, Wake.REOPEN_WINDOW_ENDS
        case _:
            return None


def spread_offset(workflow_id: str, spread: timedelta) -> timedelta:
    """How long after its moment a case moves by itself (`Policy.timer_spread`): a fixed
    whole number of seconds in [0, spread), from a CRC-32 of `workflow_id` (the same for
    every run of the case and on every worker); zero for a spread under a second."""
    seconds = int(spread.total_seconds())
    if seconds <= 0:
        return timedelta(0)
    return timedelta(seconds=zlib.crc32(workflow_id.encode()) % seconds)


def spread_moment(
    moment: datetime,
    kind: Wake,
    *,
    workflow_id: str,
    spread: timedelta,
    deadline: datetime | None,
) -> datetime:
    """When the case moves for `next_wake`'s (`moment`, `kind`): `moment` plus the case's
    offset within `spread` (`spread_offset`), except a reminder the offset would carry to or
    past its `deadline` (a spread longer than the time from the reminder to the deadline),
    which stays at `moment`."""
    offset = spread_offset(workflow_id, spread)
    if kind is Wake.REMIND_OFFICER and deadline is not None and moment + offset >= deadline:
        return moment
    return moment + offset


def rollover_after(state: ComplaintState, policy: Policy, ladder: Ladder) -> timedelta:
    """How long after its session starts an undecided case on an agenda rolls over (its
    forum's time; the policy's for a rung without a forum)."""
    if state.rung is not None:
        forum = ladder.rung(state.rung).forum
        if forum is not None:
            return forum.rollover_after
    return policy.review_rollover_after


def case_ladder(ladder: Ladder | None, policy: Policy) -> Ladder:
    """The ladder a case runs: the one in its input, or when it carries none, the seed's with
    the policy's session settings."""
    return ladder if ladder is not None else with_policy(JHARKHAND, policy)


def rung_of(state: ComplaintState, ladder: Ladder) -> Rung:
    """The rung the case stands on: its recorded code, or for a state carried without one,
    the one its stored escalation level names."""
    if state.rung is not None:
        return ladder.rung(state.rung)
    return ladder.for_level(int(state.escalation_level))


def rung_slot(
    rung: Rung, now: datetime, district: str | None, calendar: WorkingCalendar | None
) -> ReviewSlot:
    """The sitting of `rung`'s forum a case escalated (or rolled over) at `now` goes to: the
    first whose agenda cutoff is still ahead, the district's own for a forum held per
    district (its division's for one held per division), moved off holidays by `calendar`."""
    forum = rung.forum
    assert forum is not None  # a validated ladder: every rung above the first has one
    where = forum.place_of(district)
    starts_at = next_sitting(forum, now, district=where, calendar=calendar)
    return ReviewSlot(
        kind=forum.session_kind,
        session_id=session_id(forum.session_kind, starts_at, where),
        starts_at=starts_at,
    )


def rung_exhausted(rung: Rung, rollovers: int) -> bool:
    """Whether a case undecided `rollovers` sessions in a row at `rung`'s forum goes up the
    ladder instead of rolling over (never on the top rung, whose rollovers are counted)."""
    forum = rung.forum
    return (
        forum is not None and forum.max_rollovers is not None and rollovers >= forum.max_rollovers
    )


def review_deadline(slot: ReviewSlot, rollover_after: timedelta) -> datetime:
    """The published deadline of a case on an agenda: the moment it rolls over if still
    undecided (`rollover_after` its forum's sitting starts), so "overdue" means stuck."""
    return slot.starts_at + rollover_after


def review_request_granted(
    *,
    now: datetime,
    next_deadline: datetime | None,
    promise: datetime,
    citizen_unsatisfied: bool,
) -> bool:
    """A citizen's request for review is granted at once when the case is overdue, has
    outlived its promise, or the citizen is unsatisfied with the latest report."""
    overdue = next_deadline is not None and now >= next_deadline
    return overdue or now > promise or citizen_unsatisfied


class CallbackNext(StrEnum):
    RETRY = "retry"  # another attempt, `retry_at`
    CLOSE = "close"  # the last attempt failed; policy closes (citizen told)
    ESCALATE = "escalate"  # the last attempt failed; to review


@dataclass(frozen=True)
class CallbackStep:
    """What follows an unreachable attempt: the next attempt's due time and the moment the
    case escalates if it is not made (RETRY), or the end of the attempts."""

    next: CallbackNext
    due_at: datetime | None = None
    overdue_at: datetime | None = None


def after_unreachable(attempts: int, now: datetime, policy: Policy) -> CallbackStep:
    """After the `attempts`-th unreachable attempt at `now` (attempts >= 1)."""
    if attempts < policy.callback_attempts:
        due_at = now + policy.callback_retry_after
        return CallbackStep(CallbackNext.RETRY, due_at, due_at + policy.callback_overdue_after)
    if policy.callback_exhausted_action == "close":
        return CallbackStep(CallbackNext.CLOSE)
    return CallbackStep(CallbackNext.ESCALATE)


def callback_schedule(now: datetime, policy: Policy) -> tuple[datetime, datetime]:
    """A report received at `now`: when the verification call falls due, and when the case
    escalates if no outcome is recorded."""
    due_at = now + policy.callback_due_after
    return due_at, due_at + policy.callback_overdue_after


def report_due(start: datetime, policy: Policy, *, suggestion: bool, urgent: bool) -> datetime:
    """When the report on work arriving at `start` is due: at the end of a working day or in
    working days, as the policy says (`Policy.report_due`)."""
    return policy.report_due(start, suggestion=suggestion, urgent=urgent)


def promise(
    promise_at: datetime | None,
    registered_at: datetime,
    policy: Policy,
    *,
    suggestion: bool,
    urgent: bool,
) -> datetime:
    """When the case was promised to be dealt with: `promise_at`, set at its forwarding, each
    directive and each reopening; a state carried without one, registration plus the report
    window."""
    if promise_at is not None:
        return promise_at
    return registered_at + policy.report_deadline(suggestion=suggestion, urgent=urgent)


def directive_due(start: datetime, policy: Policy) -> datetime:
    """A directive's deadline when the review gave none (the policy's default, at the end of
    a working day or in working days)."""
    return policy.due(
        start, policy.directive_default_deadline, policy.directive_default_working_days
    )


@dataclass(frozen=True)
class TransferTerms:
    """The new officer's deadline after a transfer, and why the case goes to review instead
    of waiting for it (None: it waits)."""

    deadline: datetime
    escalate_because: str | None


def transfer_terms(
    *, now: datetime, usual_due: datetime, promise: datetime, transfers: int, policy: Policy
) -> TransferTerms:
    """A transfer never resets the citizen's clock: the new officer gets the usual window
    (`usual_due`) but never past the promise plus `transfer_grace`; a case transferred more
    than `max_transfers` times, or past its promise plus grace, goes to review."""
    cap = promise + policy.transfer_grace
    deadline = min(usual_due, cap)
    if transfers > policy.max_transfers:
        reason: str | None = f"transferred {transfers} times"
    elif deadline <= now:
        reason = f"transferred after the promised time {fmt_ist(promise)}"
    else:
        reason = None
    return TransferTerms(deadline=max(deadline, now), escalate_because=reason)


# ---- closure trust: interim replies, reasons --------------------------------------


def interim_refusal(
    *, reason: str, text: str, expected_by: datetime, now: datetime, allowed: tuple[str, ...]
) -> tuple[str, dict[str, str]] | None:
    """Why an interim reply is refused (a refusal key and its parameters), or None: its reason
    must be one of the state's (`allowed`), its text say something, its expected date lie
    ahead and carry a zone."""
    if reason not in allowed:
        return "reason_not_listed", {
            "field": "reason",
            "value": reason,
            "valid": ", ".join(allowed),
        }
    if not text.strip():
        return "text_required", {"field": "text"}
    if expected_by.tzinfo is None:
        return "deadline_zone", {}
    if expected_by <= now:
        return "expected_past", {}
    return None


def extension_request(expected_by: datetime, deadline: datetime | None) -> datetime | None:
    """The extension an interim reply asks for: its expected date when that is past the
    moment the case escalates (`deadline`), else None. It never moves the deadline: the next
    review decides it."""
    if deadline is not None and expected_by > deadline:
        return expected_by
    return None


def not_actionable_refusal(
    reason: str | None, allowed: tuple[str, ...]
) -> tuple[str, dict[str, str]] | None:
    """Why a "not actionable" report's reason is refused, or None. "Does not pertain" is a
    transfer, never a closure."""
    if reason is None or not reason.strip():
        return "reason_required", {"field": "reason", "valid": ", ".join(allowed)}
    if reason in DOES_NOT_PERTAIN:
        return "does_not_pertain", {}
    if reason not in allowed:
        return "reason_not_listed", {
            "field": "reason",
            "value": reason,
            "valid": ", ".join(allowed),
        }
    return None


def appeal_asked(score: int, explicit: bool) -> bool:
    """Whether a rating appeals the closure: a score of 1 or 2 ("poor"), or an explicit
    appeal."""
    return explicit or score <= 2


def rating_refusal(
    *,
    closed_at: datetime | None,
    now: datetime,
    window: timedelta,
    appeal: bool,
    closures: int,
    appealed_closure: int,
) -> tuple[str, dict[str, str]] | None:
    """Why a rating (or appeal) of the latest closure is refused, or None: the window after
    the closure has ended (the citizen is told how to file anew), or this closure was
    appealed already (one appeal per closure)."""
    if closed_at is None:
        return "not_closed", {}
    if now > closed_at + window:
        return "appeal_window_ended", {
            "days": str(window.days),
            "date": fmt_ist(closed_at + window).split(" ")[0],
        }
    if appeal and appealed_closure == closures:
        return "already_appealed", {}
    return None


# ---- the updates' checks: why an action is refused (a key of `schemas.refusals`) ----------

# A refusal: its key in `schemas.refusals` and the values its words name.
Refusal = tuple[str, dict[str, Any]]


def refuse(refusal: Refusal | None) -> None:
    """Raise `refusal` (its key and values) as the case's `CaseRejected`, if there is one."""
    if refusal is not None:
        raise CaseRejected(refusal[0], **refusal[1])


def status_refusal(status: str, *wanted: str) -> Refusal | None:
    """Refused unless the case is in one of the `wanted` statuses."""
    if status in wanted:
        return None
    return "wrong_status", {"status": str(status), "wanted": " or ".join(str(w) for w in wanted)}


def agenda_refusal(status: str, ladder: Ladder) -> Refusal | None:
    """Refused unless the case is on a forum's agenda (any rung of `ladder` above the
    officer's)."""
    if on_agenda(status):
        return None
    wanted = " or ".join(str(rung.status) for rung, _ in ladder.forums())
    return "wrong_status", {"status": str(status), "wanted": wanted}


def open_refusal(status: str) -> Refusal | None:
    """Refused unless the case is open and forwarded (a citizen's action on it)."""
    if is_open(status) and status != ComplaintStatus.REGISTERED:
        return None
    return "not_open", {"status": str(status)}


def report_refusal(
    report: DepartmentReport, *, kind: ComplaintKind, policy: Policy
) -> Refusal | None:
    """Why an officer's report is refused: an outcome not for the case's kind, an empty reply,
    a transfer naming no known district or department, or a "not actionable" reason not of
    the state's list (`not_actionable_refusal`)."""
    allowed = SUGGESTION_OUTCOMES if kind is ComplaintKind.SUGGESTION else COMPLAINT_OUTCOMES
    if report.outcome not in allowed:
        return "outcome_not_for_kind", {
            "outcome": report.outcome.value,
            "kind": kind.value,
            "valid": ", ".join(sorted(o.value for o in allowed)),
        }
    if not report.reply.strip():
        return "reply_required", {}
    if report.outcome is ReportOutcome.TRANSFERRED:
        district, department = report.transfer_to_district, report.transfer_to_department
        if not (district or department):
            return "transfer_target", {}
        if district and not canonical_district(district):
            return "unknown_district", {"value": district}
        if department and not canonical_department(department):
            return "unknown_department", {"value": department}
    if report.outcome is ReportOutcome.NOT_ACTIONABLE:
        return not_actionable_refusal(report.reason, policy.not_actionable_reasons)
    return None


def callback_refusal(
    result: CallbackResult, *, attempts: int, due_at: datetime | None, now: datetime
) -> Refusal | None:
    """Why a verification call's outcome is refused: "not satisfied" without the citizen's
    words, or an "unreachable" while the attempt just recorded is not yet due again (a second
    tap is not a second attempt)."""
    if result.outcome is CallbackOutcome.NOT_SATISFIED and not (result.remark or "").strip():
        return "remark_required", {}
    if (
        result.outcome is CallbackOutcome.UNREACHABLE
        and attempts > 0
        and due_at is not None
        and now < due_at
    ):
        return "attempt_just_recorded", {"attempt": attempts, "due": fmt_ist(due_at)}
    return None


def session_refusal(review: ReviewSlot | None, requested: str) -> Refusal | None:
    """Refused when an action names a session (`requested`) other than the case's own."""
    if review is not None and review.session_id == requested:
        return None
    current = review.session_id if review else "no session"
    return "other_session", {"current": current, "requested": requested}


def decision_refusal(decision: ReviewDecision, *, now: datetime) -> Refusal | None:
    """Why a review's decision is refused: a closure without the citizen informed, or a
    deadline without a zone or not ahead of `now`."""
    if decision.decision is DecisionKind.CLOSE and not decision.citizen_informed:
        return "citizen_not_informed", {}
    deadline = decision.new_deadline
    if deadline is not None:
        if deadline.tzinfo is None:
            return "deadline_zone", {}
        if deadline <= now:
            return "deadline_past", {}
    return None


def reopen_refusal(closed_at: datetime, now: datetime, window: timedelta) -> Refusal | None:
    """Refused once the reopen `window` after the closure has ended (the date it ended)."""
    if now <= closed_at + window:
        return None
    return "reopen_window_ended", {"days": window.days, "date": fmt_ist_date(closed_at + window)}
