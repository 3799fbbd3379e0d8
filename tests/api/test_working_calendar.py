"""Holidays and working days on the time-skipping test server: a case's deadline
falls at the end of a working day, and a Sidhi Baat due on Republic Day 2027 (the last Tuesday
of January) is held, planned and announced on the next working day."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.holidays import load_holidays
from core.settings import Settings
from harness.factories import complaint_body, eventually
from schemas.calendar import IST, SessionKind
from schemas.enums import ComplaintStatus, EscalationLevel
from schemas.policy import Policy
from schemas.review import PlannerInput, ReviewSessionInput
from tests.lifecycle_helpers import (
    keep_history,
    messages,
    open_case,
    reach,
    settled,
    timeline,
)
from tests.paths import ROOT
from workflows.review import ReviewPlannerWorkflow, session_workflow_id

JHARKHAND = ROOT / "core" / "seed" / "holidays_jharkhand.json"
HOLIDAYS = load_holidays(JHARKHAND, subdivision="JH", years=[2026, 2027])


def end_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(IST).date(), time(17, 0), tzinfo=IST)


async def test_report_deadline_is_the_end_of_a_working_day(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    policy = Policy(holidays=HOLIDAYS, reminder_fractions=())
    handle = await open_case(env.client, engine, settings, policy=policy)
    state = await reach(handle, ComplaintStatus.AWAITING_REPORT)
    assert state.report_window_start is not None and state.next_deadline is not None
    due = state.next_deadline.astimezone(IST)
    # 15 calendar days on, at 17:00 IST (not the time of day the call was taken), on a
    # working day.
    assert due.time() == time(17, 0)
    expected = end_of_day(state.report_window_start + timedelta(days=15))
    while expected.weekday() == 6 or expected.date() in {h.day for h in HOLIDAYS}:
        expected += timedelta(days=1)
    assert due == expected
    assert state.promise_at == due
    await settled(handle)
    officer_sms = next(m for m in messages(engine, handle) if m.template == "officer_assigned")
    assert due.strftime("%d-%m-%Y 17:00") in officer_sms.text


async def test_a_case_bound_for_sidhi_baat_on_republic_day_goes_to_the_next_working_day(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    # A report window that ends on Monday 4 January 2027 (from 30 November 2026), one weekly
    # review at most: the case reaches Sidhi Baat in early January, whose last Tuesday is
    # Republic Day.
    start = (await env.get_current_time()).astimezone(IST)
    window = datetime(2027, 1, 4, 12, 0, tzinfo=IST) - start
    assert window > timedelta(days=1), "the test server's clock is past the scenario"
    policy = Policy(
        holidays=HOLIDAYS,
        reminder_fractions=(),
        report_deadline_complaint=window,
        max_weekly_rollovers=1,
    )
    handle = await open_case(env.client, engine, settings, policy=policy)
    state = await reach(handle, ComplaintStatus.AWAITING_REPORT)
    assert state.next_deadline == datetime(2027, 1, 4, 17, 0, tzinfo=IST)

    await env.sleep(datetime(2027, 1, 6, 12, 0, tzinfo=IST) - start)
    state = await reach(handle, ComplaintStatus.SIDHI_BAAT)
    assert state.escalation_level is EscalationLevel.SIDHI_BAAT
    assert state.review is not None
    assert state.review.session_id == "sidhi-baat-2027-01-27"
    assert state.review.starts_at == datetime(2027, 1, 27, 11, 0, tzinfo=IST)
    await settled(handle)
    told = [m.text for m in messages(engine, handle) if m.template == "escalated_sidhi_baat"]
    assert told and "27-01-2027" in told[-1] and "26-01-2027" not in told[-1]
    assert timeline(engine, handle).count("escalated_to_weekly_review") == 1
    await keep_history(handle, "sidhi_baat_after_republic_day")


async def test_the_planner_opens_januarys_sidhi_baat_on_the_27th(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    now = (await env.get_current_time()).astimezone(IST)
    assert now < datetime(2026, 12, 28, tzinfo=IST), "the test server's clock is past December"
    result = await env.client.execute_workflow(
        ReviewPlannerWorkflow.run,
        PlannerInput(
            kind=SessionKind.SIDHI_BAAT,
            policy=Policy(holidays=HOLIDAYS),
            workflow_id_prefix=settings.workflow_id_prefix,
            sessions_ahead=3,
        ),
        id=f"{settings.workflow_id_prefix}planner-{uuid.uuid4().hex[:6]}",
        task_queue=settings.temporal_task_queue,
    )
    opened = result.opened + result.already_open
    assert "sidhi-baat-2027-01-27" in opened and "sidhi-baat-2027-01-26" not in opened
    session = env.client.get_workflow_handle(
        session_workflow_id(settings.workflow_id_prefix, "sidhi-baat-2027-01-27")
    )
    history = await session.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (inp,) = pydantic_data_converter.payload_converter.from_payloads(
        started.input.payloads, [ReviewSessionInput]
    )
    assert inp.starts_at == datetime(2027, 1, 27, 11, 0, tzinfo=IST)


async def test_a_complaint_registered_through_the_api_is_due_at_the_end_of_a_working_day(
    stack: httpx.AsyncClient,
) -> None:
    """The API loads the holidays (HOLIDAYS_FILE, the `holidays` package) into the policy it
    gives each case: the deadline the citizen and officer see is 17:00 IST on a working day."""
    created = await stack.post("/v1/complaints", json=complaint_body())
    assert created.status_code == 201, created.text
    path = created.json()["links"]["self"]

    async def probe() -> dict[str, Any]:
        return (await stack.get(path)).json()

    case = await eventually(probe, lambda c: c["status"] == "awaiting_report")
    due = datetime.fromisoformat(case["next_deadline"])
    assert case["next_deadline"].endswith("T17:00:00+05:30")
    assert due.weekday() != 6 and due.date() not in {h.day for h in HOLIDAYS}
