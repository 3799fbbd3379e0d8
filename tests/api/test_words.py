"""What citizens and telecallers read besides the SMS templates: refusals in both languages,
the STATUS reply with the department's current answer, the late-reopen answer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.templates import segments
from api.main import create_app
from api.routes.twilio import STATUS_REPLY_SEGMENTS, _status_text
from core.models import Complaint
from core.settings import Settings
from schemas.calendar import IST
from schemas.enums import Channel, ComplaintKind, ComplaintStatus
from schemas.refusals import REFUSALS, english, translated
from schemas.workflow import (
    CallbackOutcome,
    CallbackResult,
    DepartmentReport,
    ReportOutcome,
    ReviewRequest,
)
from tests.helpers import api_client
from tests.lifecycle_helpers import messages, open_case, reach, row_of, settled, state_of
from workflows.complaint import ComplaintWorkflow

NOW = datetime(2026, 11, 30, 6, tzinfo=UTC)
LONG_REPLY = (
    "Toilet constructed under SBM-G on 2 December 2026; the beneficiary's name has been added "
    "to the list and the second instalment of the grant released to her bank account. " * 2
).strip()


def _row(status: ComplaintStatus, language: str, reply: str | None = LONG_REPLY) -> Complaint:
    return Complaint(
        year=2026, sequence=20983, registration_number="20983/2026", workflow_id="w",
        kind=ComplaintKind.COMPLAINT, channel=Channel.CALL_CENTRE, citizen_name="n",
        citizen_phone="+919876543210", citizen_address="a", district="Ranchi",
        language=language, description="d", status=status, request_fingerprint="f",
        last_reply=reply, next_deadline=NOW + timedelta(days=1), created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def test_status_reply_gives_the_current_answer_shortened_to_fit() -> None:
    for language, label, answer in (
        ("en", "The department has replied", "Department's answer: Toilet constructed"),
        ("hi", "विभाग ने उत्तर दिया है", "विभाग का उत्तर: Toilet constructed"),
    ):
        text = _status_text(_row(ComplaintStatus.AWAITING_CALLBACK, language), language, "181")
        assert "20983/2026" in text and label in text and answer in text, text
        assert segments(text) <= STATUS_REPLY_SEGMENTS and text.endswith("181"), text
        assert "..." in text  # the long reply was shortened, not the status or the helpline


def test_status_reply_shows_no_rejected_answer_as_current() -> None:
    """Reopened (back with the officer) or on a review's agenda: the last reply was rejected
    or overtaken."""
    for status in (ComplaintStatus.AWAITING_REPORT, ComplaintStatus.WEEKLY_REVIEW):
        text = _status_text(_row(status, "en"), "en", "181")
        assert "Toilet" not in text and "answer" not in text, text
    closed = _status_text(_row(ComplaintStatus.CLOSED, "en", reply="Done."), "en", "181")
    assert "Department's answer: Done." in closed


def test_every_refusal_reads_in_english_and_hindi_with_statuses_in_words() -> None:
    params = {
        "status": "closed", "wanted": "awaiting_report or awaiting_callback", "outcome": "x",
        "kind": "suggestion", "valid": "accepted", "value": "Gotham", "attempt": "2",
        "due": "01-12-2026 10:00", "current": "s1", "requested": "s2", "days": "15",
        "date": "15-12-2026", "reg": "1/2026", "session": "weekly-review-2026-12-01",
        "cutoff": "30-11-2026 18:00", "reason": "x", "helpline": "181", "limit": "5",
        "field": "reason",
    }  # fmt: skip
    for key in REFUSALS:
        en, hi = english(key, params), translated(key, "hi", params)
        assert en and re.search("[\u0900-\u097f]", hi), key
        fields = (
            "transfer_to_",
            "citizen_informed",
            "new_deadline",
            "limit_override_reason",
            "expected_by",
        )
        for named_field in fields:
            en = en.replace(named_field, "")
        assert "_" not in en, (key, en)  # no internal status codes
    wrong = translated("wrong_status", "hi", params)
    assert "'निस्तारित (बंद)'" in wrong and "'कार्रवाई हेतु विभाग के पास'" in wrong


async def test_a_late_reopen_says_when_the_window_ended(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    handle = await open_case(env.client, engine, settings)
    await reach(handle, ComplaintStatus.AWAITING_REPORT)
    await handle.execute_update(
        ComplaintWorkflow.submit_report,
        DepartmentReport(
            outcome=ReportOutcome.RESOLVED, reply="Toilet built", submitted_by="nodal-ranchi"
        ),
    )
    await handle.execute_update(
        ComplaintWorkflow.record_callback,
        CallbackResult(outcome=CallbackOutcome.SATISFIED, telecaller="tc-07"),
    )
    closed_at = row_of(engine, handle).closed_at
    assert closed_at is not None
    await env.sleep(timedelta(days=16))  # past the 15-day window: the workflow has finished
    await handle.result()

    row = row_of(engine, handle)
    app = create_app(settings, engine=engine, client=env.client)
    async with api_client(app) as http:
        answer = await http.post(
            f"/v1/complaints/{row.year}/{row.sequence}/reopen", json={"reason": "not done"}
        )
    assert answer.status_code == 409, answer.text
    body = answer.json()
    ended = (closed_at.replace(tzinfo=UTC) + timedelta(days=15)).astimezone(IST)
    assert body["reason"] == "reopen_window_ended"
    assert body["detail"] == f"the reopen window of 15 days ended on {ended:%d-%m-%Y}"
    assert body["detail_hi"] == f"पुनः खोलने की 15 दिन की अवधि {ended:%d-%m-%Y} को समाप्त हो गई"


async def test_a_review_request_on_an_agenda_is_answered_with_the_review_not_a_deadline(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """The citizen asks for a review of a case already on a review's agenda: the SMS names
    that review and its date, not an officer's deadline."""
    handle = await open_case(env.client, engine, settings)
    await reach(handle, ComplaintStatus.AWAITING_REPORT)
    await env.sleep(timedelta(days=40))  # past the report deadline: on the weekly review
    await reach(handle, ComplaintStatus.WEEKLY_REVIEW)
    result = await handle.execute_update(
        ComplaintWorkflow.request_review, ReviewRequest(note="any news?", via="sms")
    )
    assert result.message.startswith("already on the agenda of")
    await settled(handle)
    sent = [(m.template, m.text) for m in messages(engine, handle)]
    assert not any(t == "review_request_answer" for t, _ in sent), sent
    state = await state_of(handle)
    assert state.review is not None
    on = state.review.starts_at.astimezone(IST).strftime("%d-%m-%Y")
    last = [body for t, body in sent if t == "escalated"][-1]
    assert f"{on} की साप्ताहिक समीक्षा बैठक" in last, last
