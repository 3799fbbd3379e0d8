"""/v1/reviews end to end (API, real worker, dev server, SQLite and PostgreSQL), and the review
Schedules created once across two worker starts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import ScheduleRange
from temporalio.testing import WorkflowEnvironment

from core.holidays import configured_policy
from core.models import ReviewSession, utcnow
from core.settings import Settings
from harness.factories import complaint_body, eventually
from schemas.calendar import IST, SessionKind, is_last_tuesday, next_working_day
from schemas.review import ReviewSessionInput
from tests.helpers import running_worker
from workers.main import ensure_schedules
from workers.review_schedules import review_schedule_id
from workflows.review import ReviewSessionWorkflow, session_workflow_id


async def _get(http: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await http.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def escalate(http: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """Register a complaint; report; the citizen is not satisfied: on the next weekly review."""
    created = (await http.post("/v1/complaints", json=complaint_body())).json()
    reg = created["registration_number"]
    sequence, year = reg.split("/")
    base = f"/v1/complaints/{year}/{sequence}"
    await eventually(lambda: _get(http, base), lambda c: c["status"] == "awaiting_report")
    report = {"outcome": "resolved", "reply": "Toilet sanctioned"}
    assert (await http.post(f"{base}/report", json=report)).status_code == 200
    callback = {"outcome": "not_satisfied", "remark": "still no toilet"}
    result = (await http.post(f"{base}/callback", json=callback)).json()
    assert result["status"] == "weekly_review", result
    return reg, result["review"]


async def test_reviewer_lists_reads_decides_closes_and_downloads_minutes(
    stack: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    reg, slot = await escalate(stack)
    other, _ = await escalate(stack)
    sid = slot["session_id"]
    day = datetime.fromisoformat(slot["starts_at"]).astimezone(IST).date().isoformat()
    path = f"/v1/reviews/weekly_review/{day}"

    # Before the session is open: listed from the cases sent to it; provisional agenda.
    listing = await _get(stack, "/v1/reviews?when=upcoming")
    entry = next(s for s in listing["data"] if s["session_id"] == sid)
    assert entry["phase"] == "scheduled" and entry["agenda_count"] == 2
    assert entry["links"]["self"] == path
    agenda = await _get(stack, path)
    assert agenda["frozen"] is False
    assert [c["registration_number"] for c in agenda["districts"][0]["cases"]] == [reg, other]
    decision: dict[str, Any] = {
        "registration_number": reg,
        "decision": "directive",
        "text": "Build the toilet within ten days",
    }
    response = await stack.post(f"{path}/decisions", json=decision)
    assert response.status_code == 404 and "not open yet" in response.json()["detail"]

    # The session opens with its cutoff passed (as the planner would have opened it).
    await dev_env.client.start_workflow(
        ReviewSessionWorkflow.run,
        ReviewSessionInput(
            kind=SessionKind.WEEKLY_REVIEW,
            session_id=sid,
            starts_at=datetime.fromisoformat(slot["starts_at"]),
            cutoff_at=utcnow() - timedelta(minutes=1),
        ),
        id=session_workflow_id(settings.workflow_id_prefix, sid),
        task_queue=settings.temporal_task_queue,
    )
    agenda = await eventually(lambda: _get(stack, path), lambda a: a["frozen"] is True)
    district = agenda["districts"][0]
    assert district["district"] == "Ranchi"
    assert district["nodal_officer_id"] == "nodal-district-ranchi"
    case = district["cases"][0]
    assert case["registration_number"] == reg
    assert case["subject"] and case["age_days"] >= 0
    assert case["last_reply"] == "Toilet sanctioned" and case["citizen_remark"] == "still no toilet"
    assert "escalated_to_weekly_review" in [h["event"] for h in case["escalation_history"]]

    # Refused: a case not on the agenda (4xx), an unknown officer.
    response = await stack.post(
        f"{path}/decisions", json={**decision, "registration_number": "999999/2026"}
    )
    assert response.status_code == 409 and "not on the agenda" in response.json()["detail"]
    response = await stack.post(
        f"{path}/decisions", json={**decision, "responsible_officer_id": "nobody"}
    )
    assert response.status_code == 422

    deadline = (datetime.now(IST) + timedelta(days=10)).replace(microsecond=0)
    response = await stack.post(
        f"{path}/decisions", json={**decision, "new_deadline": deadline.isoformat()}
    )
    assert response.status_code == 200, response.text
    assert response.json()["case_status"] == "awaiting_report"
    sequence, year = reg.split("/")
    complaint = await _get(stack, f"/v1/complaints/{year}/{sequence}")
    assert datetime.fromisoformat(complaint["next_deadline"]) == deadline
    assert complaint["status"] == "awaiting_report"

    minutes = await _get(stack, f"{path}/minutes")
    assert minutes["final"] is False
    assert [(e["registration_number"], e["outcome"]) for e in minutes["entries"]] == [
        (reg, "directive"),
        (other, "pending"),
    ]
    # The subject's code beside its English label, for pages that name it in Hindi.
    assert {e["category"] for e in minutes["entries"]} == {"sanitation"}

    response = await stack.post(f"{path}/close", json={})
    assert response.status_code == 200, response.text
    closed = response.json()
    # Answered at once, closing: its rollovers go in batches, then the session reads closed.
    assert closed["phase"] in ("closing", "closed")
    info = await eventually(
        lambda: _get(stack, path), lambda a: a["session"]["phase"] == "closed", within=30
    )
    assert info["session"]["rolled_over_count"] == 1
    for retry in (
        stack.post(f"{path}/close", json={}),
        stack.post(f"{path}/decisions", json={**decision, "registration_number": other}),
    ):
        response = await retry
        assert response.status_code == 409 and "closed" in response.json()["detail"]

    minutes = await _get(stack, f"{path}/minutes")
    assert minutes["final"] is True
    assert minutes["entries"][1]["outcome"] == "rolled_over"
    response = await stack.get(f"{path}/minutes", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["registration_number"], r["outcome"]) for r in rows] == [
        (reg, "directive"),
        (other, "rolled_over"),
    ]
    assert rows[0]["decision_text"] == decision["text"]
    assert datetime.fromisoformat(rows[0]["new_deadline"]) == deadline

    past = await _get(stack, "/v1/reviews?when=past")
    entry = next(s for s in past["data"] if s["session_id"] == sid)
    assert (entry["agenda_count"], entry["decided_count"], entry["rolled_over_count"]) == (2, 1, 1)
    # Paged: every session is reachable, `count` stays the whole list.
    every = await _get(stack, "/v1/reviews?when=all&limit=200")
    last = await _get(stack, f"/v1/reviews?when=all&limit=1&offset={every['count'] - 1}")
    assert last["count"] == every["count"] >= 1 and last["data"] == every["data"][-1:]
    # The rolled-over case says so in its timeline (the session's cutoff was moved forward in
    # this test, so it lands on the same Tuesday again; the calendar tests cover the dates).
    sequence, year = other.split("/")
    case = await _get(stack, f"/v1/complaints/{year}/{sequence}")
    assert "review_rolled_over" in [e["event"] for e in case["timeline"]]


async def test_sessions_exist_only_on_their_days(stack: httpx.AsyncClient) -> None:
    assert (await stack.get("/v1/reviews/weekly_review/2026-12-02")).status_code == 404
    assert (await stack.get("/v1/reviews/sidhi_baat/2026-12-22")).status_code == 404
    assert (await stack.get("/v1/reviews/monthly/2026-12-29")).status_code == 404
    agenda = await _get(stack, "/v1/reviews/sidhi-baat/2026-12-29")
    assert agenda["frozen"] is False and agenda["districts"] == []
    assert agenda["session"]["session_id"] == "sidhi-baat-2026-12-29"
    # January 2027's last Tuesday is Republic Day: the session is on the working day after.
    assert (await stack.get("/v1/reviews/sidhi_baat/2027-01-26")).status_code == 404
    moved = await _get(stack, "/v1/reviews/sidhi_baat/2027-01-27")
    assert moved["session"]["session_id"] == "sidhi-baat-2027-01-27"
    assert moved["session"]["starts_at"] == "2027-01-27T11:00:00+05:30"
    assert (await stack.get("/v1/reviews/weekly_review/2027-01-26")).status_code == 404
    assert (await stack.get("/v1/reviews/weekly_review/2027-01-27")).status_code == 200


# The forums of the default ladder (`jharkhand`): one schedule each.
SEED_FORUMS = (SessionKind.WEEKLY_REVIEW, SessionKind.SIDHI_BAAT)


async def test_review_schedules_are_created_once_across_two_worker_starts(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    client = dev_env.client
    async with running_worker(client, engine, settings):
        await ensure_schedules(client, settings)
        await ensure_schedules(client, settings)  # a restart, or a second worker

        wanted = {review_schedule_id(settings, kind) for kind in SEED_FORUMS}

        async def listed() -> list[str]:
            return [s.id async for s in await client.list_schedules() if s.id in wanted]

        found = await eventually(listed, lambda ids: set(ids) == wanted)
        assert sorted(found) == sorted(wanted)  # each exactly once
        for kind in SEED_FORUMS:
            described = await client.get_schedule_handle(
                review_schedule_id(settings, kind)
            ).describe()
            spec = described.schedule.spec
            assert spec.time_zone_name == "Asia/Kolkata"
            (calendar,) = spec.calendars
            assert list(calendar.day_of_week) == [ScheduleRange(2, 2)]  # Tuesday
            assert list(calendar.hour) == [ScheduleRange(11, 11)]

        # The planners ran (triggered at start-up): the next sessions of each kind are open,
        # each once, Sidhi Baat only on last Tuesdays (or the working day after, when the last
        # Tuesday is a holiday: 26 January 2027, Republic Day, moves to the 27th).
        def sessions() -> list[ReviewSession]:
            with Session(engine) as db:
                return list(db.exec(select(ReviewSession)).all())

        async def asessions() -> list[ReviewSession]:
            return sessions()

        rows = await eventually(asessions, lambda rs: len(rs) == 4)
        working = configured_policy(settings, datetime.now(UTC)).working_calendar()
        kinds = sorted(r.kind for r in rows)
        assert kinds == ["sidhi_baat", "sidhi_baat", "weekly_review", "weekly_review"]
        for row in rows:
            if row.kind == "sidhi_baat":
                day = row.starts_at.astimezone(IST).date()
                last_tuesday = day - timedelta(days=(day.weekday() - 1) % 7)
                assert is_last_tuesday(last_tuesday)
                assert day == next_working_day(last_tuesday, working)
        for kind in SEED_FORUMS:
            await client.get_schedule_handle(review_schedule_id(settings, kind)).delete()
        for row in rows:
            await client.get_workflow_handle(row.workflow_id).terminate("test finished")


def test_a_district_sessions_links_are_urls_a_client_can_follow() -> None:
    from api.services.reviews import _links

    links = _links(SessionKind.DC_REVIEW, date(2026, 12, 4), "East Singhbhum")
    assert links["self"] == "/v1/reviews/dc_review/2026-12-04?district=East%20Singhbhum"
    assert all(" " not in link for link in links.values())
