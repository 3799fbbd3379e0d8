"""Read-model activities on their own task queue (DB_TASK_QUEUE), served by a `db` worker."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.settings import Settings
from harness.factories import complaint_body, eventually
from tests.helpers import api_client, running_worker
from workers.main import build_db_worker


async def test_projection_waits_for_the_db_worker_then_runs_there(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    split = settings.model_copy(update={"db_task_queue": f"{settings.temporal_task_queue}-db"})
    client = dev_env.client
    app = create_app(split, engine=engine, client=client)
    async with running_worker(client, engine, split), api_client(app) as http:
        created = await http.post("/v1/complaints", json=complaint_body())
        assert created.status_code == 201, created.text
        path = created.json()["links"]["self"]
        workflow_id = created.json()["workflow_id"]

        # The workflow worker runs the workflow, but its read-model activities wait on their
        # own queue, which nobody polls yet: the case is neither projected nor forwarded.
        async def pending() -> list[Any]:
            described = await client.get_workflow_handle(workflow_id).describe()
            return list(described.raw_description.pending_activities)

        activities = await eventually(pending, lambda acts: len(acts) > 0)
        assert activities[0].activity_type.name in {"record_transition", "route_complaint"}
        assert (await http.get(path)).json()["status"] == "registered"

        with ThreadPoolExecutor(max_workers=4) as executor:
            db_worker = build_db_worker(client, settings=split, engine=engine, executor=executor)
            async with db_worker:

                async def case() -> dict[str, Any]:
                    return (await http.get(path)).json()

                forwarded = await eventually(case, lambda c: c["status"] == "awaiting_report")
        assert forwarded["assigned_officer"] is not None
