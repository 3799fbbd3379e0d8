"""The citizen rates a closure 1-5 and may appeal it: by SMS digit, on the
verification call, at the desk (the citizen's page uses the same update); changeable within
the appeal window; a 1 or 2, or an explicit appeal, takes the case one rung up its ladder
(a forum with its own date, not back to the officer), once per closure.

Time-skipping server with real activities for the workflow; the dev server, the API and the
local fake of Twilio for the channels (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from harness.factories import eventually
from schemas.enums import ComplaintKind, ComplaintStatus, EscalationLevel
from schemas.workflow import (
    CallbackOutcome,
    CallbackResult,
    ClosureRating,
    DecisionKind,
    DepartmentReport,
    RatingChannel,
    ReportOutcome,
    ReviewDecision,
)
from tests.api.test_twilio_webhooks import (  # noqa: F401 (fixtures used by name)
    _case,
    _inbound,
    _registered_and_acknowledged,
    _reply,
    fake,
    tw_settings,
    tw_stack,
)
from tests.fake_twilio import FakeTwilio
from tests.lifecycle_helpers import (
    DAY,
    HISTORIES,
    CaseHandle,
    open_case,
    rejected,
    row_of,
    state_of,
    timeline,
)
from workflows import rules
from workflows.complaint import ComplaintWorkflow


async def keep_rating_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With JANSAMVAD_RECORD_HISTORIES=1, save the run's history as
    `NAME.json` for the replay suite."""
    import json
    import os

    if os.environ.get("JANSAMVAD_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(
        json.dumps(json.loads(history.to_json()), indent=1) + "\n", encoding="utf-8"
    )


async def closed_case(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> CaseHandle:
    handle = await open_case(env.client, engine, settings)
    await eventually(
        lambda: state_of(handle), lambda s: s.status is ComplaintStatus.AWAITING_REPORT
    )
    await handle.execute_update(
        ComplaintWorkflow.submit_report,
        DepartmentReport(outcome=ReportOutcome.RESOLVED, reply="Repaired.", submitted_by="nodal"),
    )
    result = await handle.execute_update(
        ComplaintWorkflow.record_callback,
        CallbackResult(outcome=CallbackOutcome.SATISFIED, telecaller="tc"),
    )
    assert result.status is ComplaintStatus.CLOSED
    return handle


def rating(score: int, *, appeal: bool = False, via: RatingChannel = RatingChannel.DESK) -> Any:
    return ClosureRating(score=score, via=via, appeal=appeal, recorded_by="desk-1")


async def _row_field(engine: Engine, handle: CaseHandle, name: str) -> Any:
    return getattr(row_of(engine, handle), name)


async def test_a_rating_is_recorded_changeable_and_a_poor_one_appeals_one_rung_up(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await closed_case(env, engine, settings)
    officer = (await state_of(handle)).officer
    answer = await handle.execute_update(ComplaintWorkflow.rate_closure, rating(4))
    assert answer.status is ComplaintStatus.CLOSED and "4/5" in answer.message
    await eventually(lambda: _row_field(engine, handle, "rating"), lambda r: r == 4)
    # Past the reopen window (15 days) but within the appeal window (30): still changeable.
    await env.sleep(DAY * 20)
    with rejected("reopen_window_ended"):
        from schemas.workflow import Reopening

        await handle.execute_update(ComplaintWorkflow.reopen, Reopening(reason="x"))
    answer = await handle.execute_update(
        ComplaintWorkflow.rate_closure, rating(2, via=RatingChannel.SMS)
    )
    # A poor rating is an appeal: one rung up the case's ladder, with that forum's date.
    assert answer.status is ComplaintStatus.WEEKLY_REVIEW
    assert answer.escalation_level is EscalationLevel.WEEKLY_REVIEW
    assert answer.review is not None and answer.next_deadline is not None
    state = await state_of(handle)
    assert state.appeals == 1 and state.closed_at is None and state.officer == officer
    events = timeline(engine, handle)
    assert events.count("closure_rated") == 2
    assert events[-2:] == ["appealed", "escalated_to_weekly_review"]
    await eventually(lambda: _row_field(engine, handle, "appeals"), lambda a: a == 1)
    # Once: the appealed closure can no longer be rated or appealed.
    with rejected("wrong_status"):
        await handle.execute_update(ComplaintWorkflow.rate_closure, rating(1, appeal=True))

    # The review closes it again: a new closure, rated and appealable afresh.
    await handle.execute_update(
        ComplaintWorkflow.record_decision,
        ReviewDecision(
            decision=DecisionKind.CLOSE,
            text="Verified on site.",
            decided_by="cm-secretary",
            citizen_informed=True,
        ),
    )
    state = await state_of(handle)
    assert state.closures == 2 and state.rating is None
    answer = await handle.execute_update(ComplaintWorkflow.rate_closure, rating(5, appeal=True))
    assert answer.status is ComplaintStatus.SIDHI_BAAT  # the next rung again
    await keep_rating_history(handle, "rated_and_appealed")


async def test_after_the_appeal_window_the_case_is_finished_and_says_file_anew(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await closed_case(env, engine, settings)
    await env.sleep(DAY * 31)
    result = await handle.result()
    assert result.status is ComplaintStatus.CLOSED
    closed_at = datetime(2026, 12, 1, tzinfo=UTC)
    refused = rules.rating_refusal(
        closed_at=closed_at,
        now=closed_at + timedelta(days=31),
        window=timedelta(days=30),
        appeal=False,
        closures=1,
        appealed_closure=0,
    )
    assert refused is not None and refused[0] == "appeal_window_ended"
    from schemas.refusals import english

    assert "file a new complaint" in english(refused[0], refused[1])


async def test_a_suggestion_is_rated_never_appealed(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await open_case(env.client, engine, settings, kind=ComplaintKind.SUGGESTION.value)
    await eventually(
        lambda: state_of(handle), lambda s: s.status is ComplaintStatus.AWAITING_REPORT
    )
    await handle.execute_update(
        ComplaintWorkflow.submit_report,
        DepartmentReport(outcome=ReportOutcome.ACCEPTED, reply="Adopted.", submitted_by="n"),
    )
    with rejected("no_appeal_for_suggestion"):
        await handle.execute_update(ComplaintWorkflow.rate_closure, rating(1))
    answer = await handle.execute_update(ComplaintWorkflow.rate_closure, rating(5))
    assert answer.status is ComplaintStatus.CLOSED


def test_the_appeal_rule() -> None:
    assert rules.appeal_asked(1, False) and rules.appeal_asked(2, False)
    assert not rules.appeal_asked(3, False) and rules.appeal_asked(5, True)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    common: dict[str, Any] = dict(now=now, window=timedelta(days=30), closures=2)
    assert rules.rating_refusal(closed_at=None, appeal=False, appealed_closure=0, **common)
    assert rules.rating_refusal(closed_at=now, appeal=True, appealed_closure=2, **common) == (
        "already_appealed",
        {},
    )
    assert rules.rating_refusal(closed_at=now, appeal=True, appealed_closure=1, **common) is None


# ---- the channels, through the API (dev server, both databases) ------------------------------


async def test_rating_on_the_call_at_the_desk_and_by_sms_digit(
    tw_stack: httpx.AsyncClient,  # noqa: F811
    fake: FakeTwilio,  # noqa: F811
) -> None:
    case = await _registered_and_acknowledged(tw_stack, fake)
    reg = case["registration_number"]
    sequence, year = reg.split("/")
    path = f"/v1/complaints/{year}/{sequence}"
    report = {"outcome": "resolved", "reply": "Repaired."}
    assert (await tw_stack.post(f"{path}/report", json=report)).status_code == 200
    bad = await tw_stack.post(f"{path}/callback", json={"outcome": "satisfied", "rating": 6})
    assert bad.status_code == 422 and "rating" in bad.text
    # On the verification call: the telecaller records the rating with the outcome.
    called = await tw_stack.post(f"{path}/callback", json={"outcome": "satisfied", "rating": 4})
    assert called.status_code == 200, called.text
    assert called.json()["status"] == "closed" and "4/5" in called.json()["message"]
    # At the desk: changed within the window.
    desk = await tw_stack.post(f"{path}/rating", json={"score": 5, "remark": "Thank you"})
    assert desk.status_code == 200 and "5/5" in desk.json()["message"]
    body = await _case(tw_stack, reg)
    rated = [e for e in body["timeline"] if e["event"] == "closure_rated"]
    assert [e["channel"] for e in rated] == ["call", "desk"]
    # By SMS: a digit in reply to the closure SMS; a 1 appeals.
    code, twiml = await _inbound(tw_stack, "1", "+919876543210", fake.auth_token)
    assert code == 200 and "अपील दर्ज" in _reply(twiml), twiml  # the citizen is Hindi-speaking
    after = await eventually(lambda: _case(tw_stack, reg), lambda c: c["status"] == "weekly_review")
    assert any(e["event"] == "appealed" and e["channel"] == "sms" for e in after["timeline"])
    # Appealed once: a second digit is refused, saying why.
    code, twiml = await _inbound(tw_stack, "2", "+919876543210", fake.auth_token)
    assert "रेटिंग दर्ज नहीं" in _reply(twiml) or "Help" in _reply(twiml), twiml
