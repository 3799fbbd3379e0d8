"""Every unsatisfied or overdue case reaches a review within a week, and a review decision has
one path: through the session whose agenda holds the case, whichever route it came by.

Time-skipping server, real activities and workflows (the session helpers are
tests/workflows/test_review_sessions.py's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.models import Message, ReviewItem, ReviewSession, TimelineEvent
from core.readmodel import agenda_items
from core.settings import Settings
from harness.factories import insert_case
from schemas.calendar import IST, SessionKind, last_tuesday_of_month, next_session
from schemas.enums import ComplaintStatus
from schemas.escalation import session_id
from schemas.policy import Policy
from schemas.review import AgendaSection, CloseSessionRequest, ItemOutcome, SessionPhase
from schemas.workflow import DecisionKind, ReviewDecision
from tests.helpers import api_client, to_monday_noon
from tests.lifecycle_helpers import CaseHandle, row_of, state_of
from tests.workflows.test_review_sessions import (
    RESOLVED,
    UNSATISFIED,
    directive,
    escalated,
    phase,
    plan,
    session_handle,
    sleep_until,
)
from workflows.complaint import ComplaintWorkflow
from workflows.review import ReviewSessionWorkflow


@dataclass(frozen=True)
class Slot:
    session_id: str
    starts_at: datetime
    cutoff_at: datetime


async def _next_weekly(env: WorkflowEnvironment) -> Slot:
    policy = Policy()
    starts_at = next_session(
        SessionKind.WEEKLY_REVIEW,
        await env.get_current_time(),
        at=policy.weekly_review_time,
        cutoff_before=policy.agenda_cutoff_before,
    )
    return Slot(
        session_id(SessionKind.WEEKLY_REVIEW, starts_at),
        starts_at,
        starts_at - policy.agenda_cutoff_before,
    )


async def _after_a_sidhi_baat(env: WorkflowEnvironment) -> None:
    """Move to the Wednesday after a Sidhi Baat: the next one is four or five weeks away, so
    weekly reviews fall between (whatever day the suite runs)."""
    now = (await env.get_current_time()).astimezone(IST)
    sidhi_baat = last_tuesday_of_month(now.year, now.month)
    if sidhi_baat <= now.date():
        month = now.month % 12 + 1
        sidhi_baat = last_tuesday_of_month(now.year + (month == 1), month)
    # (Noon: the Tuesday sessions have closed by then, so the planner opens only later ones.)
    await sleep_until(env, datetime.combine(sidhi_baat + timedelta(days=1), time(12), IST))


async def _bound_for_sidhi_baat(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> CaseHandle:
    """A case unsatisfied again after a weekly review's directive: bound for the next Sidhi
    Baat, four or five weeks away."""
    await _after_a_sidhi_baat(env)
    case = await escalated(env, engine, settings)
    await case.execute_update(
        ComplaintWorkflow.record_decision,
        ReviewDecision(decision=DecisionKind.DIRECTIVE, text="Act", decided_by="cm-secretary"),
    )
    await case.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    result = await case.execute_update(ComplaintWorkflow.record_callback, UNSATISFIED)
    assert result.status is ComplaintStatus.SIDHI_BAAT
    return case


async def test_a_case_bound_for_sidhi_baat_is_prepared_at_every_weekly_review_before_it(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    case = await _bound_for_sidhi_baat(env, engine, settings)
    state = await state_of(case)
    assert state.review is not None
    sidhi_baat = state.review.starts_at
    reg = row_of(engine, case).registration_number

    # The next weekly review holds it, "awaiting Sidhi Baat" (never a month unreviewed).
    weekly = await _next_weekly(env)
    assert weekly.starts_at < sidhi_baat
    await plan(env, settings, SessionKind.WEEKLY_REVIEW)
    session = session_handle(env, settings, weekly.session_id)
    await sleep_until(env, weekly.cutoff_at + timedelta(minutes=1))
    await phase(session, SessionPhase.AGENDA_FROZEN)
    with Session(engine) as db:
        items = db.exec(select(ReviewItem).where(ReviewItem.session_id == weekly.session_id))
        mine = [i for i in items if i.registration_number == reg]
    assert len(mine) == 1
    assert '"section":"awaiting_sidhi_baat"' in mine[0].item.replace(" ", "")

    # Prepared here, decided there: no decision, and no rollover at the close.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await session.execute_update(ReviewSessionWorkflow.record_decision, directive(reg))
    assert "awaits Sidhi Baat" in str(refused.value.cause)
    await sleep_until(env, weekly.starts_at + timedelta(hours=2))
    await session.execute_update(
        ReviewSessionWorkflow.close, CloseSessionRequest(closed_by="cm-secretary")
    )
    summary = await session.result()  # its rollovers go in batches after the answer
    assert summary.phase is SessionPhase.CLOSED and summary.rolled_over_count == 0
    with Session(engine) as db:
        outcome = db.exec(
            select(ReviewItem.outcome).where(
                ReviewItem.session_id == weekly.session_id,
                ReviewItem.registration_number == reg,
            )
        ).one()
    assert outcome == ItemOutcome.PREPARED
    after = await state_of(case)
    assert after.status is ComplaintStatus.SIDHI_BAAT and after.review == state.review

    # The citizen was told both dates.
    with Session(engine) as db:
        texts = [
            m.template
            for m in db.exec(select(Message).where(Message.complaint_id == row_of(engine, case).id))
        ]
    assert "escalated_sidhi_baat" in texts


def test_cases_left_undecided_lead_the_next_agenda_with_their_count(engine: Engine) -> None:
    now = datetime.now(UTC)
    sid = "weekly-review-2030-01-01"
    with Session(engine) as db:
        rows = [insert_case(engine, district="Ranchi") for _ in range(3)]
        for n, row in enumerate(rows):  # 0, 1 and 2 rollovers since the escalation
            stored = db.get(type(row), row.id)
            assert stored is not None
            stored.status = ComplaintStatus.WEEKLY_REVIEW
            stored.review_session_id = sid
            db.add(stored)
            events = ["escalated_to_weekly_review"] + ["review_rolled_over"] * n
            assert row.id is not None
            for seq, event in enumerate(events, 1):
                db.add(TimelineEvent(complaint_id=row.id, seq=seq, at=now, event=event, actor="t"))
        db.commit()
        items = agenda_items(db, sid, now)
    assert [i.undecided_times for i in items] == [2, 1, 0]
    assert [i.registration_number for i in items] == [r.registration_number for r in rows[::-1]]
    assert all(i.section is AgendaSection.FOR_DECISION for i in items)


async def test_a_decision_by_the_case_route_is_recorded_in_the_session_and_its_minutes(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    await to_monday_noon(env)
    case = await escalated(env, engine, settings)
    state = await state_of(case)
    assert state.review is not None
    weekly = await _next_weekly(env)
    assert weekly.session_id == state.review.session_id
    await plan(env, settings, SessionKind.WEEKLY_REVIEW)
    session = session_handle(env, settings, weekly.session_id)
    row = row_of(engine, case)
    path = f"/v1/complaints/{row.year}/{row.sequence}/decision"
    body = {"decision": "directive", "text": "Build it within ten days"}
    app = create_app(settings, engine=engine, client=env.client)
    async with api_client(app) as http:
        # Before the cutoff both routes agree: the agenda is not frozen yet.
        early = await http.post(path, json=body)
        assert early.status_code == 409, early.text
        assert early.json()["reason"] == "agenda_not_frozen"
        assert "once the agenda of" in early.json()["detail"]
        assert "एजेंडा" in early.json()["detail_hi"]
        await sleep_until(env, weekly.cutoff_at + timedelta(minutes=1))
        await phase(session, SessionPhase.AGENDA_FROZEN)
        decided = await http.post(path, json=body)
        assert decided.status_code == 200, decided.text
        assert "minutes of" in decided.json()["message"]
        assert decided.json()["status"] == "awaiting_report"
        await sleep_until(env, weekly.starts_at + timedelta(hours=2))
        await session.execute_update(
            ReviewSessionWorkflow.close, CloseSessionRequest(closed_by="cm-secretary")
        )
        summary = await session.result()  # its rollovers go in batches after the answer
        assert summary.rolled_over_count == 0
        minutes = (
            await http.get(
                f"/v1/reviews/weekly_review/{weekly.starts_at.astimezone(IST).date()}/minutes"
            )
        ).json()
    entry = next(
        e for e in minutes["entries"] if e["registration_number"] == row.registration_number
    )
    assert entry["outcome"] == "directive"
    assert entry["decision_text"] == body["text"]


async def test_cases_left_undecided_are_counted_listed_and_measured(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    case = await escalated(env, engine, settings)
    state = await state_of(case)
    assert state.review is not None
    # No session decides it: its own timer rolls it over, twice.
    await sleep_until(env, state.review.starts_at + timedelta(days=8, hours=1))
    state = await state_of(case)
    assert state.rollovers == 2 and state.status is ComplaintStatus.WEEKLY_REVIEW
    assert row_of(engine, case).undecided_times == 2
    app = create_app(settings, engine=engine, client=env.client)
    async with api_client(app) as http:
        listed = (await http.get("/v1/complaints", params={"undecided_min": 2})).json()
        assert [c["registration_number"] for c in listed["data"]] == [
            row_of(engine, case).registration_number
        ]
        assert listed["data"][0]["undecided_times"] == 2
        none = (await http.get("/v1/complaints", params={"undecided_min": 3})).json()
        assert none["count"] == 0
        metrics = (await http.get("/metrics")).text
    assert 'jansamvad_undecided_cases{status="weekly_review",times="2"} 1.0' in metrics


async def test_an_undecided_sidhi_baat_case_is_prepared_every_week_for_four_months(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """Nobody decides it: it rolls over month after month, counted, and every weekly review in
    between has it on its agenda ("awaiting Sidhi Baat"), the longest-undecided first."""
    case = await _bound_for_sidhi_baat(env, engine, settings)
    started = await env.get_current_time()
    for month in range(1, 5):
        await sleep_until(env, started + timedelta(days=30 * month))
        state = await state_of(case)
        assert state.status is ComplaintStatus.SIDHI_BAAT and state.review is not None
        row = row_of(engine, case)
        assert row.undecided_times == state.rollovers
        # The weekly review of the coming Tuesday lists it, awaiting Sidhi Baat.
        weekly = await _next_weekly(env)
        if weekly.starts_at < state.review.starts_at:
            with Session(engine) as db:
                db.add(
                    ReviewSession(
                        session_id=weekly.session_id,
                        kind=SessionKind.WEEKLY_REVIEW.value,
                        starts_at=weekly.starts_at,
                        cutoff_at=weekly.cutoff_at,
                        workflow_id="-",
                        phase="scheduled",
                        created_at=started,
                        updated_at=started,
                    )
                )
                db.commit()
                items = agenda_items(db, weekly.session_id, await env.get_current_time())
            mine = [i for i in items if i.registration_number == row.registration_number]
            assert [i.section for i in mine] == [AgendaSection.AWAITING_SIDHI_BAAT]
            assert mine[0].undecided_times == state.rollovers
    assert (await state_of(case)).rollovers >= 3
