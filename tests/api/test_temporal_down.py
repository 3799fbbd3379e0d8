"""No lost complaint: Temporal unreachable during a POST.

The complaint is recorded and numbered (202, workflow pending); a retry with the same key gets
the same number; once Temporal is back the worker's reconciliation starts the workflow, which
acknowledges the citizen exactly once.
"""

from __future__ import annotations

import socket
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.models import Complaint, Message
from core.settings import Settings
from core.temporal import connect
from harness.factories import complaint_body, eventually
from schemas.policy import Policy
from tests.helpers import api_client, running_worker
from workflows.client_activities import reconcile


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_complaint_survives_temporal_outage_and_is_started_by_reconciliation(
    dev_env: WorkflowEnvironment, any_engine: Engine, settings: Settings
) -> None:
    down = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{_closed_port()}",
            "temporal_rpc_timeout_seconds": 2,
        }
    )
    unreachable = await connect(down, lazy=True)
    app = create_app(down, engine=any_engine, client=unreachable)
    headers = {"Idempotency-Key": "outage-1"}
    async with api_client(app) as http:
        health = await http.get("/healthz")
        assert health.status_code == 503
        assert health.json()["temporal"].startswith("error")
        assert health.json()["database"] == "ok"

        first = await http.post("/v1/complaints", json=complaint_body(), headers=headers)
        assert first.status_code == 202, first.text
        assert first.json()["workflow_started"] is False
        reg = first.json()["registration_number"]
        retry = await http.post("/v1/complaints", json=complaint_body(), headers=headers)
        assert retry.status_code == 202
        assert retry.json()["registration_number"] == reg

        # Temporal is back: the worker's reconciliation starts the pending workflow.
        async with running_worker(dev_env.client, any_engine, settings):
            result = await reconcile(
                any_engine, dev_env.client, settings, Policy(), grace=timedelta(0)
            )
            assert result.started == [reg]
            again = await reconcile(
                any_engine, dev_env.client, settings, Policy(), grace=timedelta(0)
            )
            assert again.started == []

            def acknowledgements() -> list[Message]:
                with Session(any_engine) as session:
                    return list(
                        session.exec(select(Message).where(Message.template == "acknowledgement"))
                    )

            async def probe() -> list[Message]:
                return acknowledgements()

            await eventually(probe, lambda acks: len(acks) == 1)

    with Session(any_engine) as session:
        rows = session.exec(select(Complaint)).all()
        assert len(rows) == 1 and rows[0].workflow_started_at is not None
    assert (await dev_env.client.get_workflow_handle(rows[0].workflow_id).describe()).status
