"""Repeat calls linked, not duplicated, on the real stack (API, worker, dev server; SQLite and
PostgreSQL): the registration answer offers the phone's open look-alike cases and carries its
earlier cases; `link_to` records the call on the earlier case (timeline, repeat count, the
citizen sent its number again) with no second case and no second workflow; a retried link is
one contact. With JANSAMVAD_RECORD_HISTORIES=1 the linked case's history is saved for the
replay suite (tests/histories/repeat_contact_linked.json)."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from sqlmodel import Session, func, select
from temporalio.testing import WorkflowEnvironment

from core.models import Complaint
from harness.factories import auth_headers, complaint_body, eventually
from schemas.auth import Role
from tests.api.test_pages import csrf, sign_in, token_of
from tests.paths import HISTORIES

HISTORY = HISTORIES / "repeat_contact_linked.json"


async def _case(stack: httpx.AsyncClient, number: str) -> dict[str, Any]:
    sequence, year = number.split("/")
    answer = await stack.get(f"/v1/complaints/{year}/{sequence}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def _forwarded(stack: httpx.AsyncClient, number: str) -> dict[str, Any]:
    return await eventually(
        lambda: _case(stack, number), lambda c: c["status"] == "awaiting_report"
    )


async def test_a_repeat_call_is_offered_then_linked_once_with_no_second_workflow(
    stack: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    engine = stack.app_engine  # type: ignore[attr-defined]
    first = await stack.post("/v1/complaints", json=complaint_body())
    assert first.status_code == 201, first.text
    original = first.json()["registration_number"]
    assert first.json()["earlier_cases"] == [] and first.json()["possible_duplicates"] == []
    await _forwarded(stack, original)

    # The same caller again on the same subject and district: registered (the API never
    # refuses), with the earlier case offered as a possible duplicate and in the history.
    again = await stack.post(
        "/v1/complaints", json=complaint_body(citizen__phone="+91 98765 43210")
    )
    assert again.status_code == 201, again.text
    body = again.json()
    assert [c["registration_number"] for c in body["possible_duplicates"]] == [original]
    assert [c["registration_number"] for c in body["earlier_cases"]] == [original]
    assert body["earlier_cases_count"] == 1 and body["linked"] is False
    # Another subject in other words: history, but no duplicate.
    other = await stack.post(
        "/v1/complaints",
        json=complaint_body(category="health_facility", description="No hospital near Barwadih"),
    )
    assert other.json()["possible_duplicates"] == []
    assert len(other.json()["earlier_cases"]) == 2

    with Session(engine) as session:
        cases_before = session.exec(select(func.count()).select_from(Complaint)).one()

    # The third call linked to the first, sent twice with one key: one contact.
    headers = {"Idempotency-Key": "repeat-call-1"}
    call = complaint_body(
        link_to=original.replace("/", "-"), description="Abhi tak toilet nahi mila"
    )
    linked = await stack.post("/v1/complaints", json=call, headers=headers)
    assert linked.status_code == 200, linked.text
    assert linked.json()["linked"] is True
    assert linked.json()["registration_number"] == original
    retried = await stack.post("/v1/complaints", json=call, headers=headers)
    assert retried.status_code == 200 and retried.json()["registration_number"] == original

    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == cases_before

    case = await eventually(
        lambda: _case(stack, original),
        lambda c: any(m["template"] == "repeat_contact" for m in c["messages"]),
    )
    events = [e for e in case["timeline"] if e["event"] == "repeat_contact"]
    assert len(events) == 1 and events[0]["note"] == "Abhi tak toilet nahi mila"
    assert case["repeat_contacts"] == 1
    sms = [m for m in case["messages"] if m["template"] == "repeat_contact"]
    assert len(sms) == 1 and original in sms[0]["text"]
    assert sms[0]["recipient"] == "+919876543210"
    listed = await stack.get("/v1/complaints", params={"q": original})
    assert listed.json()["data"][0]["repeat_contacts"] == 1

    # No workflow for a number beyond the three registered.
    workflows = [
        wf.id
        async for wf in dev_env.client.list_workflows(
            f'WorkflowId STARTS_WITH "{case["workflow_id"].rsplit("-", 2)[0]}"'
        )
    ]
    assert len(workflows) == 3, workflows

    handle = dev_env.client.get_workflow_handle(case["workflow_id"])
    history = await handle.fetch_history()
    # A channel system that may only register links too, and reads nothing written since.
    portal = {**auth_headers(engine, Role.INTEGRATION), "Idempotency-Key": "portal-repeat-1"}
    by_portal = await stack.post("/v1/complaints", json=call, headers=portal)
    assert by_portal.status_code == 200, by_portal.text
    assert by_portal.json()["linked"] is True and by_portal.json()["timeline"] == []
    assert (
        by_portal.json()["last_reply"] is None and by_portal.json()["status"] == "awaiting_report"
    )
    if os.environ.get("JANSAMVAD_RECORD_HISTORIES") == "1" and engine.dialect.name == "sqlite":
        HISTORY.write_text(
            json.dumps(json.loads(history.to_json()), indent=1) + "\n", encoding="utf-8"
        )


async def test_a_link_to_another_phones_case_or_a_bad_number_names_link_to(
    stack: httpx.AsyncClient,
) -> None:
    first = await stack.post("/v1/complaints", json=complaint_body(citizen__phone="9123456789"))
    number = first.json()["registration_number"]
    for link_to, status in ((number, 422), ("12/2026/3", 422), ("999999/2026", 422)):
        answer = await stack.post("/v1/complaints", json=complaint_body(link_to=link_to))
        assert answer.status_code == status, answer.text
        assert "link_to" in answer.text
    # Nothing registered for those calls.
    assert (await stack.get("/v1/complaints", params={"q": "9876543210"})).json()["count"] == 0


async def test_the_desk_offers_the_earlier_case_and_links_the_call(
    stack: httpx.AsyncClient,
) -> None:
    """The telecaller sees "already registered as N — link this call to it?" before anything
    is registered; linking opens the earlier case, the call on its timeline."""
    engine = stack.app_engine  # type: ignore[attr-defined]
    first = await stack.post("/v1/complaints", json=complaint_body())
    original = first.json()["registration_number"]
    await _forwarded(stack, original)
    stack.headers.pop("Authorization")
    await sign_in(stack, token_of(auth_headers(engine, Role.TELECALLER)))
    stack.headers["accept-language"] = "en"
    desk = await stack.get("/desk")
    form = {
        "csrf_token": csrf(desk),
        "idempotency_key": "desk-repeat-1",
        "kind": "complaint",
        "channel": "call_centre",
        "citizen.name": "Ramesh Mahto",
        "citizen.phone": "098765 43210",
        "citizen.address": "Village Barwadih",
        "citizen.district": "राँची",
        "citizen.language": "hi",
        "category": "sanitation",
        "description": "Toilet abhi tak nahi mila",
    }
    offered = await stack.post("/desk/register", data=form)
    assert offered.status_code == 200, offered.text
    block = offered.text.split('id="possible-duplicates"', 1)[1].split("</div>", 1)[0]
    assert f"Already registered as {original}" in block
    assert f'name="link_to" value="{original}"' in block
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 1

    linked = await stack.post("/desk/register", data={**form, "link_to": original})
    sequence, year = original.split("/")
    assert linked.status_code == 303, linked.text
    assert linked.headers["location"] == f"/cases/{year}/{sequence}?linked=1"
    page = await stack.get(linked.headers["location"])
    assert 'id="linked"' in page.text
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 1
    case = await eventually(lambda: _case_as(stack, original), lambda c: c["repeat_contacts"] == 1)
    assert case["status"] == "awaiting_report"

    # "No, register a new complaint": registered anew.
    anew = await stack.post(
        "/desk/register", data={**form, "idempotency_key": "desk-repeat-2", "new_case": "1"}
    )
    assert anew.status_code == 303 and "registered=" in anew.headers["location"]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 2


async def _case_as(stack: httpx.AsyncClient, number: str) -> dict[str, Any]:
    sequence, year = number.split("/")
    with Session(stack.app_engine) as session:  # type: ignore[attr-defined]
        row = session.exec(
            select(Complaint).where(
                Complaint.year == int(year), Complaint.sequence == int(sequence)
            )
        ).one()
        return {"repeat_contacts": row.repeat_contacts, "status": str(row.status)}
