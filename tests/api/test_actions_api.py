"""The actions on a case and the listings, over HTTP against the real worker and dev server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from core.models import Complaint, utcnow
from harness.factories import complaint_body, eventually


async def _json(response: Any) -> Any:
    return (await response).json()


async def _case(http: httpx.AsyncClient, **overrides: Any) -> tuple[str, dict[str, Any]]:
    created = await http.post("/v1/complaints", json=complaint_body(**overrides))
    assert created.status_code == 201, created.text
    path = created.json()["links"]["self"]

    async def probe() -> dict[str, Any]:
        return (await http.get(path)).json()

    case = await eventually(probe, lambda c: c["status"] == "awaiting_report")
    return path, case


REPORT = {
    "outcome": "resolved",
    "reply": "Toilet constructed under SBM-G on 2 December",
}


async def test_report_callback_and_closure_over_http(stack: httpx.AsyncClient) -> None:
    path, _ = await _case(stack)
    answer = await stack.post(f"{path}/report", json=REPORT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "awaiting_callback"

    # The telecaller's work list (all pending calls, not only those already due).
    worklist = (await stack.get("/v1/callbacks", params={"due_only": False})).json()
    assert [i["complaint"]["links"]["self"] for i in worklist["data"]] == [path]
    assert worklist["data"][0]["last_reply"] == REPORT["reply"]
    assert (await stack.get("/v1/callbacks")).json()["count"] == 0  # due tomorrow

    again = await stack.post(f"{path}/report", json=REPORT)
    assert again.status_code == 409
    # Why, in words a telecaller can read out, in English and in Hindi.
    refused = again.json()
    assert refused["reason"] == "wrong_status"
    assert "'The department has replied; we will call you to confirm'" in refused["detail"]
    assert "'विभाग ने उत्तर दिया है; पुष्टि के लिए आपको कॉल किया जाएगा'" in refused["detail_hi"]

    closed = await stack.post(f"{path}/callback", json={"outcome": "satisfied"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    case = (await stack.get(path)).json()
    assert case["closure_reason"] == "resolved_verified"
    assert case["last_reply"] == REPORT["reply"]
    assert [e["event"] for e in case["timeline"]] == [
        "registered",
        "forwarded",
        "report_received",
        "closed",
    ]

    phone = {"X-Citizen-Phone": complaint_body()["citizen"]["phone"]}
    tracked = (await stack.get(path.replace("/complaints/", "/track/"), headers=phone)).json()
    assert tracked["last_reply"] == REPORT["reply"]

    reopened = await stack.post(f"{path}/reopen", json={"reason": "the toilet has no door"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "awaiting_report"
    # The answer the citizen just rejected is still the latest that came.
    tracked = (await stack.get(path.replace("/complaints/", "/track/"), headers=phone)).json()
    assert tracked["status"] == "awaiting_report" and tracked["last_reply"] == REPORT["reply"]
    assert tracked["reopen_until"] is None


async def test_action_bodies_are_validated_naming_the_field(stack: httpx.AsyncClient) -> None:
    path, _ = await _case(stack)
    missing = await stack.post(f"{path}/report", json={"outcome": "resolved"})
    assert missing.status_code == 422
    assert "reply" in [e["field"] for e in missing.json()["errors"]]
    wrong = await stack.post(f"{path}/report", json={**REPORT, "outcome": "done"})
    assert wrong.status_code == 422 and "outcome" in wrong.json()["detail"]
    not_waiting = await stack.post(f"{path}/callback", json={"outcome": "satisfied"})
    assert not_waiting.status_code == 409
    unknown = await stack.post("/v1/complaints/2018/20983/report", json=REPORT)
    assert unknown.status_code == 404

    # Who acted comes from the token: a body that names an actor is refused, naming the field,
    # and nothing is recorded.
    actors = {
        "report": ({**REPORT, "submitted_by": "x"}, {"submitted_by"}),
        "callback": ({"outcome": "satisfied", "telecaller": "tc"}, {"telecaller"}),
        "review-request": ({"requested_by": "cm", "via": "sms"}, {"requested_by", "via"}),
        "withdraw": ({"reason": "solved", "recorded_by": "citizen"}, {"recorded_by"}),
        "reopen": ({"reason": "no door", "recorded_by": "citizen"}, {"recorded_by"}),
        "decision": ({"decision": "close", "text": "Done", "decided_by": "cm"}, {"decided_by"}),
    }
    for action, (body, named) in actors.items():
        answer = await stack.post(f"{path}/{action}", json=body)
        assert answer.status_code == 422, (action, answer.text)
        errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
        assert set(errors) == named, (action, errors)
        assert all("caller's token" in message for message in errors.values()), errors
    case = (await stack.get(path)).json()
    assert case["status"] == "awaiting_report"
    assert [e["event"] for e in case["timeline"]] == ["registered", "forwarded"]


async def test_not_satisfied_goes_to_review_and_a_decision_comes_back(
    stack: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    path, _ = await _case(stack)
    await stack.post(f"{path}/report", json=REPORT)
    escalated = await stack.post(
        f"{path}/callback",
        json={"outcome": "not_satisfied", "remark": "only half built"},
    )
    assert escalated.status_code == 200
    body = escalated.json()
    assert body["status"] == "weekly_review" and body["escalation_level"] == 1
    session_id = body["review"]["session_id"]
    case = (await stack.get(path)).json()
    assert case["review_date"] is not None and case["citizen_remark"] == "only half built"

    # The Temporal UI can find it by status, level and deadline (search attributes).
    query = (
        f'WorkflowId="{case["workflow_id"]}" AND ComplaintStatus="weekly_review" '
        f'AND EscalationLevel=1 AND NextDeadline > "2000-01-01T00:00:00Z"'
    )

    async def listed() -> list[str]:
        return [wf.id async for wf in dev_env.client.list_workflows(query)]

    assert await eventually(listed, lambda ids: ids == [case["workflow_id"]])

    unknown_officer = await stack.post(
        f"{path}/decision",
        json={
            "decision": "directive",
            "text": "Finish it",
            "responsible_officer_id": "nobody",
        },
    )
    assert unknown_officer.status_code == 422
    closing_uninformed = await stack.post(
        f"{path}/decision",
        json={"decision": "close", "text": "Resolved"},
    )
    assert closing_uninformed.status_code == 409
    assert "citizen_informed" in closing_uninformed.json()["detail"]

    deadline = (utcnow() + timedelta(days=5)).isoformat()
    directed = await stack.post(
        f"{path}/decision",
        json={
            "decision": "directive",
            "text": "BDO Kanke to complete the toilet",
            "responsible_officer_id": "nodal-department-drinking-water-sanitation",
            "new_deadline": deadline,
            "session_id": session_id,
        },
    )
    assert directed.status_code == 200, directed.text
    case = (await stack.get(path)).json()
    assert case["status"] == "awaiting_report"
    assert case["assigned_officer"]["id"] == "nodal-department-drinking-water-sanitation"
    # The directive is recorded at once; its SMS follows from the case's queue.
    case = await eventually(
        lambda: _json(stack.get(path)),
        lambda c: "directive" in [m["template"] for m in c["messages"]],
    )


async def test_citizen_review_request_and_withdrawal(stack: httpx.AsyncClient) -> None:
    path, _ = await _case(stack)
    answer = await stack.post(f"{path}/review-request", json={"note": "please"})
    assert answer.status_code == 200
    assert "not yet due" in answer.json()["message"]
    withdrawn = await stack.post(f"{path}/withdraw", json={"reason": "resolved by the panchayat"})
    assert withdrawn.json()["status"] == "withdrawn"

    async def probe() -> int:
        return (await stack.post(f"{path}/review-request", json={})).status_code

    # Withdrawn: no further actions (409 while finishing, then the workflow is gone).
    assert await eventually(probe, lambda code: code == 409) == 409


async def test_listing_filters_and_pagination(stack: httpx.AsyncClient) -> None:
    await _case(stack)
    await _case(stack, citizen__district="Dhanbad", citizen__pincode=None)
    urgent_path, _ = await _case(stack, category="natural_disaster", description="बाढ़ से घर डूबे")

    everything = (await stack.get("/v1/complaints")).json()
    assert everything["count"] == 3
    assert everything["data"][0]["links"]["self"] == urgent_path  # urgent first
    dhanbad = (await stack.get("/v1/complaints", params={"district": "dhanbad"})).json()
    assert dhanbad["count"] == 1 and dhanbad["data"][0]["district"] == "Dhanbad"
    urgent = (await stack.get("/v1/complaints", params={"urgent": True})).json()
    assert urgent["count"] == 1 and urgent["data"][0]["department"] == "disaster_management"
    page = (await stack.get("/v1/complaints", params={"limit": 2, "offset": 2})).json()
    assert page["count"] == 3 and len(page["data"]) == 1
    level0 = await stack.get(
        "/v1/complaints", params={"status": "awaiting_report", "escalation_level": 0}
    )
    assert level0.json()["count"] == 3
    bad = await stack.get("/v1/complaints", params={"district": "Patna"})
    assert bad.status_code == 422 and "district" in bad.json()["detail"]

    # Overdue is computed from the read model's deadline.
    with Session(stack.app_engine) as session:  # type: ignore[attr-defined]
        row = session.exec(select(Complaint).where(Complaint.district == "Dhanbad")).one()
        row.next_deadline = utcnow() - timedelta(hours=1)
        session.add(row)
        session.commit()
    overdue = (await stack.get("/v1/complaints", params={"overdue": True})).json()
    assert [c["district"] for c in overdue["data"]] == ["Dhanbad"]
    assert overdue["data"][0]["overdue"] is True
    # Overdue cases come longest overdue first (urgency does not reorder them).
    with Session(stack.app_engine) as session:  # type: ignore[attr-defined]
        row = session.exec(select(Complaint).where(col(Complaint.urgent).is_(True))).one()
        row.next_deadline = utcnow() - timedelta(minutes=5)
        session.add(row)
        session.commit()
    overdue = (await stack.get("/v1/complaints", params={"overdue": True})).json()
    assert [c["links"]["self"] for c in overdue["data"]][1] == urgent_path
    assert overdue["data"][0]["district"] == "Dhanbad"


async def test_live_state_comes_from_the_workflow(stack: httpx.AsyncClient) -> None:
    path, _ = await _case(stack)
    live = await stack.get(f"{path}/live")
    assert live.status_code == 200
    assert live.json()["status"] == "awaiting_report"
    assert live.json()["officer"]["officer_id"] == "nodal-district-ranchi"
