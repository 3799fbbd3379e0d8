"""A review session's notices through a two-day SMS outage (time-skipping server): the meeting
notice and a bulk directive's notice to its officer, sent on the rate-limited SMS queue,
retried through the outage and delivered after it; or, past their window, marked failed and
listed with the session, never left pending."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from core.models import Message, ReviewBulk, ReviewSession
from core.settings import Settings
from harness.factories import eventually
from schemas.calendar import SessionKind
from schemas.enums import MessageStatus
from schemas.review import (
    BulkDecisionRequest,
    BulkSelection,
    PlannerInput,
    SessionBatches,
    SessionPhase,
)
from schemas.workflow import DecisionKind
from tests.api.test_review_reach import _next_weekly
from tests.api.test_sms_queue import SwitchableGateway
from tests.helpers import running_worker, to_monday_noon
from tests.lifecycle_helpers import row_of
from tests.workflows.test_review_sessions import escalated, session_handle, skip_while_updates_run
from workflows.review import ReviewPlannerWorkflow, ReviewSessionWorkflow

DAY = timedelta(days=1)


@pytest.fixture
def gateway() -> SwitchableGateway:
    return SwitchableGateway()


@pytest.fixture
async def ts(
    ts_env: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> AsyncIterator[WorkflowEnvironment]:
    async with running_worker(ts_env.client, engine, settings, gateway=gateway):
        yield ts_env


async def _open_weekly(env: WorkflowEnvironment, settings: Settings, retry_for: timedelta) -> None:
    await env.client.execute_workflow(
        ReviewPlannerWorkflow.run,
        PlannerInput(
            kind=SessionKind.WEEKLY_REVIEW,
            workflow_id_prefix=settings.workflow_id_prefix,
            sessions_ahead=1,
            sms_task_queue=settings.sms_task_queue,
            batches=SessionBatches(notice_retry_for=retry_for),
        ),
        id=f"{settings.workflow_id_prefix}planner-{uuid.uuid4().hex[:6]}",
        task_queue=settings.temporal_task_queue,
    )


NOTICES = ("review_notice", "review_bulk_directive")


def _notices(engine: Engine, sid: str) -> list[Message]:
    """The session's meeting notice and its bulk directive's notice, in that order (those
    written so far)."""
    with Session(engine) as db:
        found = db.exec(
            select(Message).where(
                col(Message.key).startswith(f"{sid}:"), col(Message.template).in_(NOTICES)
            )
        ).all()
        return sorted(found, key=lambda m: NOTICES.index(m.template))


async def _through_outage(
    env: WorkflowEnvironment,
    engine: Engine,
    settings: Settings,
    gateway: SwitchableGateway,
    retry_for: timedelta,
) -> tuple[str, list[Message]]:
    """A case on the next weekly review; the gateway down from just before the cutoff for
    two days, and meanwhile a bulk directive for Ranchi's cases; then up. The session's
    notices to Ranchi's nodal officer (the meeting's, the bulk's), as it ends."""
    await to_monday_noon(env)
    case = await escalated(env, engine, settings)
    assert row_of(engine, case).district == "Ranchi"
    weekly = await _next_weekly(env)
    await _open_weekly(env, settings, retry_for)
    session = session_handle(env, settings, weekly.session_id)
    await env.sleep(weekly.cutoff_at - await env.get_current_time() - timedelta(minutes=5))
    gateway.down = True

    async def frozen() -> None:
        await eventually(
            lambda: session.query(ReviewSessionWorkflow.get_summary),
            lambda s: s.phase is SessionPhase.AGENDA_FROZEN,
            within=60,
        )

    await skip_while_updates_run(env, timedelta(minutes=10), until=frozen)
    bulk = await session.execute_update(
        ReviewSessionWorkflow.record_bulk_decision,
        BulkDecisionRequest(
            selection=BulkSelection(districts=["Ranchi"]),
            decision=DecisionKind.DIRECTIVE,
            text="Executive engineer to act by Friday",
            decided_by="cm-secretary",
        ),
        id="bulk-during-outage",
    )
    assert bulk.total == 1

    async def applied() -> bool:
        with Session(engine) as db:
            row = db.get(ReviewBulk, bulk.bulk_id)
            return row is not None and row.done_at is not None

    await eventually(applied, lambda done: done, within=60)
    # Two days of outage: the meeting is held and closed meanwhile (its rollovers are
    # updates of the case, which lock the test server's clock: unlocked once closed).
    outage_ends = weekly.cutoff_at + 2 * DAY

    async def closed() -> None:
        await eventually(
            lambda: session.query(ReviewSessionWorkflow.get_summary),
            lambda s: s.phase is SessionPhase.CLOSED,
            within=60,
        )

    await skip_while_updates_run(env, outage_ends - await env.get_current_time(), until=closed)
    assert gateway.refused > 1  # tried again and again through the outage
    gateway.down = False

    async def settled() -> None:
        await eventually(lambda: _settled(engine, weekly.session_id), lambda done: done, within=60)

    # The next attempt comes at most ten minutes on.
    await skip_while_updates_run(env, timedelta(minutes=30), until=settled)
    await session.result()
    return weekly.session_id, _notices(engine, weekly.session_id)


async def _settled(engine: Engine, sid: str) -> bool:
    notices = _notices(engine, sid)
    return len(notices) == 2 and all(n.status is not MessageStatus.PENDING for n in notices)


async def test_a_sessions_notice_during_a_two_day_outage_is_delivered_after_it(
    ts: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> None:
    sid, notices = await _through_outage(ts, engine, settings, gateway, retry_for=3 * DAY)
    assert [n.status for n in notices] == [MessageStatus.SENT, MessageStatus.SENT]
    assert "1 case(s) of Ranchi" in notices[1].text
    assert sorted(s.key for s in gateway.sent if s.key.startswith(f"{sid}:")) == sorted(
        n.key for n in notices
    )
    with Session(engine) as db:
        row = db.get(ReviewSession, sid)
        assert row is not None and (row.notices_sent, row.notices_failed) == (2, 0)


async def test_a_notice_still_unsent_past_its_window_is_failed_and_listed(
    ts: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> None:
    sid, notices = await _through_outage(ts, engine, settings, gateway, retry_for=DAY)
    assert [n.status for n in notices] == [MessageStatus.FAILED, MessageStatus.FAILED]
    assert all(n.error and "not sent within its window" in n.error for n in notices)
    assert not [s.key for s in gateway.sent if s.key.startswith(f"{sid}:")]
    with Session(engine) as db:
        row = db.get(ReviewSession, sid)
        assert row is not None and (row.notices_sent, row.notices_failed) == (0, 2)
