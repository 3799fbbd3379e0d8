"""POST/GET /v1/complaints end to end: API, real worker, dev server, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from core.models import Complaint, Message
from harness.factories import complaint_body, eventually
from schemas.calendar import IST


async def _get(http: httpx.AsyncClient, reg: str) -> dict[str, Any]:
    sequence, year = reg.split("/")
    response = await http.get(f"/v1/complaints/{year}/{sequence}")
    assert response.status_code == 200, response.text
    return response.json()


async def _acknowledged(http: httpx.AsyncClient, reg: str) -> dict[str, Any]:
    return await eventually(
        lambda: _get(http, reg),
        lambda c: (
            # Handed to the gateway (the row is written `pending` just before).
            any(
                m["template"] == "acknowledgement" and m["status"] != "pending"
                for m in c["messages"]
            )
            and c["status"] == "awaiting_report"
        ),
    )


async def test_complaint_is_registered_acknowledged_and_forwarded(
    stack: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    response = await stack.post("/v1/complaints", json=complaint_body())
    assert response.status_code == 201, response.text
    created = response.json()
    year = datetime.now(IST).year
    assert created["registration_number"] == f"1/{year}"
    assert created["links"]["self"] == f"/v1/complaints/{year}/1"
    assert created["citizen"]["phone"] == "+919876543210"
    assert created["workflow_started"] is True

    case = await _acknowledged(stack, created["registration_number"])
    ack = next(m for m in case["messages"] if m["template"] == "acknowledgement")
    assert f"1/{year}" in ack["text"]
    assert "शिकायत" in ack["text"]  # Hindi, the citizen's language
    assert ack["status"] == "outbox" and ack["provider"] == "outbox"
    assert ack["recipient"] == "+919876543210"
    assert [e["event"] for e in case["timeline"]][:2] == ["registered", "forwarded"]
    assert case["assigned_officer"]["id"] == "nodal-district-ranchi"
    assert case["next_deadline"] is not None
    # Devanagari stored exactly as written.
    assert case["description"] == complaint_body()["description"]

    handle = dev_env.client.get_workflow_handle(case["workflow_id"])
    description = await handle.describe()
    assert description.status is WorkflowExecutionStatus.RUNNING
    found = [
        wf.id
        async for wf in dev_env.client.list_workflows(
            f'District="Ranchi" AND WorkflowId="{case["workflow_id"]}"'
        )
    ]
    assert case["workflow_id"] in found


async def test_english_citizen_gets_english_acknowledgement(stack: httpx.AsyncClient) -> None:
    body = complaint_body(citizen__language="en", description="No LPG connection yet (Ujjwala)")
    created = (await stack.post("/v1/complaints", json=body)).json()
    case = await _acknowledged(stack, created["registration_number"])
    ack = next(m for m in case["messages"] if m["template"] == "acknowledgement")
    assert ack["language"] == "en"
    assert f"no. {created['registration_number']}" in ack["text"]


async def test_idempotent_retry_returns_same_complaint_and_one_sms(
    stack: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "call-181-abc"}
    first = await stack.post("/v1/complaints", json=complaint_body(), headers=headers)
    second = await stack.post("/v1/complaints", json=complaint_body(), headers=headers)
    assert first.status_code == 201 and second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    reg = first.json()["registration_number"]
    assert second.json()["registration_number"] == reg
    await _acknowledged(stack, reg)

    changed = await stack.post(
        "/v1/complaints", json=complaint_body(description="something else"), headers=headers
    )
    assert changed.status_code == 409
    assert "Idempotency-Key" in changed.json()["detail"]

    engine = stack.app_engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 1
        acks = session.exec(select(Message).where(Message.template == "acknowledgement")).all()
        assert len(acks) == 1


async def test_concurrent_posts_get_distinct_consecutive_numbers(
    stack: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(
            stack.post(
                "/v1/complaints",
                # 50 citizens (one phone may file only a few complaints a day)
                json=complaint_body(citizen__name=f"Citizen {i}", citizen__phone=f"98765{i:05d}"),
            )
            for i in range(50)
        )
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses][:3]
    sequences = sorted(int(r.json()["registration_number"].split("/")[0]) for r in responses)
    assert sequences == list(range(1, 51))


@pytest.mark.parametrize(
    ("overrides", "field", "phrase"),
    [
        ({"citizen__phone": "12345"}, "citizen.phone", "Indian mobile number"),
        ({"citizen__phone": "5876543210"}, "citizen.phone", "Indian mobile number"),
        ({"citizen__district": "Patna"}, "citizen.district", "Ranchi"),
        ({"citizen__pincode": "83400"}, "citizen.pincode", "6 digits"),
        ({"citizen__pincode": "110001"}, "citizen.pincode", "Jharkhand"),
        ({"description": ""}, "description", "at least 1"),
        ({"description": "   "}, "description", "blank"),
        ({"description": "x" * 4001}, "description", "at most 4000"),
        ({"channel": "pigeon"}, "channel", "call_centre"),
        ({"kind": "praise"}, "kind", "complaint"),
        ({"category": "weather"}, "category", "sanitation"),
        ({"department": "space"}, "department", "health"),
        ({"citizen__name": ""}, "citizen.name", "at least 1"),
        ({"citizen__language": "fr"}, "citizen.language", "hi"),
        ({"unexpected": 1}, "unexpected", "not permitted"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    app_http: httpx.AsyncClient, overrides: dict[str, Any], field: str, phrase: str
) -> None:
    response = await app_http.post("/v1/complaints", json=complaint_body(**overrides))
    assert response.status_code == 422
    body = response.json()
    assert field in [e["field"] for e in body["errors"]], body
    assert phrase in body["detail"], body["detail"]
    with Session(app_http.app_engine) as session:  # type: ignore[attr-defined]
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 0


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("+91 98765 43210", "+919876543210"),
        ("09876543210", "+919876543210"),
        ("919876543210", "+919876543210"),
        ("6000000001", "+916000000001"),
    ],
)
async def test_phone_numbers_are_normalised(
    stack: httpx.AsyncClient, given: str, stored: str
) -> None:
    response = await stack.post("/v1/complaints", json=complaint_body(citizen__phone=given))
    assert response.status_code == 201, response.text
    assert response.json()["citizen"]["phone"] == stored


async def test_district_is_case_insensitive_and_hinglish_is_stored_exactly(
    stack: httpx.AsyncClient,
) -> None:
    text = "Hamare gaon mein hospital nahi hai, Dhanbad jaana padta hai. हमें अस्पताल चाहिए!"
    response = await stack.post(
        "/v1/complaints",
        json=complaint_body(
            citizen__district="  east   SINGHBHUM ", citizen__pincode=None, description=text
        ),
    )
    assert response.status_code == 201, response.text
    assert response.json()["citizen"]["district"] == "East Singhbhum"
    assert response.json()["description"] == text


async def test_unknown_complaint_is_404(app_http: httpx.AsyncClient) -> None:
    response = await app_http.get("/v1/complaints/2018/20983")
    assert response.status_code == 404
    assert "20983/2018" in response.json()["detail"]


async def test_health_reports_database_and_temporal(stack: httpx.AsyncClient) -> None:
    response = await stack.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "api": "ok", "database": "ok", "temporal": "ok"}
