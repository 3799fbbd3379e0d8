"""The whole complaint lifecycle on the time-skipping test server, with the real activities
(read model on SQLite, SMS to the local outbox). Time is skipped, never slept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.models import Officer, TimelineEvent
from core.settings import Settings
from schemas.calendar import IST, is_last_tuesday
from schemas.enums import ClosureReason, ComplaintStatus, EscalationLevel, OfficerRole, is_open
from schemas.policy import Policy
from schemas.workflow import (
    DEFAULT_MAX_HISTORY_EVENTS,
    CallbackOutcome,
    CallbackResult,
    ComplaintWorkflowInput,
    DecisionKind,
    DepartmentReport,
    Reopening,
    ReportOutcome,
    ReviewDecision,
    ReviewRequest,
    Withdrawal,
)
from tests.lifecycle_helpers import (
    DAY,
    CaseHandle,
    keep_history,
    messages,
    open_case,
    reach,
    rejected,
    row_of,
    settled,
    state_of,
    timeline,
)
from workflows import rules
from workflows.complaint import ComplaintWorkflow

RESOLVED = DepartmentReport(
    outcome=ReportOutcome.RESOLVED,
    reply="शौचालय का निर्माण पूरा हुआ (toilet built on 2 Dec)",
    submitted_by="nodal-district-ranchi",
)
SATISFIED = CallbackResult(outcome=CallbackOutcome.SATISFIED, telecaller="tc-07")
UNSATISFIED = CallbackResult(
    outcome=CallbackOutcome.NOT_SATISFIED, remark="still no toilet", telecaller="tc-07"
)
UNREACHABLE = CallbackResult(outcome=CallbackOutcome.UNREACHABLE, telecaller="tc-07")


def directive(days: int = 5) -> ReviewDecision:
    return ReviewDecision(
        decision=DecisionKind.DIRECTIVE,
        text="Complete the work and report",
        decided_by="cm-secretary",
    )


async def opened(
    env: WorkflowEnvironment,
    engine: Engine,
    settings: Settings,
    policy_history: int = DEFAULT_MAX_HISTORY_EVENTS,
    **kw: Any,
) -> CaseHandle:
    handle = await open_case(env.client, engine, settings, max_history_events=policy_history, **kw)
    await reach(handle, ComplaintStatus.AWAITING_REPORT)
    return handle


async def test_happy_path_report_verified_closed_then_finished_after_reopen_window(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    result = await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    assert result.status is ComplaintStatus.AWAITING_CALLBACK
    assert row_of(engine, handle).callback_due_at is not None

    result = await handle.execute_update(ComplaintWorkflow.record_callback, SATISFIED)
    assert result.status is ComplaintStatus.CLOSED
    row = row_of(engine, handle)
    assert row.closure_reason is ClosureReason.RESOLVED_VERIFIED
    assert row.last_reply == RESOLVED.reply
    assert row.next_deadline is None

    await env.sleep(timedelta(days=16))  # past the 15-day reopen window
    outcome = await handle.result()
    assert outcome.status is ComplaintStatus.CLOSED
    assert timeline(engine, handle) == [
        "registered",
        "forwarded",
        "report_received",
        "closed",
    ]
    templates = [(m.template, m.recipient_kind.value) for m in messages(engine, handle)]
    # The officer is told first; then the citizen gets the number, then where it went.
    assert templates == [
        ("officer_assigned", "officer"),
        ("acknowledgement", "citizen"),
        ("forwarded", "citizen"),
        ("report_received", "citizen"),
        ("closed", "citizen"),
    ]
    await keep_history(handle, "happy_path")


async def test_overdue_goes_to_weekly_review_then_directive_then_resolved(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    opened_state = await state_of(handle)
    assert opened_state.next_deadline is not None

    await env.sleep(timedelta(days=16))
    state = await reach(handle, ComplaintStatus.WEEKLY_REVIEW)
    assert state.escalation_level is EscalationLevel.WEEKLY_REVIEW
    assert state.reminders_sent == 2  # at 50% and 80% of the window
    assert state.review is not None
    session = state.review.starts_at.astimezone(IST)
    assert session.weekday() == 1 and (session.hour, session.minute) == (11, 0)
    # After the deadline, and with the agenda cutoff (17h before) still ahead at escalation.
    assert session - timedelta(hours=17) > opened_state.next_deadline
    assert session - opened_state.next_deadline <= timedelta(days=8)
    row = row_of(engine, handle)
    assert row.review_session_id == state.review.session_id
    assert row.status is ComplaintStatus.WEEKLY_REVIEW

    result = await handle.execute_update(ComplaintWorkflow.record_decision, directive())
    assert result.status is ComplaintStatus.AWAITING_REPORT
    assert result.escalation_level is EscalationLevel.WEEKLY_REVIEW
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    await handle.execute_update(ComplaintWorkflow.record_callback, SATISFIED)
    assert (await state_of(handle)).status is ComplaintStatus.CLOSED
    events = timeline(engine, handle)
    assert events[:4] == ["registered", "forwarded", "officer_reminded", "officer_reminded"]
    assert "escalated_to_weekly_review" in events and "directive_given" in events
    assert any(m.template == "escalated" for m in messages(engine, handle))
    assert any(m.template == "officer_reminder" for m in messages(engine, handle))
    await keep_history(handle, "overdue_review_directive")


async def test_cases_due_together_move_each_at_its_own_offset_within_the_spread(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """A day's cases share one deadline; with `timer_spread` each escalates at the deadline
    plus its own offset, and until then a late report is still taken."""
    spread = timedelta(hours=1)
    policy = Policy(working_day_ends=None, timer_spread=spread, reminder_fractions=())
    handles = [await opened(env, engine, settings, policy=policy) for _ in range(4)]
    deadlines = [(await state_of(h)).next_deadline for h in handles]
    offsets = [rules.spread_offset(h.id, spread) for h in handles]
    assert len(set(offsets)) == 4 and max(offsets) > timedelta(minutes=1)

    # Just past the shared deadline: overdue, but a case whose offset is still ahead waits.
    await env.sleep(policy.report_deadline_complaint + timedelta(seconds=2))
    last = max(range(4), key=lambda i: offsets[i])
    assert (await state_of(handles[last])).status is ComplaintStatus.AWAITING_REPORT
    assert row_of(engine, handles[last]).next_deadline == deadlines[last]
    taken = await handles[last].execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    assert taken.status is ComplaintStatus.AWAITING_CALLBACK

    await env.sleep(spread)
    for i, handle in enumerate(handles):
        if i == last:
            assert "escalated_to_weekly_review" not in timeline(engine, handle)
            continue
        await reach(handle, ComplaintStatus.WEEKLY_REVIEW)
        with Session(engine) as session:
            moved = session.exec(
                select(TimelineEvent.at).where(
                    TimelineEvent.complaint_id == row_of(engine, handle).id,
                    TimelineEvent.event == "escalated_to_weekly_review",
                )
            ).one()
        deadline = deadlines[i]
        assert deadline is not None
        assert abs(moved - (deadline + offsets[i])) < timedelta(seconds=2)
    await keep_history(handles[0 if last else 1], "spread_escalation")


def moment_of(engine: Engine, handle: Any, event: str) -> Any:
    """When the case's timeline first recorded `event`."""
    with Session(engine) as session:
        return session.exec(
            select(TimelineEvent.at)
            .where(
                TimelineEvent.complaint_id == row_of(engine, handle).id,
                TimelineEvent.event == event,
            )
            .order_by(col(TimelineEvent.seq))
        ).first()


async def test_a_reminder_is_never_spread_past_its_own_deadline(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """A spread longer than the time from a reminder to its deadline: a case whose offset
    would carry its reminder past the deadline is reminded at the reminder's own moment; a
    case with a smaller offset at that moment plus its offset; both escalate at their
    deadline plus their offset."""
    spread, gap = timedelta(hours=4), timedelta(hours=1)
    window = Policy().report_deadline_complaint
    policy = Policy(
        working_day_ends=None, timer_spread=spread, reminder_fractions=(1 - gap / window,)
    )
    cases: dict[bool, tuple[Any, timedelta, Any]] = {}
    for _ in range(12):
        handle = await opened(env, engine, settings, policy=policy)
        offset = rules.spread_offset(handle.id, spread)
        due = (await state_of(handle)).next_deadline
        cases.setdefault(offset >= gap, (handle, offset, due))
        if len(cases) == 2:
            break
    assert set(cases) == {True, False}, "the ids gave no offset on each side of the gap"

    await env.sleep(window + spread + timedelta(minutes=1))
    for past, (handle, offset, due) in cases.items():
        await reach(handle, ComplaintStatus.WEEKLY_REVIEW)
        reminded = moment_of(engine, handle, "officer_reminded")
        escalated = moment_of(engine, handle, "escalated_to_weekly_review")
        assert reminded is not None and escalated is not None
        expected = due - gap + (timedelta(0) if past else offset)
        assert abs(reminded - expected) < timedelta(seconds=2), (past, reminded, expected)
        assert reminded < due
        assert abs(escalated - (due + offset)) < timedelta(seconds=2)
    # The held reminder's path (its timer shorter than the offset would have made it).
    await keep_history(cases[True][0], "reminder_held_before_deadline")


async def test_unsatisfied_twice_goes_to_sidhi_baat_on_a_last_tuesday(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings, wishes_to_meet_cm=True)
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    result = await handle.execute_update(ComplaintWorkflow.record_callback, UNSATISFIED)
    assert result.status is ComplaintStatus.WEEKLY_REVIEW

    await handle.execute_update(ComplaintWorkflow.record_decision, directive())
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    result = await handle.execute_update(ComplaintWorkflow.record_callback, UNSATISFIED)
    assert result.status is ComplaintStatus.SIDHI_BAAT
    assert result.escalation_level is EscalationLevel.SIDHI_BAAT
    assert result.review is not None
    assert is_last_tuesday(result.review.starts_at.astimezone(IST).date())
    row = row_of(engine, handle)
    assert row.citizen_remark == "still no toilet"
    assert row.wishes_to_meet_cm is True
    await keep_history(handle, "unsatisfied_twice_sidhi_baat")


async def test_urgent_goes_straight_to_the_department_with_an_hours_deadline(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings, category="crime", description="मारपीट हुई")
    state = await state_of(handle)
    assert state.officer is not None
    assert state.officer.officer_id == "urgent-desk-police"
    assert state.officer.role is OfficerRole.URGENT_DESK
    assert state.next_deadline and state.report_window_start
    assert state.next_deadline - state.report_window_start == timedelta(hours=12)
    assert row_of(engine, handle).urgent is True

    await env.sleep(timedelta(hours=13))
    state = await reach(handle, ComplaintStatus.WEEKLY_REVIEW)
    assert state.reminders_sent == 2
    await keep_history(handle, "urgent_overdue")


async def test_suggestion_is_answered_without_callback(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings, kind="suggestion", description="गाँव में पुस्तकालय खोलें")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            ComplaintWorkflow.submit_report, RESOLVED
        )  # not for a suggestion
    consider = DepartmentReport(
        outcome=ReportOutcome.UNDER_CONSIDERATION, reply="Being examined", submitted_by="dept"
    )
    result = await handle.execute_update(ComplaintWorkflow.submit_report, consider)
    assert result.status is ComplaintStatus.AWAITING_REPORT  # a final answer is still due
    await settled(handle)
    sent = [m.template for m in messages(engine, handle)]
    # The citizen hears it is being considered (not "forwarded" again: the first one is sent
    # or, if its turn came after this, dropped as stale); the officer, who has the case, gets
    # no second assignment SMS.
    assert sent.count("suggestion_under_consideration") == 1
    assert sent.count("forwarded") <= 1 and sent.count("officer_assigned") == 1
    accepted = DepartmentReport(
        outcome=ReportOutcome.ACCEPTED, reply="A library opens in March", submitted_by="dept"
    )
    result = await handle.execute_update(ComplaintWorkflow.submit_report, accepted)
    assert result.status is ComplaintStatus.CLOSED
    assert row_of(engine, handle).closure_reason is ClosureReason.SUGGESTION_ANSWERED
    await settled(handle)
    assert "suggestion_answered" in [m.template for m in messages(engine, handle)]
    with rejected("no_callback_for_suggestion"):
        await handle.execute_update(ComplaintWorkflow.record_callback, SATISFIED)
    await keep_history(handle, "suggestion_answered")


async def test_unanswered_suggestion_escalates_to_weekly_review(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings, kind="suggestion")
    await env.sleep(timedelta(days=31))
    await reach(handle, ComplaintStatus.WEEKLY_REVIEW)


async def test_unreachable_citizen_is_retried_then_escalated(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    first = row_of(engine, handle).callback_due_at
    result = await handle.execute_update(ComplaintWorkflow.record_callback, UNREACHABLE)
    assert result.status is ComplaintStatus.AWAITING_CALLBACK
    await env.sleep(DAY)
    await handle.execute_update(ComplaintWorkflow.record_callback, UNREACHABLE)
    row = row_of(engine, handle)
    assert row.callback_attempts == 2
    assert first is not None and row.callback_due_at is not None and row.callback_due_at > first
    # A second tap right after is not a third attempt: the next one is due a day later.
    with rejected("attempt_just_recorded"):
        await handle.execute_update(ComplaintWorkflow.record_callback, UNREACHABLE)
    await env.sleep(DAY)
    result = await handle.execute_update(ComplaintWorkflow.record_callback, UNREACHABLE)
    assert result.status is ComplaintStatus.WEEKLY_REVIEW  # never silently closed
    assert timeline(engine, handle).count("citizen_unreachable") == 3
    await keep_history(handle, "unreachable_escalated")


async def test_callback_never_made_escalates_by_itself(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    await env.sleep(timedelta(days=5))
    await reach(handle, ComplaintStatus.WEEKLY_REVIEW)


async def test_transfer_reroutes_without_resetting_the_citizens_clock(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    promise = (await state_of(handle)).promise_at
    assert promise is not None
    await env.sleep(timedelta(days=10))
    transfer = DepartmentReport(
        outcome=ReportOutcome.TRANSFERRED,
        reply="Hospital matter: Health department",
        submitted_by="nodal-district-ranchi",
        transfer_to_department="health",
    )
    result = await handle.execute_update(ComplaintWorkflow.submit_report, transfer)
    assert result.status is ComplaintStatus.AWAITING_REPORT
    state = await state_of(handle)
    assert state.officer and state.officer.officer_id == "nodal-department-health"
    # Not a fresh 15 days: the promise (registration + 15 days) plus the 2-day grace.
    assert state.next_deadline == promise + timedelta(days=2)
    assert state.promise_at == promise
    row = row_of(engine, handle)
    assert row.department == "health" and row.assigned_officer_id == "nodal-department-health"
    assert "transferred" in timeline(engine, handle)

    bad = transfer.model_copy(update={"transfer_to_department": None})
    with rejected("transfer_to_district"):
        await handle.execute_update(ComplaintWorkflow.submit_report, bad)
    await keep_history(handle, "transferred")


async def test_reopen_within_window_and_refused_after(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    await handle.execute_update(ComplaintWorkflow.record_callback, SATISFIED)
    await env.sleep(timedelta(days=3))
    result = await handle.execute_update(
        ComplaintWorkflow.reopen, Reopening(reason="the toilet has no door")
    )
    assert result.status is ComplaintStatus.AWAITING_REPORT
    await settled(handle)
    assert "reopened" in [m.template for m in messages(engine, handle)]
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    await handle.execute_update(ComplaintWorkflow.record_callback, SATISFIED)
    await keep_history(handle, "reopened")

    await env.sleep(timedelta(days=16))
    assert (await handle.result()).status is ComplaintStatus.CLOSED  # the workflow finished
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await handle.execute_update(ComplaintWorkflow.reopen, Reopening(reason="again"))


async def test_withdrawal_finishes_the_case(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    await handle.execute_update(ComplaintWorkflow.withdraw, Withdrawal(reason="solved locally"))
    outcome = await handle.result()
    assert outcome.status is ComplaintStatus.WITHDRAWN
    assert row_of(engine, handle).status is ComplaintStatus.WITHDRAWN
    assert "withdrawn" in [m.template for m in messages(engine, handle)]
    await keep_history(handle, "withdrawn")


async def test_review_request_is_answered_with_deadline_when_not_due(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    result = await handle.execute_update(
        ComplaintWorkflow.request_review, ReviewRequest(note="please hurry", via="sms")
    )
    assert result.status is ComplaintStatus.AWAITING_REPORT
    assert "not yet due" in result.message
    assert "review_requested" in timeline(engine, handle)
    await settled(handle)
    assert "review_request_answer" in [m.template for m in messages(engine, handle)]


async def test_review_request_is_honoured_when_the_case_outlived_its_promise(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    await env.sleep(timedelta(days=14))
    transfer = DepartmentReport(
        outcome=ReportOutcome.TRANSFERRED,
        reply="Belongs to the district of Khunti",
        submitted_by="nodal-district-ranchi",
        transfer_to_district="Khunti",
    )
    await handle.execute_update(ComplaintWorkflow.submit_report, transfer)
    await env.sleep(timedelta(days=2))  # 16 days old: older than the 15 days promised
    result = await handle.execute_update(
        ComplaintWorkflow.request_review, ReviewRequest(note="20983/2018 waited a year")
    )
    assert result.status is ComplaintStatus.WEEKLY_REVIEW
    assert "review granted" in result.message
    await keep_history(handle, "review_request_honoured")


async def test_missing_nodal_officer_goes_to_the_state_fallback_visibly(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        officer = session.get(Officer, "nodal-district-godda")
        assert officer is not None
        officer.active = False
        session.add(officer)
        session.commit()
    handle = await opened(env, engine, settings, citizen__district="Godda", citizen__pincode=None)
    state = await state_of(handle)
    assert state.officer and state.officer.officer_id == "state-fallback"
    assert state.officer.gap and "Godda" in state.officer.gap
    assert state.next_deadline is not None  # the case does not stall


async def test_report_refused_when_not_awaiting_one_and_nothing_is_written(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    blank = DepartmentReport(outcome=ReportOutcome.RESOLVED, reply="   ", submitted_by="x")
    with rejected("reply"):
        await handle.execute_update(ComplaintWorkflow.submit_report, blank)
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    before = timeline(engine, handle)
    with rejected("wrong_status"):
        await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    with rejected("remark"):
        await handle.execute_update(
            ComplaintWorkflow.record_callback,
            CallbackResult(outcome=CallbackOutcome.NOT_SATISFIED, telecaller="tc"),
        )
    assert timeline(engine, handle) == before
    # Rejected in the validator: nothing about them entered the history.
    history = await handle.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 1


async def test_a_case_open_two_years_continues_as_new_and_keeps_its_state(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """A case the officers keep failing: directives, reminders and escalations for two years."""
    first = await opened(env, engine, settings, policy_history=300)
    started = await open_case_input(first)
    handle: CaseHandle = env.client.get_workflow_handle(first.id)  # always the latest run
    directives = 0
    for _month in range(24):
        await env.sleep(timedelta(days=30))
        state = await state_of(handle)
        if state.status in (ComplaintStatus.WEEKLY_REVIEW, ComplaintStatus.SIDHI_BAAT):
            await handle.execute_update(ComplaintWorkflow.record_decision, directive())
            directives += 1
    # The last directive's SMS go out after it (and may cross a continuation): let them.
    await settled(handle)
    state = await state_of(handle)
    assert is_open(state.status)
    assert state.escalation_level is EscalationLevel.SIDHI_BAAT
    assert state.continued >= 2, "the case never continued as new"
    assert state.directives_received == directives >= 12
    assert state.officer is not None and state.officer.officer_id == "nodal-district-ranchi"

    # Follow the chain of runs: each one small, each handing over to the next.
    run_id: str | None = first.first_execution_run_id
    runs = 0
    while run_id:
        history = await env.client.get_workflow_handle(first.id, run_id=run_id).fetch_history()
        assert len(history.events) < 10_000
        runs += 1
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    assert runs == state.continued + 1
    # Every step of every run reached the read model, in order, none lost at a continuation.
    events = timeline(engine, first)
    assert len(events) == state.event_seq
    assert events.count("directive_given") == directives
    assert started.max_history_events == 300


async def open_case_input(handle: CaseHandle) -> ComplaintWorkflowInput:
    history = await handle.fetch_history()
    return ComplaintWorkflowInput.model_validate(
        pydantic_data_converter.payload_converter.from_payloads(
            history.events[0].workflow_execution_started_event_attributes.input.payloads
        )[0]
    )
