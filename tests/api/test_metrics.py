"""`GET /metrics`: API traffic by route template, and case figures from the read model
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.models import Complaint, Message, utcnow
from core.settings import Settings
from harness.factories import complaint_body, eventually
from schemas.enums import MessageStatus
from tests.helpers import api_client

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Prometheus text → {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def labels(**values: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def register(http: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await http.post("/v1/complaints", json=complaint_body(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    link = created["links"]["self"]

    async def get() -> dict[str, Any]:
        answer: dict[str, Any] = (await http.get(link)).json()
        return answer

    return await eventually(get, lambda case: case["status"] == "awaiting_report")


async def test_case_figures_come_from_the_read_model(stack: httpx.AsyncClient) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    ranchi = await register(stack)
    await register(stack)
    dhanbad = await register(stack, citizen__district="Dhanbad", citizen__pincode="826001")

    # One case past its deadline (as if its timer were late) and one SMS that failed.
    with Session(engine) as session:
        row = session.exec(
            select(Complaint).where(Complaint.registration_number == dhanbad["registration_number"])
        ).one()
        row.next_deadline = utcnow() - timedelta(hours=1)
        session.add(row)
        message = session.exec(
            select(Message).where(Message.template == "acknowledgement").limit(1)
        ).one()
        message.status = MessageStatus.FAILED
        session.add(message)
        session.commit()

    samples = await scrape(stack)
    awaiting = {"status": "awaiting_report", "escalation_level": "0"}
    assert samples[("jansamvad_open_cases", labels(district="Ranchi", **awaiting))] == 2
    assert samples[("jansamvad_open_cases", labels(district="Dhanbad", **awaiting))] == 1
    assert samples[("jansamvad_overdue_cases", labels(district="Dhanbad"))] == 1
    assert ("jansamvad_overdue_cases", labels(district="Ranchi")) not in samples
    assert (
        samples[("jansamvad_sms_messages", labels(status="failed", recipient_kind="citizen"))] == 1
    )
    citizen_outbox = labels(status="outbox", recipient_kind="citizen")
    assert samples[("jansamvad_sms_messages", citizen_outbox)] >= 2
    assert samples[("jansamvad_review_agenda_cases", labels(review="weekly_review"))] == 0
    assert samples[("jansamvad_review_agenda_cases", labels(review="sidhi_baat"))] == 0
    assert samples[("jansamvad_workflow_not_started_cases", ())] == 0
    assert ranchi["registration_number"] != dhanbad["registration_number"]


async def test_requests_are_counted_by_route_template_not_by_case(
    stack: httpx.AsyncClient,
) -> None:
    case = await register(stack)
    before = await scrape(stack)
    template = "/v1/complaints/{year}/{sequence}"
    key = ("jansamvad_http_requests_total", labels(method="GET", route=template, status="200"))
    for _ in range(3):
        assert (await stack.get(case["links"]["self"])).status_code == 200
    assert (await stack.get("/v1/complaints/2020/999999")).status_code == 404
    assert (await stack.get("/no/such/page")).status_code == 404

    after = await scrape(stack)
    assert after[key] - before.get(key, 0) == 3
    missing = ("jansamvad_http_requests_total", labels(method="GET", route=template, status="404"))
    assert after[missing] == 1
    unmatched = labels(method="GET", route="unmatched", status="404")
    assert after[("jansamvad_http_requests_total", unmatched)] == 1
    # Latency histogram per route; never a label holding a registration number.
    count = ("jansamvad_http_request_duration_seconds_count", labels(method="GET", route=template))
    assert after[count] - before.get(count, 0) == 4
    assert not any(case["registration_number"] in str(k) for k in after)


async def test_metrics_can_be_switched_off(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    off = settings.model_copy(update={"metrics_enabled": False})
    app = create_app(off, engine=engine, client=dev_env.client)
    async with api_client(app) as http:
        assert (await http.get("/metrics")).status_code == 404
