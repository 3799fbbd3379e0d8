"""`/v1/reviews` at a meeting's scale, through the API (dev server; SQLite and PostgreSQL): the
agenda summary-first and paged worst first, filtered as a bulk decision selects; a bulk
directive by district, applied to each case as its own decision once under a retried
Idempotency-Key, its progress and refusals; the minutes with the bulk per case and as one
line; an urgent case on the agenda under its department's urgent desk, with its complaint."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from core.models import utcnow
from core.settings import Settings
from harness.factories import eventually
from schemas.calendar import SessionKind
from schemas.review import ReviewSessionInput, SessionBatches
from tests.lifecycle_helpers import CaseHandle, row_of, state_of, timeline
from tests.workflows.test_review_sessions import escalated
from workflows.review import ReviewSessionWorkflow, session_workflow_id


async def _get(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_agenda_summary_pages_bulk_directive_once_and_minutes(
    stack: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    cases: list[CaseHandle] = []
    agenda_cases: tuple[tuple[str, dict[str, Any]], ...] = (
        ("Ranchi", {}),
        ("Ranchi", {"category": "drinking_water"}),
        ("Ranchi", {}),
        ("Dhanbad", {}),
        ("Dhanbad", {"urgent": True, "category": "crime", "wishes_to_meet_cm": True}),
    )
    for i, (district, extra) in enumerate(agenda_cases):
        cases.append(
            await escalated(
                dev_env,
                engine,
                settings,
                citizen__district=district,
                citizen__phone=f"98766{i:05d}",
                **extra,
            )
        )
    regs = [row_of(engine, c).registration_number for c in cases]
    slot = (await state_of(cases[0])).review
    assert slot is not None
    sid = slot.session_id
    path = f"/v1/reviews/weekly_review/{slot.starts_at.date().isoformat()}"
    await dev_env.client.start_workflow(
        ReviewSessionWorkflow.run,
        ReviewSessionInput(
            kind=SessionKind.WEEKLY_REVIEW,
            session_id=sid,
            starts_at=slot.starts_at,
            cutoff_at=utcnow() - timedelta(minutes=1),
            sms_task_queue=settings.sms_task_queue,
            batches=SessionBatches(freeze=2, decisions=2, concurrency=2),
        ),
        id=session_workflow_id(settings.workflow_id_prefix, sid),
        task_queue=settings.temporal_task_queue,
    )
    agenda = await eventually(lambda: _get(stack, path, limit=2), lambda a: a["frozen"])

    # The summary first: district x department, counted in the database.
    summary = agenda["summary"]
    assert (summary["cases"], summary["undecided"], summary["urgent"]) == (5, 5, 1)
    assert summary["wishes_to_meet_cm"] == 1
    by = {(r["district"], r["department"]): r for r in summary["rows"]}
    assert by[("Ranchi", "drinking_water_sanitation")]["cases"] == 3
    assert by[("Dhanbad", "police")]["urgent"] == 1
    # Then a page of the cases; paging reaches every one, once.
    assert agenda["count"] == 5 and sum(len(d["cases"]) for d in agenda["districts"]) == 2
    seen = []
    for offset in (0, 2, 4):
        page = await _get(stack, path, limit=2, offset=offset)
        seen += [c["registration_number"] for d in page["districts"] for c in d["cases"]]
    assert sorted(seen) == sorted(regs)
    # Filters select as a bulk decision would; the urgent case under its urgent desk, with
    # the citizen's complaint and wish to meet the CM.
    dhanbad = await _get(stack, path, in_district="धनबाद", urgent="true")
    assert dhanbad["count"] == 1
    urgent = dhanbad["districts"][0]["cases"][0]
    assert urgent["registration_number"] == regs[4]
    assert urgent["nodal_officer_id"] == "urgent-desk-police"
    assert urgent["description"] and urgent["wishes_to_meet_cm"] is True
    assert (await stack.get(path, params={"in_district": "Atlantis"})).status_code == 422

    # One directive for Ranchi's three cases, sent twice with its key: applied once each.
    bulk = {
        "selection": {"districts": ["Ranchi"]},
        "decision": "directive",
        "text": "Executive engineer reports by Friday",
        "responsible_officer_id": "nodal-district-ranchi",
    }
    headers = {"Idempotency-Key": "bulk-ranchi-1"}
    first = await stack.post(f"{path}/bulk-decisions", json=bulk, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["total"] == 3 and first.json()["refused"] == 0
    again = await stack.post(f"{path}/bulk-decisions", json=bulk, headers=headers)
    assert again.status_code == 202 and again.json()["bulk_id"] == first.json()["bulk_id"]
    progress_path = first.json()["links"]["progress"]
    progress = await eventually(lambda: _get(stack, progress_path), lambda p: p["done"], within=60)
    assert (progress["applied"], progress["total"], progress["refused"]) == (3, 3, 0)
    for case in cases[:3]:
        assert timeline(engine, case).count("directive_given") == 1

    # Refused by the API before anything is written: an empty selection, an actor field.
    for body in (
        {**bulk, "selection": {}},
        {**bulk, "decided_by": "someone"},
        {**bulk, "decision": "close"},  # without the citizen informed
    ):
        response = await stack.post(f"{path}/bulk-decisions", json=body)
        assert response.status_code in (409, 422), response.text
    # Numbers: a decided one and an unknown one refused with reasons, the rest applied.
    named = await stack.post(
        f"{path}/bulk-decisions",
        json={**bulk, "selection": {"registration_numbers": [regs[0], regs[3], "77777/2001"]}},
    )
    assert named.status_code == 202, named.text
    assert named.json()["total"] == 1
    assert {(r["registration_number"], r["key"]) for r in named.json()["refusals"]} == {
        (regs[0], "already_decided"),
        ("77777/2001", "not_on_agenda"),
    }

    # The minutes: each case its own row naming the bulk; each bulk one line.
    minutes = await eventually(
        lambda: _get(stack, f"{path}/minutes"),
        lambda m: sum(e["outcome"] == "directive" for e in m["entries"]) == 4,
        within=60,
    )
    lines = {b["bulk_id"]: b for b in minutes["bulk_decisions"]}
    assert lines[first.json()["bulk_id"]]["applied"] == 3
    assert {e["registration_number"] for e in minutes["entries"] if e["bulk_id"]} == set(regs[:4])
    assert minutes["count"] == 5
    page = await _get(stack, f"{path}/minutes", limit=2, offset=4)
    assert len(page["entries"]) == 1 and page["count"] == 5
