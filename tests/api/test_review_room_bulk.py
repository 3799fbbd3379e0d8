"""The review room at a meeting's scale (pages over the API, dev server): the agenda's summary
by district x department first, filters, a page of cases worst first with each complaint, and
one decision for the cases the filters select, applied to each, its progress shown."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.models import utcnow
from core.settings import Settings
from harness.factories import auth_headers, eventually
from schemas.auth import Role
from schemas.calendar import SessionKind
from schemas.review import ReviewSessionInput, SessionBatches
from tests.api.test_pages import csrf, sign_in, token_of
from tests.helpers import api_client, running_worker
from tests.lifecycle_helpers import row_of, state_of, timeline
from tests.workflows.test_review_sessions import escalated
from workflows.review import ReviewSessionWorkflow, session_workflow_id


@pytest.fixture
async def room(
    engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, engine=engine, client=dev_env.client)
    async with running_worker(dev_env.client, engine, settings):
        async with api_client(app, authorized=False) as http:
            http.headers["accept-language"] = "en"
            yield http


async def test_the_room_summarises_filters_and_decides_in_bulk(
    room: httpx.AsyncClient, engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    cases = [
        await escalated(
            dev_env, engine, settings, citizen__district=d, citizen__phone=f"98767{i:05d}"
        )
        for i, d in enumerate(("Ranchi", "Ranchi", "Ranchi", "Dhanbad"))
    ]
    regs = [row_of(engine, c).registration_number for c in cases]
    slot = (await state_of(cases[0])).review
    assert slot is not None
    await dev_env.client.start_workflow(
        ReviewSessionWorkflow.run,
        ReviewSessionInput(
            kind=SessionKind.WEEKLY_REVIEW,
            session_id=slot.session_id,
            starts_at=slot.starts_at,
            cutoff_at=utcnow() - timedelta(minutes=1),
            sms_task_queue=settings.sms_task_queue,
            batches=SessionBatches(decisions=2),
        ),
        id=session_workflow_id(settings.workflow_id_prefix, slot.session_id),
        task_queue=settings.temporal_task_queue,
    )
    await sign_in(room, token_of(auth_headers(engine, Role.REVIEWER)))
    url = f"/review-room/weekly_review/{slot.starts_at.date().isoformat()}"

    async def frozen() -> httpx.Response:
        return await room.get(url)

    page = await eventually(frozen, lambda p: "Provisional agenda" not in p.text, within=30)
    summary = page.text[page.text.index('id="agenda-summary"') :]
    assert "Ranchi" in summary and "Dhanbad" in summary
    assert "Cases 1–4 of 4, worst first." in page.text
    assert "गाँव में कुछ लोगों को शौचालय मिला" in page.text  # the citizen's complaint

    ranchi = await room.get(url, params={"in_district": "Ranchi"})
    assert "Cases 1–3 of 4" not in ranchi.text and "Cases 1–3 of 3" in ranchi.text
    answer = await room.post(
        f"{url}/bulk-decisions",
        data={
            "csrf_token": csrf(ranchi),
            "idempotency_key": "bulk-room-1",
            "scope": "selected",
            "in_district": "Ranchi",
            "decision": "directive",
            "text": "Executive engineer reports by Friday",
        },
    )
    assert answer.status_code == 303, answer.text
    progress = answer.headers["location"]
    assert re.search(r"\?bulk=", progress)
    shown = await eventually(
        lambda: room.get(progress),
        lambda p: "Bulk decision: 3 of 3 cases applied." in p.text,
        within=60,
    )
    assert "Still being applied" not in shown.text
    for case in cases[:3]:
        assert timeline(engine, case).count("directive_given") == 1
    assert "directive_given" not in timeline(engine, cases[3])
    assert regs[3] in shown.text
    # Refused beside its field, nothing recorded: a bulk without its text.
    refused = await room.post(
        f"{url}/bulk-decisions",
        data={"csrf_token": csrf(shown), "scope": "page", "page_number": regs[3], "text": ""},
    )
    assert refused.status_code == 422 and "field-error" in refused.text
    assert "directive_given" not in timeline(engine, cases[3])
