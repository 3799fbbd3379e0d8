"""No case can be laundered: transfers and old verdicts never stop the citizen's clock, the
published deadline is the moment the case moves, and a case belongs where it was sent.

Time-skipping server and real activities (SQLite read model), except the last test, which goes
through the API on the dev server.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from harness.factories import auth_headers, complaint_body, eventually
from schemas.auth import Role
from schemas.enums import ComplaintStatus, EscalationLevel
from schemas.policy import Policy
from schemas.workflow import (
    CallbackOutcome,
    CallbackResult,
    DecisionKind,
    DepartmentReport,
    ReportOutcome,
    ReviewDecision,
    ReviewRequest,
)
from tests.lifecycle_helpers import (
    DAY,
    CaseHandle,
    keep_history,
    open_case,
    rejected,
    row_of,
    state_of,
    timeline,
)
from workflows.complaint import ComplaintWorkflow

DISTRICTS = ["Dhanbad", "Bokaro", "Ranchi"]


def transfer_to(district: str) -> DepartmentReport:
    return DepartmentReport(
        outcome=ReportOutcome.TRANSFERRED,
        reply=f"Not ours: {district}",
        submitted_by="nodal",
        transfer_to_district=district,
    )


async def opened(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, policy: Policy | None = None
) -> CaseHandle:
    handle = await open_case(env.client, engine, settings, policy=policy)
    await eventually(
        lambda: state_of(handle), lambda s: s.status is ComplaintStatus.AWAITING_REPORT
    )
    return handle


async def test_transfers_in_a_row_take_the_case_to_review_not_round_in_circles(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    for n in range(1, 4):
        await env.sleep(DAY)
        result = await handle.execute_update(
            ComplaintWorkflow.submit_report, transfer_to(DISTRICTS[n % 3])
        )
        if n <= 2:
            assert result.status is ComplaintStatus.AWAITING_REPORT
    # The third transfer (more than max_transfers = 2): to the next weekly review.
    assert result.status is ComplaintStatus.WEEKLY_REVIEW
    assert "transferred 3 times" in result.message
    assert result.escalation_level is EscalationLevel.WEEKLY_REVIEW
    with rejected("wrong_status"):
        await handle.execute_update(ComplaintWorkflow.submit_report, transfer_to("Dumka"))
    await keep_history(handle, "transferred_three_times")


async def test_a_transfer_every_13_days_still_escalates_at_the_promise_plus_grace(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """With no cap on the number of transfers, the promise alone bounds the case: the officer
    who gets it on day 13 has until day 17 (15 + 2), not day 28."""
    handle = await opened(env, engine, settings, Policy(max_transfers=100))
    promise = (await state_of(handle)).promise_at
    assert promise is not None
    await env.sleep(timedelta(days=13))
    result = await handle.execute_update(ComplaintWorkflow.submit_report, transfer_to("Dhanbad"))
    assert result.next_deadline == promise + timedelta(days=2)
    # An hour past it (the promise falls at the end of a working day, 17:00 IST).
    await env.sleep(promise + timedelta(days=2, hours=1) - await env.get_current_time())
    state = await state_of(handle)
    assert state.status is ComplaintStatus.WEEKLY_REVIEW
    assert state.escalation_level is EscalationLevel.WEEKLY_REVIEW


async def test_a_transfer_near_the_promise_leaves_only_the_grace(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings, Policy(max_transfers=100))
    await env.sleep(timedelta(days=14))
    await handle.execute_update(ComplaintWorkflow.submit_report, transfer_to("Bokaro"))
    await env.sleep(timedelta(days=2))  # within the grace: still with the new officer
    state = await state_of(handle)
    assert state.status is ComplaintStatus.AWAITING_REPORT and state.next_deadline
    # An hour past the grace's end (the promise falls at 17:00 IST on a working day).
    await env.sleep(state.next_deadline + timedelta(hours=1) - await env.get_current_time())
    assert (await state_of(handle)).status is ComplaintStatus.WEEKLY_REVIEW


async def test_a_directive_answers_the_old_verdict_and_sets_a_new_promise(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    await handle.execute_update(
        ComplaintWorkflow.submit_report,
        DepartmentReport(outcome=ReportOutcome.RESOLVED, reply="Done", submitted_by="nodal"),
    )
    await handle.execute_update(
        ComplaintWorkflow.record_callback,
        CallbackResult(outcome=CallbackOutcome.NOT_SATISFIED, remark="no", telecaller="tc"),
    )
    directive = ReviewDecision(
        decision=DecisionKind.DIRECTIVE, text="Finish the work", decided_by="cm-secretary"
    )
    result = await handle.execute_update(ComplaintWorkflow.record_decision, directive)
    state = await state_of(handle)
    assert not state.citizen_unsatisfied
    assert state.promise_at == result.next_deadline
    # Five seconds later, a review request: the directive has just answered the verdict.
    answer = await handle.execute_update(
        ComplaintWorkflow.request_review, ReviewRequest(note="again", via="call")
    )
    assert answer.status is ComplaintStatus.AWAITING_REPORT
    assert "not yet due" in answer.message
    # Once the directive's deadline passes, the same request is granted at once.
    assert result.next_deadline is not None
    await env.sleep(result.next_deadline + timedelta(hours=1) - await env.get_current_time())
    state = await state_of(handle)
    assert state.status is ComplaintStatus.SIDHI_BAAT  # escalated by itself meanwhile
    await keep_history(handle, "directive_then_review_request")


async def test_the_published_deadline_of_an_agenda_case_is_when_it_rolls_over(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    policy = Policy()
    handle = await opened(env, engine, settings)
    due = (await state_of(handle)).next_deadline
    assert due is not None
    await env.sleep(due + timedelta(hours=1) - await env.get_current_time())
    state = await state_of(handle)
    assert state.status is ComplaintStatus.WEEKLY_REVIEW and state.review
    moves_at = state.review.starts_at + policy.review_rollover_after
    assert state.next_deadline == moves_at
    row = row_of(engine, handle)
    assert row.next_deadline is not None and row.next_deadline == moves_at
    # An hour into the meeting the case is on the table, not overdue.
    now = await env.get_current_time()
    await env.sleep(state.review.starts_at + timedelta(hours=1) - now)
    state = await state_of(handle)
    now = await env.get_current_time()
    assert state.status is ComplaintStatus.WEEKLY_REVIEW
    assert state.next_deadline is not None and state.next_deadline > now
    # Undecided by then, it moves exactly when it said it would: the next Tuesday.
    await env.sleep(moves_at - now + timedelta(minutes=5))
    state = await state_of(handle)
    assert state.review is not None and state.review.starts_at > moves_at
    assert state.next_deadline == state.review.starts_at + policy.review_rollover_after
    assert "review_rolled_over" in timeline(engine, handle)


# ---- through the API ------------------------------------------------------------------------


async def test_a_case_transferred_to_another_district_is_listed_and_scoped_there(
    stack: httpx.AsyncClient,
) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    created = await stack.post("/v1/complaints", json=complaint_body())
    path = created.json()["links"]["self"]

    async def probe() -> dict[str, object]:
        return (await stack.get(path)).json()

    await eventually(probe, lambda c: c["status"] == "awaiting_report")
    ranchi = auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")
    dhanbad = auth_headers(engine, Role.NODAL_OFFICER, district="Dhanbad")
    transfer = {"outcome": "transferred", "reply": "Dhanbad's", "transfer_to_district": "Dhanbad"}
    keyed = {**ranchi, "Idempotency-Key": "transfer-1"}
    moved = await stack.post(f"{path}/report", json=transfer, headers=keyed)
    assert moved.status_code == 200, moved.text
    # The transfer took the case out of the officer's scope; their retry still gets its
    # first answer (and only theirs: another key is "no such complaint").
    again = await stack.post(f"{path}/report", json=transfer, headers=keyed)
    assert again.status_code == 200 and again.json() == moved.json()
    other = {**ranchi, "Idempotency-Key": "transfer-2"}
    assert (await stack.post(f"{path}/report", json=transfer, headers=other)).status_code == 404
    case = (await stack.get(path)).json()
    assert case["district"] == "Dhanbad"
    assert case["citizen"]["district"] == "Ranchi"  # the citizen's own, kept
    listed = (await stack.get("/v1/complaints", params={"district": "Dhanbad"})).json()
    assert path in [c["links"]["self"] for c in listed["data"]]
    # The former officer no longer sees it nor may report on it; the new one may.
    assert (await stack.get(path, headers=ranchi)).status_code == 404
    report = {"outcome": "resolved", "reply": "Done in Dhanbad"}
    assert (await stack.post(f"{path}/report", json=report, headers=ranchi)).status_code == 404
    answer = await stack.post(f"{path}/report", json=report, headers=dhanbad)
    assert answer.status_code == 200, answer.text


async def test_a_routine_case_gets_its_categorys_department_but_its_districts_officer(
    stack: httpx.AsyncClient,
) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    created = await stack.post("/v1/complaints", json=complaint_body(category="sanitation"))
    path = created.json()["links"]["self"]

    async def probe() -> dict[str, Any]:
        return (await stack.get(path)).json()

    case = await eventually(probe, lambda c: c["status"] == "awaiting_report")
    assert case["department"] == "drinking_water_sanitation"
    assert case["assigned_officer"]["id"] == "nodal-district-ranchi"  # routed by district
    listed = (
        await stack.get("/v1/complaints", params={"department": "drinking_water_sanitation"})
    ).json()
    assert path in [c["links"]["self"] for c in listed["data"]]
    # The department's nodal officer sees it (the department concerned) but does not report
    # on it: the district's officer holds it.
    department = auth_headers(engine, Role.NODAL_OFFICER, department="drinking_water_sanitation")
    assert (await stack.get(path, headers=department)).status_code == 200
    report = {"outcome": "resolved", "reply": "Done"}
    assert (await stack.post(f"{path}/report", json=report, headers=department)).status_code == 404
    ranchi = auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")
    assert (await stack.post(f"{path}/report", json=report, headers=ranchi)).status_code == 200
