"""Optional OpenTelemetry tracing: off by default; on, one trace runs from the HTTP request
through the workflow start into the workflow and its activities."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core import tracing
from core.settings import Settings
from core.temporal import connect
from harness.factories import complaint_body, eventually
from tests.helpers import api_client, running_worker


def test_tracing_is_off_by_default(settings: Settings) -> None:
    assert settings.otel_enabled is False
    assert tracing.configure_tracing(settings, service="api") is None
    assert tracing.temporal_interceptors(settings) == []


async def test_one_trace_from_http_request_to_activities(
    dev_env: WorkflowEnvironment,
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracing, "_provider", None)
    on = settings.model_copy(
        update={
            "otel_enabled": True,
            "temporal_address": dev_env.client.service_client.config.target_host,
        }
    )
    spans = InMemorySpanExporter()
    provider = tracing.configure_tracing(on, service="api", exporter=spans)
    assert provider is not None
    client = await connect(on)  # the interceptor comes from the settings
    app = create_app(on, engine=engine, client=client)
    async with running_worker(client, engine, on), api_client(app) as http:
        response = await http.post("/v1/complaints", json=complaint_body())
        assert response.status_code == 201, response.text
        link = response.json()["links"]["self"]

        async def sms_sent() -> bool:
            provider.force_flush()
            return any(s.name == "RunActivity:send_sms" for s in spans.get_finished_spans())

        await eventually(sms_sent, bool)
        assert (await http.get("/healthz")).status_code in (200, 503)
        assert (await http.get(link)).status_code == 200
    provider.force_flush()
    finished = spans.get_finished_spans()
    names = {span.name for span in finished}
    request = next(s for s in finished if s.name == "POST /v1/complaints")
    trace_id = request.context.trace_id
    in_trace = {s.name for s in finished if s.context.trace_id == trace_id}
    assert {
        "StartWorkflow:ComplaintWorkflow",
        "RunWorkflow:ComplaintWorkflow",
        "RunActivity:send_sms",
    } <= in_trace
    assert provider.resource.attributes["service.name"] == "jan-samvad-api"
    # Health checks and metric scrapes are not traced; case reads are.
    assert not any("healthz" in name for name in names)
    assert "GET /v1/complaints/{year}/{sequence}" in names
