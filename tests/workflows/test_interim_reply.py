"""An officer running late sends an interim reply: a reason from the state's list,
a text, an expected date. The citizen is told; the case's deadline never moves (the citizen's
clock still escalates it); a date past it is an extension request the next review sees. A
"not actionable" report names its reason; "does not pertain" is a transfer, never a closure.

Time-skipping server and real activities (SQLite read model); the last tests are the rules
and the request bodies alone.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.closure import extension_requests
from core.readmodel import agenda_items
from core.settings import Settings
from harness.factories import eventually
from schemas.actions import ReportBody
from schemas.enums import ComplaintStatus, RecipientKind
from schemas.policy import Policy
from schemas.reasons import interim_label
from schemas.workflow import (
    DecisionKind,
    DepartmentReport,
    InterimReply,
    ReportOutcome,
    ReviewDecision,
    SmsTemplate,
)
from tests.lifecycle_helpers import (
    DAY,
    HISTORIES,
    CaseHandle,
    messages,
    open_case,
    rejected,
    row_of,
    settled,
    state_of,
    timeline,
)
from workflows import rules
from workflows.complaint import ComplaintWorkflow


async def keep_interim_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With JANSAMVAD_RECORD_HISTORIES=1, save the run's history as `NAME.json` for the
    replay suite."""
    if os.environ.get("JANSAMVAD_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(
        json.dumps(json.loads(history.to_json()), indent=1) + "\n", encoding="utf-8"
    )


async def opened(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> CaseHandle:
    handle = await open_case(env.client, engine, settings)
    await eventually(
        lambda: state_of(handle), lambda s: s.status is ComplaintStatus.AWAITING_REPORT
    )
    return handle


def interim(expected_by: datetime, reason: str = "awaiting_funds") -> InterimReply:
    return InterimReply(
        reason=reason,
        text="The road repair needs the block's next instalment.",
        expected_by=expected_by,
        submitted_by="nodal-ranchi",
    )


async def test_an_interim_reply_never_moves_the_deadline_and_asks_the_review_for_more(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    before = await state_of(handle)
    deadline = before.next_deadline
    assert deadline is not None
    await env.sleep(DAY * 5)
    asked = deadline + timedelta(days=20)
    result = await handle.execute_update(ComplaintWorkflow.send_interim_reply, interim(asked))
    # The citizen's clock: the deadline is where it was; the officer granted nothing.
    assert result.status is ComplaintStatus.AWAITING_REPORT
    assert result.next_deadline == deadline
    assert "next review" in result.message
    state = await settled(handle)
    assert state.next_deadline == deadline
    assert state.interim_replies == 1 and state.extension_requested_until == asked
    row = row_of(engine, handle)
    assert row.interim_replies == 1 and row.interim_reason == "awaiting_funds"
    assert row.extension_requested_until is not None
    assert row.extension_requested_until.astimezone(UTC) == asked.astimezone(UTC)
    assert "interim_reply" in timeline(engine, handle)
    sms = [m for m in messages(engine, handle) if m.template == SmsTemplate.INTERIM_REPLY.value]
    assert len(sms) == 1 and sms[0].recipient_kind is RecipientKind.CITIZEN
    assert interim_label("awaiting_funds", sms[0].language) in sms[0].text

    # The deadline passes: the case escalates exactly when it would have without the reply.
    await env.sleep(deadline - (await env.get_current_time()).astimezone(UTC) + DAY)
    state = await eventually(
        lambda: state_of(handle), lambda s: s.status is ComplaintStatus.WEEKLY_REVIEW
    )
    escalated = row_of(engine, handle)
    assert escalated.extension_requested_until is not None
    # The next review's agenda shows the request beside the case.
    assert state.review is not None
    with Session(engine) as session:
        items = agenda_items(session, state.review.session_id, datetime.now(UTC))
    item = next(i for i in items if i.registration_number == escalated.registration_number)
    assert item.extension_requested_until is not None
    assert item.extension_requested_until.astimezone(UTC) == asked.astimezone(UTC)
    # ... and in the agenda's own section of extension requests and interim replies.
    with Session(engine) as session:
        requests, count = extension_requests(
            session, state.review.session_id, district=None, limit=10, offset=0
        )
    assert count == 1 and requests[0].registration_number == escalated.registration_number
    assert requests[0].interim_reason == "awaiting_funds" and requests[0].interim_replies == 1

    # The review decides: its directive answers the request.
    await handle.execute_update(
        ComplaintWorkflow.record_decision,
        ReviewDecision(
            decision=DecisionKind.DIRECTIVE,
            text="Finish with the funds released this month.",
            decided_by="cm-secretary",
        ),
    )
    assert (await state_of(handle)).extension_requested_until is None
    await eventually(lambda: _row_extension(engine, handle), lambda until: until is None)
    await keep_interim_history(handle, "interim_reply_extension")


def _row_extension(engine: Engine, handle: CaseHandle) -> Any:
    async def read() -> datetime | None:
        return row_of(engine, handle).extension_requested_until

    return read()


async def test_an_interim_reply_within_the_deadline_asks_for_nothing(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    deadline = (await state_of(handle)).next_deadline
    assert deadline is not None
    result = await handle.execute_update(
        ComplaintWorkflow.send_interim_reply,
        interim(deadline - DAY, reason="site_inspection_due"),
    )
    assert result.next_deadline == deadline
    state = await state_of(handle)
    assert state.extension_requested_until is None and state.interim_replies == 1
    # The officer's report answers the interim reply.
    await handle.execute_update(
        ComplaintWorkflow.submit_report,
        DepartmentReport(outcome=ReportOutcome.RESOLVED, reply="Done.", submitted_by="nodal"),
    )
    assert (await state_of(handle)).status is ComplaintStatus.AWAITING_CALLBACK


async def test_an_interim_reply_needs_a_listed_reason_a_text_and_a_date_ahead(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)
    now = await env.get_current_time()
    with rejected("reason_not_listed"):
        await handle.execute_update(
            ComplaintWorkflow.send_interim_reply, interim(now + DAY, reason="too_busy")
        )
    with rejected("expected_past"):
        await handle.execute_update(ComplaintWorkflow.send_interim_reply, interim(now - DAY))
    with rejected("text_required"):
        await handle.execute_update(
            ComplaintWorkflow.send_interim_reply,
            InterimReply(
                reason="awaiting_funds", text="   ", expected_by=now + DAY, submitted_by="nodal"
            ),
        )
    state = await state_of(handle)
    assert state.interim_replies == 0  # nothing written for a refused reply
    assert "interim_reply" not in timeline(engine, handle)


async def test_not_actionable_names_its_reason_and_does_not_pertain_is_a_transfer(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await opened(env, engine, settings)

    def report(reason: str | None) -> DepartmentReport:
        return DepartmentReport(
            outcome=ReportOutcome.NOT_ACTIONABLE,
            reply="The land is under litigation.",
            submitted_by="nodal",
            reason=reason,
        )

    with rejected("reason_required"):
        await handle.execute_update(ComplaintWorkflow.submit_report, report(None))
    with rejected("does_not_pertain"):
        await handle.execute_update(ComplaintWorkflow.submit_report, report("does_not_pertain"))
    with rejected("reason_not_listed"):
        await handle.execute_update(ComplaintWorkflow.submit_report, report("lazy"))
    assert (await state_of(handle)).status is ComplaintStatus.AWAITING_REPORT
    await handle.execute_update(ComplaintWorkflow.submit_report, report("sub_judice"))
    assert (await state_of(handle)).status is ComplaintStatus.AWAITING_CALLBACK
    await eventually(lambda: _row_reason(engine, handle), lambda reason: reason == "sub_judice")


def _row_reason(engine: Engine, handle: CaseHandle) -> Any:
    async def read() -> str | None:
        return row_of(engine, handle).report_reason

    return read()


# ---- the rules and the bodies, without a server ----------------------------------------------

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_extension_request_only_past_the_deadline() -> None:
    deadline = NOW + timedelta(days=10)
    assert rules.extension_request(NOW + timedelta(days=9), deadline) is None
    assert rules.extension_request(deadline, deadline) is None
    assert rules.extension_request(NOW + timedelta(days=11), deadline) == NOW + timedelta(days=11)
    assert rules.extension_request(NOW, None) is None


def test_interim_refusals_name_the_field() -> None:
    allowed = Policy().interim_reasons
    ok = dict(text="t", expected_by=NOW + DAY, now=NOW, allowed=allowed)
    assert rules.interim_refusal(reason="awaiting_funds", **ok) is None  # type: ignore[arg-type]
    refused = rules.interim_refusal(reason="x", **ok)  # type: ignore[arg-type]
    assert refused is not None and refused[0] == "reason_not_listed"
    assert refused[1]["field"] == "reason"
    naive = rules.interim_refusal(
        reason="awaiting_funds",
        text="t",
        expected_by=datetime(2027, 1, 1),
        now=NOW,
        allowed=allowed,
    )
    assert naive is not None and naive[0] == "deadline_zone"


def test_a_state_configures_its_own_reasons() -> None:
    policy = Policy(interim_reasons=("monsoon",), not_actionable_reasons=("sub_judice",))
    assert (
        rules.interim_refusal(
            reason="monsoon",
            text="t",
            expected_by=NOW + DAY,
            now=NOW,
            allowed=policy.interim_reasons,
        )
        is None
    )
    assert rules.not_actionable_refusal("policy_matter", policy.not_actionable_reasons) == (
        "reason_not_listed",
        {"field": "reason", "value": "policy_matter", "valid": "sub_judice"},
    )
    # A code without a label shows as itself.
    assert interim_label("monsoon", "hi") == "monsoon"
    assert interim_label("awaiting_funds", "hi") == "राशि की प्रतीक्षा"


def test_the_report_body_asks_not_actionable_for_a_reason_and_refuses_does_not_pertain() -> None:
    with pytest.raises(ValidationError) as info:
        ReportBody(outcome=ReportOutcome.NOT_ACTIONABLE, reply="x")
    assert info.value.errors()[0]["loc"] == ("reason",)
    with pytest.raises(ValidationError, match="transfer"):
        ReportBody(outcome=ReportOutcome.NOT_ACTIONABLE, reply="x", reason="does_not_pertain")
    with pytest.raises(ValidationError, match="transfer"):
        ReportBody(outcome=ReportOutcome.RESOLVED, reply="x", reason="Does_Not_Pertain")
    body = ReportBody(outcome=ReportOutcome.NOT_ACTIONABLE, reply="x", reason="sub_judice")
    assert body.as_update("nodal").reason == "sub_judice"
    assert ReportBody(outcome=ReportOutcome.RESOLVED, reply="x").reason is None
