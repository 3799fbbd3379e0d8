"""Weekly review and Sidhi Baat sessions on the time-skipping test server, with the real
activities (read model on SQLite, SMS to a counting outbox). Time is skipped, never slept."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.api.testservice.v1 import UnlockTimeSkippingRequest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.review import ReviewActivities
from activities.sms import OutboxGateway, OutgoingSms, SentSms
from core.models import Message, ReviewItem, ReviewSession, TimelineEvent
from core.settings import Settings
from harness.factories import eventually
from schemas.calendar import (
    IST,
    SessionKind,
    is_last_tuesday,
    last_tuesday_of_month,
    next_session,
    upcoming_sessions,
)
from schemas.enums import ComplaintStatus
from schemas.escalation import session_id
from schemas.policy import Policy
from schemas.review import (
    AgendaItem,
    CloseSessionRequest,
    DecisionRequest,
    ItemOutcome,
    OfficerNoticeInput,
    PlannerInput,
    PlannerResult,
    SessionPhase,
    SessionSummary,
)
from schemas.workflow import (
    CallbackOutcome,
    CallbackResult,
    ComplaintState,
    DecisionKind,
    DepartmentReport,
    ReportOutcome,
    ReviewDecision,
)
from tests.helpers import running_worker, to_monday_noon
from tests.lifecycle_helpers import (
    CaseHandle,
    keep_history,
    open_case,
    row_of,
    state_of,
    timeline,
)
from workflows.complaint import ComplaintWorkflow
from workflows.review import ReviewPlannerWorkflow, ReviewSessionWorkflow, session_workflow_id

RESOLVED = DepartmentReport(
    outcome=ReportOutcome.RESOLVED, reply="Toilet sanctioned", submitted_by="nodal"
)
UNSATISFIED = CallbackResult(
    outcome=CallbackOutcome.NOT_SATISFIED, remark="still no toilet", telecaller="tc-07"
)
CLOSED = SessionPhase.CLOSED
SessionHandle = WorkflowHandle[ReviewSessionWorkflow, SessionSummary]


class CountingGateway(OutboxGateway):
    """The outbox, counting hand-overs per message key (to prove "once per officer")."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def send(self, sms: OutgoingSms) -> SentSms:
        self.sent[sms.key] += 1
        return super().send(sms)


@pytest.fixture
def gateway() -> CountingGateway:
    return CountingGateway()


@pytest.fixture
async def env(
    ts_env: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: CountingGateway
) -> AsyncIterator[WorkflowEnvironment]:
    async with running_worker(ts_env.client, engine, settings, gateway=gateway):
        yield ts_env


# ---- helpers ----------------------------------------------------------------------------


async def escalated(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, **kw: Any
) -> CaseHandle:
    """A case whose citizen was not satisfied: on the agenda of a weekly review now."""
    handle = await open_case(env.client, engine, settings, **kw)
    await eventually(
        lambda: state_of(handle), lambda s: s.status is ComplaintStatus.AWAITING_REPORT
    )
    await handle.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    result = await handle.execute_update(ComplaintWorkflow.record_callback, UNSATISFIED)
    assert result.status is ComplaintStatus.WEEKLY_REVIEW
    return handle


async def now_ist(env: WorkflowEnvironment) -> datetime:
    return (await env.get_current_time()).astimezone(IST)


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    delta = moment - await env.get_current_time()
    assert delta > timedelta(0), f"{moment} is already past"
    await env.sleep(delta)


def next_weekday_at(after: datetime, weekday: int, at: time) -> datetime:
    """The first `weekday` (Monday = 0) at `at` IST strictly after `after`."""
    local = after.astimezone(IST)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    moment = datetime.combine(day, at, tzinfo=IST)
    return moment if moment > after else moment + timedelta(days=7)


async def plan(
    env: WorkflowEnvironment, settings: Settings, kind: SessionKind, ahead: int = 1
) -> PlannerResult:
    """Run the planner as the Schedule would."""
    return await env.client.execute_workflow(
        ReviewPlannerWorkflow.run,
        PlannerInput(
            kind=kind,
            workflow_id_prefix=settings.workflow_id_prefix,
            sessions_ahead=ahead,
            sms_task_queue=settings.sms_task_queue,
        ),
        id=f"{settings.workflow_id_prefix}planner-{uuid.uuid4().hex[:6]}",
        task_queue=settings.temporal_task_queue,
    )


def session_handle(env: WorkflowEnvironment, settings: Settings, sid: str) -> SessionHandle:
    return env.client.get_workflow_handle_for(
        ReviewSessionWorkflow.run, session_workflow_id(settings.workflow_id_prefix, sid)
    )


async def phase(handle: SessionHandle, wanted: SessionPhase) -> SessionSummary:
    return await eventually(
        lambda: handle.query(ReviewSessionWorkflow.get_summary), lambda s: s.phase is wanted
    )


async def review_of(handle: CaseHandle) -> ComplaintState:
    state = await state_of(handle)
    assert state.review is not None
    return state


def directive(reg: str, deadline: datetime | None = None) -> DecisionRequest:
    return DecisionRequest(
        registration_number=reg,
        decision=DecisionKind.DIRECTIVE,
        text="Build the toilet and report within ten days",
        decided_by="cm-secretary",
        new_deadline=deadline,
    )


async def skip_while_updates_run(
    env: WorkflowEnvironment, duration: timedelta, *, until: Callable[[], Awaitable[object]]
) -> None:
    """Skip `duration` while activities send updates to other workflows.

    The time-skipping test server keeps time locked after an update that arrives while it is
    skipping (the sleep never returns); once `until` holds, unlock it explicitly.
    """
    sleeping = asyncio.create_task(env.sleep(duration))
    await until()
    try:
        # Ended by itself (no update held the clock, or `until` held before the sleep began):
        # unlocking now would unlock the sleep's own unlock and fail it.
        await asyncio.wait_for(asyncio.shield(sleeping), timeout=2)
        return
    except TimeoutError:
        pass
    await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
    await asyncio.wait_for(sleeping, timeout=30)


# ---- calendar: which session a case lands on --------------------------------------------


async def test_escalation_after_the_cutoff_lands_on_the_tuesday_after_next(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    # Monday 19:00 IST: the Monday-18:00 cutoff of tomorrow's review has passed.
    monday = next_weekday_at(await now_ist(env), 0, time(19, 0))
    await sleep_until(env, monday)
    late = await review_of(await escalated(env, engine, settings))
    assert late.review is not None
    assert late.review.starts_at.astimezone(IST).date() == monday.date() + timedelta(days=8)

    # Wednesday: the coming Tuesday's cutoff is ahead (default policy) ...
    wednesday = monday + timedelta(days=2)
    await sleep_until(env, wednesday)
    case = await escalated(env, engine, settings)
    state = await review_of(case)
    assert state.review is not None
    assert state.review.starts_at.astimezone(IST).date() == wednesday.date() + timedelta(days=6)
    assert row_of(engine, case).review_session_id == state.review.session_id
    assert "escalated_to_weekly_review" in timeline(engine, case)

    # ... but with a week-long cutoff it has passed: the Tuesday after next.
    week_cutoff = Policy(agenda_cutoff_before=timedelta(days=7))
    state = await review_of(await escalated(env, engine, settings, policy=week_cutoff))
    assert state.review is not None
    assert state.review.starts_at.astimezone(IST).date() == wednesday.date() + timedelta(days=13)
    assert state.review.session_id == f"weekly-review-{wednesday.date() + timedelta(days=13)}"


# ---- a whole session -------------------------------------------------------------------


async def test_session_freezes_agenda_notifies_delivers_decisions_and_rolls_over(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: CountingGateway
) -> None:
    await to_monday_noon(env)
    ranchi_1 = await escalated(env, engine, settings)
    ranchi_2 = await escalated(env, engine, settings, citizen__phone="9876500001")
    dhanbad = await escalated(env, engine, settings, citizen__district="Dhanbad")
    slot = (await review_of(ranchi_1)).review
    assert slot is not None
    regs = {h: row_of(engine, h).registration_number for h in (ranchi_1, ranchi_2, dhanbad)}

    planned = await plan(env, settings, SessionKind.WEEKLY_REVIEW)
    assert planned.opened == [slot.session_id]
    again = await plan(env, settings, SessionKind.WEEKLY_REVIEW)
    assert again.opened == [] and again.already_open == [slot.session_id]
    session = session_handle(env, settings, slot.session_id)
    early = await phase(session, SessionPhase.SCHEDULED)
    assert early.cutoff_at == slot.starts_at - timedelta(hours=17)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await session.execute_update(
            ReviewSessionWorkflow.record_decision, directive(regs[ranchi_1])
        )
    assert "once the agenda of" in str(refused.value.cause)

    # Just after the cutoff: the agenda is frozen; a case escalated now goes a week later.
    await sleep_until(env, early.cutoff_at + timedelta(minutes=5))
    frozen = await phase(session, SessionPhase.AGENDA_FROZEN)
    late = await escalated(env, engine, settings)
    late_state = await review_of(late)
    assert late_state.review is not None
    assert late_state.review.starts_at == slot.starts_at + timedelta(days=7)
    late_reg = row_of(engine, late).registration_number
    # The agenda is the read model's (the session answers with counts).
    assert frozen.agenda == [] and frozen.agenda_count == 3
    agenda = frozen_agenda(engine, slot.session_id)
    assert set(agenda) == set(regs.values())
    item = agenda[regs[dhanbad]]
    assert item.district == "Dhanbad" and item.nodal_officer_id == "nodal-district-dhanbad"
    assert item.last_reply == RESOLVED.reply and item.citizen_remark == "still no toilet"
    assert [h.event for h in item.escalation_history] == [
        "citizen_not_satisfied",
        "escalated_to_weekly_review",
    ]
    with Session(engine) as db:
        row = db.get(ReviewSession, slot.session_id)
        assert row is not None and row.phase == "agenda_frozen" and row.agenda_count == 3

    # One notice per district nodal officer, with its own count; retried, never resent.
    expected_keys = {
        f"{slot.session_id}:nodal-district-ranchi",
        f"{slot.session_id}:nodal-district-dhanbad",
    }
    notices = await eventually(lambda: _anotices(engine, slot.session_id), lambda ms: len(ms) == 2)
    assert {m.key for m in notices} == expected_keys
    ranchi_notice = next(m for m in notices if m.key.endswith("ranchi"))
    assert ranchi_notice.text.startswith("CM Jan Samvad: 2 case(s) of Ranchi")
    assert "CMO teleconference bridge" in ranchi_notice.text and ranchi_notice.language == "en"
    retry = ReviewActivities(engine, env.client, gateway, settings).send_officer_notice(
        OfficerNoticeInput(
            session_id=slot.session_id,
            kind=SessionKind.WEEKLY_REVIEW,
            starts_at=slot.starts_at,
            officer_id="nodal-district-ranchi",
            districts=["Ranchi"],
            case_count=2,
            teleconference="bridge",
        )
    )
    assert retry.sent is False
    assert all(gateway.sent[key] == 1 for key in expected_keys)
    # Sent through the rate-limited SMS queue, like every other SMS.
    queues = {
        event.activity_task_scheduled_event_attributes.task_queue.name
        async for event in session.fetch_history_events()
        if event.activity_task_scheduled_event_attributes.activity_type.name
        == "send_officer_notice"
    }
    assert queues == {settings.sms_task_queue}
    assert len(_notices(engine, slot.session_id)) == 2

    # A decision reaches the complaint at once and sets its new deadline.
    deadline = (await env.get_current_time()).astimezone(IST) + timedelta(days=10)
    record = await session.execute_update(
        ReviewSessionWorkflow.record_decision, directive(regs[ranchi_1], deadline)
    )
    assert record.case_status is ComplaintStatus.AWAITING_REPORT
    case = await state_of(ranchi_1)
    assert case.status is ComplaintStatus.AWAITING_REPORT and case.next_deadline == deadline
    assert row_of(engine, ranchi_1).next_deadline == deadline
    assert "directive_given" in timeline(engine, ranchi_1)

    # Refused: a case not on the agenda, a second decision, a closure without informing.
    for request, reason in (
        (directive(late_reg), "not on the agenda"),
        (directive(regs[ranchi_1]), "already decided"),
        (
            DecisionRequest(
                registration_number=regs[ranchi_2],
                decision=DecisionKind.CLOSE,
                text="resolved",
                decided_by="cm-secretary",
            ),
            "citizen_informed",
        ),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await session.execute_update(ReviewSessionWorkflow.record_decision, request)
        assert reason in str(info.value.cause)

    # Closed by the reviewer after the meeting: the undecided cases roll over to next week.
    await sleep_until(env, slot.starts_at + timedelta(hours=2))
    summary = await session.execute_update(
        ReviewSessionWorkflow.close, CloseSessionRequest(closed_by="cm-secretary")
    )
    # Answered at once: its rollovers go in batches, then it is closed.
    assert summary.phase in (SessionPhase.CLOSING, SessionPhase.CLOSED)
    closed = await session.result()
    assert closed.phase is SessionPhase.CLOSED and closed.rolled_over_count == 2
    for handle in (ranchi_2, dhanbad):
        moved = await review_of(handle)
        assert moved.review is not None
        assert moved.review.starts_at == slot.starts_at + timedelta(days=7)
        assert moved.rollovers == 1
        assert "review_rolled_over" in timeline(engine, handle)
        # Rolled over by the reviewer's close, and recorded so (not as the timer).
        with Session(engine) as db:
            actor = db.exec(
                select(TimelineEvent.actor).where(
                    TimelineEvent.complaint_id == row_of(engine, handle).id,
                    TimelineEvent.event == "review_rolled_over",
                )
            ).one()
        assert actor == "cm-secretary"
    # The session's workflow has finished: the API refuses later decisions (see the API tests).
    result = await session.result()
    assert result.closed_by == "cm-secretary" and result.decided_count == 1
    await keep_history(session, "review_session_closed_by_reviewer")
    await keep_history(ranchi_2, "complaint_rolled_over_by_session")
    with Session(engine) as db:
        row = db.get(ReviewSession, slot.session_id)
        assert row is not None and row.phase == "closed"
        assert (row.agenda_count, row.decided_count, row.rolled_over_count) == (3, 1, 2)
        outcomes = {
            i.registration_number: i.outcome
            for i in db.exec(select(ReviewItem).where(ReviewItem.session_id == slot.session_id))
        }
    assert outcomes == {
        regs[ranchi_1]: ItemOutcome.DIRECTIVE,
        regs[ranchi_2]: ItemOutcome.ROLLED_OVER,
        regs[dhanbad]: ItemOutcome.ROLLED_OVER,
    }


async def test_undecided_cases_roll_over_when_nobody_closes_the_session(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    await to_monday_noon(env)
    case = await escalated(env, engine, settings)
    slot = (await review_of(case)).review
    assert slot is not None
    await plan(env, settings, SessionKind.WEEKLY_REVIEW)
    session = session_handle(env, settings, slot.session_id)

    # Nobody closes it: it closes itself an hour before the complaints' own rollover timers.
    await sleep_until(env, slot.starts_at + timedelta(hours=22))
    assert (await review_of(case)).review == slot
    await skip_while_updates_run(env, timedelta(hours=2), until=lambda: phase(session, CLOSED))
    result = await session.result()
    assert result.phase is SessionPhase.CLOSED and result.closed_by == "timer"
    await keep_history(session, "review_session_closed_by_timer")
    state = await eventually(
        lambda: state_of(case),
        lambda s: s.review is not None and s.review.session_id != slot.session_id,
    )
    assert state.status is ComplaintStatus.WEEKLY_REVIEW  # never dropped
    assert state.review is not None
    assert state.review.starts_at == slot.starts_at + timedelta(days=7)
    assert timeline(engine, case).count("review_rolled_over") == 1
    assert result.rolled_over_count == 1
    rows = frozen_agenda(engine, slot.session_id, outcomes=True)
    assert rows == {row_of(engine, case).registration_number: ItemOutcome.ROLLED_OVER}
    # The complaint's own rollover timer, an hour later, finds nothing left to do.
    await sleep_until(env, slot.starts_at + timedelta(days=1, hours=1))
    assert timeline(engine, case).count("review_rolled_over") == 1


def frozen_agenda(engine: Engine, sid: str, *, outcomes: bool = False) -> dict[str, Any]:
    """A session's frozen agenda from the read model: items (or outcomes) by number."""
    with Session(engine) as db:
        rows = db.exec(select(ReviewItem).where(ReviewItem.session_id == sid)).all()
    if outcomes:
        return {r.registration_number: ItemOutcome(r.outcome) for r in rows}
    return {r.registration_number: AgendaItem.model_validate_json(r.item) for r in rows}


async def _anotices(engine: Engine, sid: str) -> list[Message]:
    return _notices(engine, sid)


def _notices(engine: Engine, sid: str) -> list[Message]:
    with Session(engine) as db:
        return list(
            db.exec(
                select(Message)
                .where(col(Message.key).startswith(f"{sid}:"))
                .order_by(col(Message.id))
            ).all()
        )


# ---- Sidhi Baat ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime(2027, 2, 1, 9, 0, tzinfo=IST), date(2027, 2, 23)),  # February, 4 Tuesdays
        (datetime(2027, 3, 3, 9, 0, tzinfo=IST), date(2027, 3, 30)),  # five Tuesdays
        (datetime(2026, 12, 2, 9, 0, tzinfo=IST), date(2026, 12, 29)),  # December
        # After December's cutoff: the last Tuesday of January, across the year end.
        (datetime(2026, 12, 28, 19, 0, tzinfo=IST), date(2027, 1, 26)),
    ],
)
def test_sidhi_baat_lands_on_the_last_tuesday(after: datetime, expected: date) -> None:
    policy = Policy()
    start = next_session(
        SessionKind.SIDHI_BAAT,
        after,
        at=policy.sidhi_baat_time,
        cutoff_before=policy.agenda_cutoff_before,
    )
    assert start == datetime.combine(expected, time(11, 0), tzinfo=IST)
    assert session_id(SessionKind.SIDHI_BAAT, start) == f"sidhi-baat-{expected.isoformat()}"
    # The planner (run every Tuesday by the schedule) opens exactly these dates.
    for tuesday in (after.date() + timedelta(days=d) for d in range(7)):
        if tuesday.weekday() != 1:
            continue
        opened = upcoming_sessions(
            SessionKind.SIDHI_BAAT,
            datetime.combine(tuesday, time(11, 0), tzinfo=IST),
            at=time(11, 0),
            count=2,
            open_for=timedelta(days=1),
        )
        assert all(is_last_tuesday(s.date()) for s in opened)
        assert opened[0].date() == last_tuesday_of_month(tuesday.year, tuesday.month)


async def test_sidhi_baat_session_invites_citizens_who_wish_to_meet_the_cm(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: CountingGateway
) -> None:
    case = await escalated(env, engine, settings, wishes_to_meet_cm=True)
    await case.execute_update(
        ComplaintWorkflow.record_decision,
        ReviewDecision(
            decision=DecisionKind.DIRECTIVE, text="Act and report", decided_by="cm-secretary"
        ),
    )
    await case.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    result = await case.execute_update(ComplaintWorkflow.record_callback, UNSATISFIED)
    assert result.status is ComplaintStatus.SIDHI_BAAT and result.review is not None
    slot = result.review
    assert is_last_tuesday(slot.starts_at.astimezone(IST).date())

    planned = await plan(env, settings, SessionKind.SIDHI_BAAT, ahead=2)
    assert planned.opened[0] == slot.session_id
    assert all(is_last_tuesday(date.fromisoformat(s[-10:])) for s in planned.opened)

    await sleep_until(env, slot.starts_at - timedelta(hours=16))
    session = session_handle(env, settings, slot.session_id)
    await phase(session, SessionPhase.AGENDA_FROZEN)
    assert list(frozen_agenda(engine, slot.session_id)) == [
        row_of(engine, case).registration_number
    ]
    reg = row_of(engine, case).registration_number
    notices = await eventually(lambda: _anotices(engine, slot.session_id), lambda ms: len(ms) == 2)
    invitation = next(m for m in notices if m.key == f"{slot.session_id}:{reg}")
    assert invitation.template == "sidhi_baat_invitation"
    assert "सीधी बात" in invitation.text and invitation.language == "hi"
    assert slot.starts_at.astimezone(IST).strftime("%d-%m-%Y") in invitation.text
    assert any(m.key == f"{slot.session_id}:nodal-district-ranchi" for m in notices)
    assert gateway.sent[invitation.key] == 1
