"""Both shipped ladders on the time-skipping test server: a case registered under the District
Collector ladder climbs all four rungs by its own timers (officer's deadline missed → its
district's DC review on the district's weekday, undecided `max_rollovers` times → the weekly
review → Sidhi Baat, which rolls over counted), its citizen told each forum and real date by
SMS and the district's nodal officer called to the DC's session; the seed ladder is
unchanged (a case on it goes from the officer straight to the weekly review)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from core.ladder import configured_ladder
from core.models import Message
from core.settings import Settings
from harness.factories import eventually
from schemas.calendar import IST
from schemas.enums import ComplaintStatus, EscalationLevel
from schemas.escalation import DISTRICT_COLLECTOR, parse_session_id
from schemas.policy import Policy
from schemas.review import PlannerInput
from tests.helpers import to_monday_noon
from tests.lifecycle_helpers import (
    EXACT_DEADLINES,
    CaseHandle,
    keep_history,
    messages,
    open_case,
    reach,
    settled,
    state_of,
    timeline,
)
from tests.workflows.test_review_sessions import skip_while_updates_run
from workflows.review import ReviewPlannerWorkflow

POLICY = EXACT_DEADLINES.model_copy(
    update={"reminder_fractions": (), "report_deadline_complaint": timedelta(days=1)}
)
WEDNESDAY = 2


async def _sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    """Skip to `moment` a day at a time (each skip one short call to the test server, however
    many sessions' timers fall within it)."""
    while (now := await env.get_current_time()) < moment:
        await env.sleep(min(moment - now, timedelta(days=1)))


async def _until(env: WorkflowEnvironment, handle: CaseHandle, status: ComplaintStatus) -> None:
    """Skip time, rollover by rollover, until the case stands at `status`."""
    for _ in range(12):
        state = await settled(handle)
        if state.status is status:
            return
        assert state.next_deadline is not None
        await _sleep_until(env, state.next_deadline + timedelta(minutes=1))
    raise AssertionError(f"never reached {status}")


async def test_a_case_on_the_district_collector_ladder_climbs_all_four_rungs(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    dc_settings = settings.model_copy(
        update={"ladder": "district_collector", "district_review_days": "Ranchi:wednesday"}
    )
    ladder = configured_ladder(dc_settings, POLICY)
    dc_forum = ladder.rung("dc_review").forum
    assert dc_forum is not None and dc_forum.max_rollovers == 2
    handle = await open_case(env.client, engine, dc_settings, policy=POLICY, citizen__language="en")
    await reach(handle, ComplaintStatus.AWAITING_REPORT)

    # The officer misses the deadline: Ranchi's DC review, on a Wednesday (Ranchi's day).
    await env.sleep(timedelta(days=1, minutes=1))
    state = await reach(handle, ComplaintStatus.DC_REVIEW)
    assert state.rung == "dc_review" and state.escalation_level is EscalationLevel.DC_REVIEW
    assert state.review is not None
    first = state.review.starts_at.astimezone(IST)
    assert first.weekday() == WEDNESDAY and first.hour == 11
    assert parse_session_id(state.review.session_id) == (
        dc_forum.session_kind,
        first.date(),
        "Ranchi",
    )
    await settled(handle)
    told = [m.text for m in messages(engine, handle) if m.template == "escalated"]
    assert "District Collector's review" in told[-1]
    assert first.strftime("%d-%m-%Y") in told[-1]

    await _until(env, handle, ComplaintStatus.WEEKLY_REVIEW)
    state = await state_of(handle)
    assert state.rung == "weekly_review" and state.rollovers == 0
    assert state.review is not None and state.review.starts_at.astimezone(IST).weekday() == 1
    events = timeline(engine, handle)
    assert events.count("escalated_to_dc_review") == 1
    # Undecided at two DC sittings (max_rollovers): rolled over once, then up the ladder.
    assert events.count("review_rolled_over") == 1

    await _until(env, handle, ComplaintStatus.SIDHI_BAAT)
    state = await state_of(handle)
    assert state.rung == "sidhi_baat" and state.escalation_level is EscalationLevel.SIDHI_BAAT
    events = timeline(engine, handle)
    assert events.count("escalated_to_weekly_review") == 1
    assert events.count("review_rolled_over") == 1 + 3  # four weekly reviews undecided
    assert events.count("escalated_to_sidhi_baat") == 1

    # The top rung rolls over, counted, and never leaves the ladder.
    assert state.review is not None
    sidhi_baat = state.review.starts_at
    assert state.next_deadline is not None
    await _sleep_until(env, state.next_deadline + timedelta(minutes=1))
    state = await settled(handle)
    assert state.status is ComplaintStatus.SIDHI_BAAT and state.rollovers == 1
    assert state.review is not None and state.review.starts_at > sidhi_baat
    texts = [m.text for m in messages(engine, handle) if m.recipient_kind == "citizen"]
    assert any("CM secretary's weekly review" in t for t in texts)
    assert any("CM's Sidhi Baat" in t for t in texts)
    assert any(state.review.starts_at.astimezone(IST).strftime("%d-%m-%Y") in t for t in texts)
    await keep_history(handle, "district_collector_four_rungs")


async def test_the_district_collectors_sessions_are_one_per_district_on_its_weekday(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """The planner opens the DC's sittings, one per district on its weekday; Ranchi's session
    calls Ranchi's nodal officer at the cutoff and, left undecided, rolls the case over to
    Ranchi's next sitting at its close."""
    await to_monday_noon(env)
    dc_settings = settings.model_copy(
        update={"ladder": "district_collector", "district_review_days": "Ranchi:wednesday"}
    )
    dc_forum = configured_ladder(dc_settings, POLICY).rung("dc_review").forum
    assert dc_forum is not None
    handle = await open_case(env.client, engine, dc_settings, policy=POLICY, citizen__language="en")
    await reach(handle, ComplaintStatus.AWAITING_REPORT)
    await env.sleep(timedelta(days=1, minutes=1))
    state = await reach(handle, ComplaintStatus.DC_REVIEW)
    assert state.review is not None
    # The planner opens the DC's sittings, one per district on its weekday; Ranchi's session
    # calls Ranchi's nodal officer at the cutoff and, left undecided, rolls the case over.
    planned = await env.client.execute_workflow(
        ReviewPlannerWorkflow.run,
        PlannerInput(
            kind=dc_forum.session_kind,
            policy=POLICY,
            forum=dc_forum,
            workflow_id_prefix=settings.workflow_id_prefix,
            sessions_ahead=1,
        ),
        id=f"{settings.workflow_id_prefix}dc-planner-{uuid.uuid4().hex[:6]}",
        task_queue=settings.temporal_task_queue,
    )
    assert state.review.session_id in planned.opened
    assert len(planned.opened) == 24  # one per district
    dumka = next(s for s in planned.opened if s.endswith("-dumka"))
    assert parse_session_id(dumka)[1].weekday() == 4  # Friday, the forum's own day

    await _sleep_until(env, state.review.starts_at + timedelta(hours=1))
    with Session(engine) as session:  # the session's notice to Ranchi's nodal officer
        notice = session.exec(
            select(Message).where(col(Message.key).startswith(state.review.session_id))
        ).one()
    assert "District Collector's review" in notice.text and "Ranchi" in notice.text

    # The session closes itself an hour before the case's own rollover timer, rolling the
    # case over by an update (the test server needs unlocking after one: see the helper).
    await _sleep_until(env, state.review.starts_at + timedelta(hours=22))

    async def rolled_over() -> object:
        return await eventually(lambda: state_of(handle), lambda s: s.rollovers == 1, within=30)

    await skip_while_updates_run(env, timedelta(hours=1, minutes=30), until=rolled_over)
    state = await state_of(handle)
    assert state.status is ComplaintStatus.DC_REVIEW and state.review is not None
    assert state.review.starts_at.astimezone(IST).weekday() == WEDNESDAY
    assert "review_rolled_over" in timeline(engine, handle)


async def test_the_seed_ladder_goes_from_the_officer_to_the_weekly_review(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    assert configured_ladder(settings, POLICY).rungs[1].code == "weekly_review"
    handle = await open_case(env.client, engine, settings, policy=POLICY)
    await reach(handle, ComplaintStatus.AWAITING_REPORT)
    await env.sleep(timedelta(days=1, minutes=1))
    state = await reach(handle, ComplaintStatus.WEEKLY_REVIEW)
    assert state.rung == "weekly_review"
    assert state.escalation_level is EscalationLevel.WEEKLY_REVIEW
    assert state.review is not None and state.review.starts_at.astimezone(IST).weekday() == 1
    assert "dc_review" not in {r.code for r in configured_ladder(settings, POLICY).rungs}
    assert DISTRICT_COLLECTOR.rung("dc_review").status is ComplaintStatus.DC_REVIEW
    assert "escalated_to_dc_review" not in timeline(engine, handle)
    await keep_history(handle, "seed_ladder_weekly_review")


def test_the_dc_weekday_comes_from_configuration() -> None:
    settings = Settings(ladder="district_collector", district_review_days="Dumka:monday")
    forum = configured_ladder(settings, Policy()).rung("dc_review").forum
    assert forum is not None
    assert forum.weekday_for("Dumka") == 0 and forum.weekday_for("Ranchi") == 4


@pytest.mark.parametrize(
    ("ladder", "forum"),
    [("jharkhand", "CM secretary's weekly review"), ("district_collector", "District Collector")],
)
async def test_the_officers_reminder_names_the_forum_the_case_goes_to_if_late(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, ladder: str, forum: str
) -> None:
    policy = POLICY.model_copy(update={"reminder_fractions": (0.5,)})
    handle = await open_case(
        env.client, engine, settings.model_copy(update={"ladder": ladder}), policy=policy
    )
    await reach(handle, ComplaintStatus.AWAITING_REPORT)
    await env.sleep(timedelta(hours=13))  # past half the one-day deadline
    reminders = await eventually(lambda: _reminders(engine, handle), lambda texts: len(texts) == 1)
    assert f"If late, it goes to the {forum}" in reminders[0]


async def _reminders(engine: Engine, handle: CaseHandle) -> list[str]:
    return [m.text for m in messages(engine, handle) if m.template == "officer_reminder"]
