"""The audit trail: every state-changing request is recorded (who, roles, when, from
where, which route and complaint, a summary without personal data, the outcome), refused ones
included; administrators and reviewers read it per complaint and per user; nobody changes it,
neither through the API (no such route) nor in the database (triggers)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from sqlalchemy.engine import Engine

from api.main import create_app
from api.middleware import READ_ONLY_ROUTES
from core.audit import append, entries
from core.models import AuditEntry, utcnow
from core.settings import Settings
from harness.factories import complaint_body, eventually, insert_case, named_headers, routes_of
from schemas.auth import Role

CASE = "/v1/complaints/{year}/{sequence}"
# Replaces the test client's default token with none.
ANONYMOUS = {"Authorization": ""}


async def test_every_action_on_a_case_is_recorded_without_personal_data(
    stack: httpx.AsyncClient,
) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    suffix = uuid.uuid4().hex[:6]
    telecaller = named_headers(engine, f"tc-{suffix}", Role.TELECALLER)
    nodal = named_headers(engine, f"nodal-ranchi-{suffix}", Role.NODAL_OFFICER, district="Ranchi")
    dhanbad = named_headers(
        engine, f"nodal-dhanbad-{suffix}", Role.NODAL_OFFICER, district="Dhanbad"
    )
    portal = named_headers(engine, f"portal-{suffix}", Role.INTEGRATION)
    reviewer = named_headers(engine, f"reviewer-{suffix}", Role.REVIEWER)
    admin = named_headers(engine, f"admin-{suffix}", Role.ADMINISTRATOR)

    body = complaint_body()
    key = {"Idempotency-Key": f"audit-{suffix}"}
    created = await stack.post("/v1/complaints", json=body, headers={**telecaller, **key})
    assert created.status_code == 201, created.text
    replayed = await stack.post("/v1/complaints", json=body, headers={**telecaller, **key})
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    number = created.json()["registration_number"]
    path = created.json()["links"]["self"]

    async def case() -> dict[str, Any]:
        result: dict[str, Any] = (await stack.get(path, headers=nodal)).json()
        return result

    await eventually(case, lambda c: c["status"] == "awaiting_report")
    report = {"outcome": "resolved", "reply": "Handpump repaired on 12 Nov"}
    assert (await stack.post(f"{path}/report", json=report, headers=ANONYMOUS)).status_code == 401
    assert (await stack.post(f"{path}/report", json=report, headers=portal)).status_code == 403
    assert (await stack.post(f"{path}/report", json=report, headers=dhanbad)).status_code == 404
    assert (await stack.post(f"{path}/report", json=report, headers=nodal)).status_code == 200
    called = await stack.post(
        f"{path}/callback", json={"outcome": "satisfied", "remark": "ok"}, headers=telecaller
    )
    assert called.status_code == 200, called.text

    trail = await stack.get(f"{path}/audit", headers=reviewer)
    assert trail.status_code == 200, trail.text
    entries = trail.json()["data"]
    assert [(e["route"], e["subject"], e["status_code"], e["outcome"]) for e in entries] == [
        (f"{CASE}/callback", f"tc-{suffix}", 200, "succeeded"),
        (f"{CASE}/report", f"nodal-ranchi-{suffix}", 200, "succeeded"),
        (f"{CASE}/report", f"nodal-dhanbad-{suffix}", 404, "refused"),
        (f"{CASE}/report", f"portal-{suffix}", 403, "refused"),
        (f"{CASE}/report", None, 401, "unauthenticated"),
        ("/v1/complaints", f"tc-{suffix}", 201, "replayed"),
        ("/v1/complaints", f"tc-{suffix}", 201, "succeeded"),
    ]
    assert all(e["registration_number"] == number for e in entries)
    assert all(e["method"] == "POST" and e["client_address"] for e in entries)
    callback, accepted_report = entries[0], entries[1]
    assert callback["summary"] == "record_callback; outcome=satisfied"
    assert callback["roles"] == ["telecaller"] and callback["token_id"]
    assert accepted_report["summary"] == "submit_report; outcome=resolved"
    assert entries[-1]["summary"].startswith("register; kind=complaint; channel=")
    assert "district=Ranchi" in entries[-1]["summary"]
    # The trail is read by more people than the case: no citizen's data, no free text.
    text = trail.text
    for secret in (body["citizen"]["name"], body["citizen"]["phone"], "Handpump repaired"):
        assert secret not in text

    # Per user, and paged (newest first).
    mine = await stack.get("/v1/audit", params={"subject": f"tc-{suffix}"}, headers=admin)
    assert [e["route"] for e in mine.json()["data"]] == [
        f"{CASE}/callback",
        "/v1/complaints",
        "/v1/complaints",
    ]
    first = (
        await stack.get("/v1/audit", params={"subject": f"tc-{suffix}", "limit": 2}, headers=admin)
    ).json()
    # `count` is the whole trail the filters select, not the page's length.
    assert len(first["data"]) == 2 and first["count"] == 3
    assert first["next_before_id"] is not None
    rest = (
        await stack.get(
            "/v1/audit",
            params={"subject": f"tc-{suffix}", "limit": 2, "before_id": first["next_before_id"]},
            headers=admin,
        )
    ).json()
    assert [e["id"] for e in first["data"] + rest["data"]] == [e["id"] for e in mine.json()["data"]]
    assert rest["count"] == 3 and rest["next_before_id"] is None
    refused = await stack.get("/v1/audit", params={"outcome": "refused"}, headers=admin)
    assert {e["subject"] for e in refused.json()["data"]} >= {
        f"portal-{suffix}",
        f"nodal-dhanbad-{suffix}",
    }
    # Reading the trail is not itself a change: nothing was added by these GETs.
    again = await stack.get(f"{path}/audit", headers=reviewer)
    assert [e["id"] for e in again.json()["data"]] == [e["id"] for e in entries]
    # Nobody else reads it.
    assert (await stack.get(f"{path}/audit", headers=telecaller)).status_code == 403
    assert (await stack.get("/v1/audit", headers=nodal)).status_code == 403


async def test_the_database_refuses_to_change_or_delete_an_entry(any_engine: Engine) -> None:
    append(
        any_engine,
        AuditEntry(
            at=utcnow(), method="POST", route="/v1/complaints", status_code=201, outcome="succeeded"
        ),
    )
    for statement in (
        "UPDATE audit_entry SET outcome = 'failed'",
        "DELETE FROM audit_entry",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), any_engine.begin() as conn:
            conn.execute(sa.text(statement))
    with any_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT outcome FROM audit_entry")).scalars().all() == [
            "succeeded"
        ]


def test_no_route_writes_the_audit_trail(settings: Settings) -> None:
    app = create_app(settings)
    for route in iter_route_contexts(app.routes):
        if route.path and "audit" in route.path:
            assert set(route.methods or ()) <= {"GET", "HEAD"}, route.path


async def test_a_change_that_cannot_be_recorded_is_not_reported_as_done(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    """The trail's table gone (a broken database): the client hears 500 and retries, rather
    than a 201 that left no trace."""
    with any_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE audit_entry"))
    answer = await http.post(
        "/v1/complaints",
        json=complaint_body(),
        headers=named_headers(any_engine, "tc-broken", Role.TELECALLER),
    )
    assert answer.status_code == 500
    assert "audit trail" in answer.json()["detail"]


async def test_every_state_changing_route_leaves_an_entry(
    http: httpx.AsyncClient, any_engine: Engine, settings: Settings
) -> None:
    """Whatever the answer (most of these are refused or rejected: an empty body, a case
    whose workflow never started), each POST/DELETE of the app is recorded, with its route
    template and complaint; only the codec's decode/encode, which read, are not."""
    case = insert_case(any_engine, district="Ranchi")
    values = {"year": case.year, "sequence": case.sequence, "kind": "weekly_review"}
    values |= {"day": "2026-12-01", "namespace": "default", "fmt": "json", "unknown": "x"}
    values |= {"attachment_id": "x"}
    subject = f"all-{uuid.uuid4().hex[:6]}"
    headers = named_headers(any_engine, subject, *Role)
    writes = sorted(
        (method, template)
        for method, template in routes_of(create_app(settings))
        if method not in ("GET", "HEAD", "OPTIONS")
    )
    assert len(writes) >= 15
    for method, template in writes:
        url = template.replace(":path}", "}").format(**values)  # a catch-all's converter
        await http.request(method, url, json={}, headers=headers)
    recorded = {(e.method, e.route): e for e in entries(any_engine, limit=500)}
    reading = {w for w in writes if w[1] in READ_ONLY_ROUTES}
    assert len(reading) == 4
    assert set(recorded) == set(writes) - reading
    for (method, template), entry in recorded.items():
        # Twilio's webhooks and signing out of the codec take no token: no subject. Nor do
        # the pages without a session cookie (tests/api/test_pages.py: with one, its user).
        tokenless = (
            template.startswith("/v1/twilio/")
            or (template.startswith("/v1/voice/") and "/checks" not in template)  # IVR webhooks
            or method == "DELETE"
            or not template.startswith(("/v1/", "/metrics"))
        )
        assert (entry.subject is None) if tokenless else entry.subject == subject
        if template.startswith(CASE):
            assert (entry.complaint_year, entry.complaint_sequence) == (case.year, case.sequence)
