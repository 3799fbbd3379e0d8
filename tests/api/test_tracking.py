"""Citizens: public tracking without leaks, its rate limits, and the per-phone daily
limit at intake (with a telecaller's override)."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.ratelimit import OVERRIDE_EVENT, PhoneLimitReached, Window, hit
from api.services.intake import register_complaint
from core.logging import configure_logging
from core.models import Complaint, RateCounter, utcnow
from core.settings import Settings
from harness.factories import auth_headers, complaint_body, eventually
from schemas.auth import Role
from schemas.calendar import IST
from schemas.complaint import ComplaintCreate
from schemas.enums import ComplaintStatus
from tests.helpers import api_client, running_worker

PHONE = "9876543210"
PUBLIC_FIELDS = {
    "registration_number",
    "kind",
    "status",
    "status_label",
    "registered_at",
    "updated_at",
    "next_deadline",
    "last_reply",
    # A closed case's next step: when it closed, until when it can be reopened.
    "closed_at",
    "reopen_until",
    "reopen_days",
}


def register(engine: Engine, *, now: datetime | None = None, **overrides: Any) -> Complaint:
    """A complaint registered through the real intake path (no workflow started)."""
    body = ComplaintCreate.model_validate(complaint_body(**overrides))
    row, _created = register_complaint(
        engine, body, idempotency_key=None, now=now or utcnow(), phone_daily_limit=0
    )
    return row


def track_url(row: Complaint) -> str:
    return f"/v1/track/{row.year}/{row.sequence}"


@asynccontextmanager
async def public_client(
    settings: Settings,
    engine: Engine,
    *,
    address: str = "203.0.113.7",
    client: Any = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, seen from `address`, with no token (Temporal: lazy, unused)."""
    app = create_app(settings, engine=engine, client=client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def lookup(http: httpx.AsyncClient, url: str, phone: str = PHONE) -> httpx.Response:
    return await http.get(url, headers={"X-Citizen-Phone": phone})


# ---- tracking -----------------------------------------------------------------------------


async def test_tracking_shows_the_public_fields_only_without_a_token(
    dev_env: WorkflowEnvironment, any_engine: Engine, settings: Settings
) -> None:
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with (
        running_worker(dev_env.client, any_engine, settings),
        api_client(app) as staff,
        api_client(app, authorized=False) as citizen,
    ):
        created = await staff.post("/v1/complaints", json=complaint_body())
        assert created.status_code == 201, created.text
        case = created.json()
        url = f"/v1/track/{case['year']}/{case['sequence']}"
        assert "Authorization" not in citizen.headers
        # Any spelling of the number the citizen gave.
        answer = await eventually(
            lambda: lookup(citizen, url, "+91 98765-43210"),
            lambda r: r.status_code == 200 and r.json()["status"] == "awaiting_report",
        )
        full = (await staff.get(case["links"]["self"])).json()

    body = answer.json()
    assert set(body) == PUBLIC_FIELDS
    assert body["registration_number"] == case["registration_number"]
    assert body["kind"] == "complaint"
    assert body["status_label"]["en"] == "With the department for action"
    assert body["status_label"]["hi"] == "कार्रवाई हेतु विभाग के पास"
    assert body["next_deadline"] == full["next_deadline"] is not None
    assert body["registered_at"].endswith("+05:30")
    text = answer.text
    citizen_data = complaint_body()["citizen"]
    for secret in (
        citizen_data["name"],
        citizen_data["address"],
        citizen_data["pincode"],
        PHONE,
        complaint_body()["description"],
        full["assigned_officer"]["name"],
        full["assigned_officer"]["id"],
        full["workflow_id"],
    ):
        assert secret not in text, secret


async def test_wrong_phone_and_unknown_number_give_the_same_404(
    engine: Engine, settings: Settings
) -> None:
    row = register(engine)
    async with public_client(settings, engine) as http:
        wrong_phone = await lookup(http, track_url(row), "9123456789")
        unknown = await lookup(http, f"/v1/track/{row.year}/{row.sequence + 1}")
        huge = await lookup(http, f"/v1/track/{row.year}/{2**40}")
        malformed = await lookup(http, track_url(row), "12345")
        right = await lookup(http, track_url(row), "09876543210")
        # The same number in Devanagari digits, as a Hindi keyboard sends it (UTF-8 bytes).
        devanagari = await http.get(
            track_url(row), headers={b"X-Citizen-Phone": "०९८७६५४३२१०".encode()}
        )
    assert devanagari.status_code == 200, devanagari.text
    assert wrong_phone.status_code == unknown.status_code == huge.status_code == 404
    assert wrong_phone.content == unknown.content == huge.content
    assert "registration number and phone number" in wrong_phone.json()["detail"]
    assert wrong_phone.json()["reason"] == "track_not_found"
    assert "पंजीकरण संख्या और फ़ोन नंबर" in wrong_phone.json()["detail_hi"]
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "X-Citizen-Phone"
    assert right.status_code == 200
    assert right.json()["status"] == "registered"


async def test_tracking_labels_and_dates_follow_the_case(
    engine: Engine, settings: Settings
) -> None:
    row = register(engine)
    review_day = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    with Session(engine) as session:
        stored = session.get(Complaint, row.id)
        assert stored is not None
        stored.status = ComplaintStatus.WEEKLY_REVIEW
        stored.review_date = review_day
        stored.next_deadline = review_day + timedelta(days=1)
        stored.last_reply = "Toilet built on 2 Dec"
        session.add(stored)
        session.commit()
    async with public_client(settings, engine) as http:
        review = (await lookup(http, track_url(row))).json()
        with Session(engine) as session:
            stored = session.get(Complaint, row.id)
            assert stored is not None
            stored.status = ComplaintStatus.CLOSED
            session.add(stored)
            session.commit()
        closed = (await lookup(http, track_url(row))).json()
    assert review["status_label"]["hi"] == "मुख्यमंत्री सचिव की साप्ताहिक समीक्षा में"
    assert review["next_deadline"] == "2026-12-01T11:00:00+05:30"  # the meeting, in IST
    # On a review's agenda (the citizen was not satisfied) the department's reply is still
    # the latest answer that came.
    assert review["last_reply"] == "Toilet built on 2 Dec"
    assert closed["status_label"]["en"] == "Closed"
    assert closed["next_deadline"] is None
    assert closed["last_reply"] == "Toilet built on 2 Dec"


def _limited(response: httpx.Response, field: str, window: int) -> None:
    assert response.status_code == 429, response.text
    assert 0 < int(response.headers["Retry-After"]) <= window
    assert response.json()["errors"][0]["field"] == field
    assert "try again" in response.json()["detail"]
    assert response.json()["reason"].startswith("track_")
    assert "बाद में प्रयास करें" in response.json()["detail_hi"]  # in the citizen's words too


async def test_failed_look_ups_of_one_number_are_limited_from_any_address(
    any_engine: Engine, settings: Settings
) -> None:
    limited = settings.model_copy(update={"track_failures_per_number": 3})
    row = register(any_engine)
    other = register(any_engine, citizen__phone="9123456789")
    for index in range(3):  # an attacker guessing phones from three addresses
        async with public_client(limited, any_engine, address=f"198.51.100.{index}") as http:
            assert (await lookup(http, track_url(row), f"900000000{index}")).status_code == 404
    async with public_client(limited, any_engine, address="192.0.2.1") as http:
        blocked = await lookup(http, track_url(row))  # even with the right phone
        other_number = await lookup(http, track_url(other), "9123456789")
    _limited(blocked, "registration_number", limited.track_window_seconds)
    assert other_number.status_code == 200


async def test_failed_look_ups_from_one_address_are_limited(
    engine: Engine, settings: Settings
) -> None:
    limited = settings.model_copy(update={"track_failures_per_client": 3})
    row = register(engine)
    async with public_client(limited, engine, address="198.51.100.9") as http:
        for sequence in range(row.sequence + 1, row.sequence + 4):  # walking the numbers
            assert (await lookup(http, f"/v1/track/{row.year}/{sequence}")).status_code == 404
        blocked = await lookup(http, track_url(row))
    async with public_client(limited, engine, address="192.0.2.1") as http:
        elsewhere = await lookup(http, track_url(row))
    _limited(blocked, "client", limited.track_window_seconds)
    assert elsewhere.status_code == 200


async def test_look_ups_from_one_address_are_limited_and_counted_across_replicas(
    engine: Engine, settings: Settings
) -> None:
    limited = settings.model_copy(update={"track_requests_per_client": 3})
    row = register(engine)
    # Two API replicas sharing the database: the count is the sum of both.
    async with (
        public_client(limited, engine) as replica_a,
        public_client(limited, engine) as replica_b,
    ):
        answers = [await lookup(http, track_url(row)) for http in (replica_a, replica_b, replica_a)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        _limited(await lookup(replica_b, track_url(row)), "client", limited.track_window_seconds)


def test_fixed_windows_count_apart_and_old_windows_are_deleted(engine: Engine) -> None:
    window = Window(60)
    t0 = datetime(2026, 11, 28, 10, 0, 30, tzinfo=UTC)
    assert window.start(t0) == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert window.retry_after(t0) == 30
    assert [hit(engine, "k", window, now=t0) for _ in range(3)] == [1, 2, 3]
    assert hit(engine, "other", window, now=t0) == 1
    assert hit(engine, "k", window, now=t0 + timedelta(seconds=30)) == 1  # the next window
    # A window opening two days later clears the rows of windows long gone.
    assert hit(engine, "k", window, now=t0 + timedelta(days=2)) == 1
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(RateCounter)).one() == 1


def test_phone_query_parameters_are_redacted_in_logs(settings: Settings) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure_logging(settings)
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        # uvicorn's access-log line, as it logs it.
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "203.0.113.7:40000",
            "GET",
            "/v1/track/2026/1?phone=9876543210&lang=hi",
            "1.1",
            200,
        )
        logging.getLogger("test").info("lookup citizen_phone=+919876543210 done")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    logged = stream.getvalue()
    assert "9876543210" not in logged
    assert "/v1/track/2026/1?phone=[redacted]&lang=hi" in logged
    assert "citizen_phone=[redacted] done" in logged


# ---- per-phone daily limit ----------------------------------------------------------------


def test_a_phone_files_at_most_the_limit_per_ist_day(engine: Engine) -> None:
    body = ComplaintCreate.model_validate(complaint_body())
    late_evening = datetime(2026, 11, 28, 23, 30, tzinfo=IST)

    def file(now: datetime, model: ComplaintCreate = body) -> Complaint:
        row, created = register_complaint(
            engine, model, idempotency_key=None, now=now, phone_daily_limit=5
        )
        assert created
        return row

    for minute in range(5):
        file(late_evening + timedelta(minutes=minute))
    with pytest.raises(PhoneLimitReached) as refused:
        file(late_evening + timedelta(minutes=10))
    assert refused.value.retry_after == 20 * 60  # until midnight IST
    # Another phone is not affected; the next IST day (still 28 Nov in UTC) starts afresh.
    file(late_evening, ComplaintCreate.model_validate(complaint_body(citizen__phone="9123456789")))
    next_day = file(late_evening + timedelta(minutes=31))
    assert next_day.sequence == 7  # the refusal used no number


async def test_the_sixth_complaint_of_the_day_is_refused_unless_a_replay_or_a_telecaller_says_why(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    telecaller = auth_headers(engine, Role.TELECALLER)
    integration = auth_headers(engine, Role.INTEGRATION)
    reviewer = auth_headers(engine, Role.REVIEWER)
    reason = "Flood in the village: separate complaints for each family"
    async with public_client(settings, engine, client=dev_env.client) as http:
        for index in range(5):
            accepted = await http.post(
                "/v1/complaints",
                json=complaint_body(description=f"complaint {index}"),
                headers={**integration, "Idempotency-Key": f"portal-{index}"},
            )
            assert accepted.status_code == 201, accepted.text
        sixth = await http.post(
            "/v1/complaints", json=complaint_body(description="sixth"), headers=integration
        )
        replay = await http.post(
            "/v1/complaints",
            json=complaint_body(description="complaint 0"),
            headers={**integration, "Idempotency-Key": "portal-0"},
        )
        not_a_telecaller = await http.post(
            "/v1/complaints",
            json=complaint_body(description="sixth", limit_override_reason=reason),
            headers=integration,
        )
        too_short = await http.post(
            "/v1/complaints",
            json=complaint_body(description="sixth", limit_override_reason="ok"),
            headers=telecaller,
        )
        overridden = await http.post(
            "/v1/complaints",
            json=complaint_body(description="sixth", limit_override_reason=reason),
            headers=telecaller,
        )
        assert overridden.status_code == 201, overridden.text
        case = await http.get(overridden.json()["links"]["self"], headers=reviewer)

    assert sixth.status_code == 429
    assert 0 < int(sixth.headers["Retry-After"]) <= 24 * 3600
    assert sixth.json()["errors"][0]["field"] == "citizen.phone"
    assert "already filed 5 complaints today" in sixth.json()["detail"]
    assert sixth.json()["reason"] == "daily_limit"
    assert "आज 5 शिकायतें दर्ज हो चुकी हैं" in sixth.json()["detail_hi"]
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert not_a_telecaller.status_code == 403
    assert not_a_telecaller.json()["errors"][0]["field"] == "limit_override_reason"
    assert too_short.status_code == 422
    assert too_short.json()["errors"][0]["field"] == "limit_override_reason"
    events = [e for e in case.json()["timeline"] if e["event"] == OVERRIDE_EVENT]
    assert len(events) == 1
    assert events[0]["actor"].endswith("-telecaller")
    assert reason in events[0]["note"] and "complaint 6 today" in events[0]["note"]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 6


def test_concurrent_registrations_cannot_exceed_the_limit(any_engine: Engine) -> None:
    body = ComplaintCreate.model_validate(complaint_body())
    now = utcnow()

    def attempt(_: int) -> str:
        try:
            register_complaint(any_engine, body, idempotency_key=None, now=now, phone_daily_limit=3)
        except PhoneLimitReached:
            return "refused"
        return "accepted"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert sorted(outcomes) == ["accepted"] * 3 + ["refused"] * 5
    with Session(any_engine) as session:
        sequences = session.exec(select(Complaint.sequence).order_by(col(Complaint.sequence)))
        assert list(sequences) == [1, 2, 3]  # refusals rolled the counter back: no gaps
