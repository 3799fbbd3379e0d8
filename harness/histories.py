"""A workflow's history as Temporal keeps it, run by run: what the tests and the bench read to
check Temporal's limits (events per run, the largest payload) on a dev server; and a committed
history replayed through the worker's workflows with a given sandbox runner."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import WorkflowRunner

from workers.replay import replay

# The event attributes that carry payloads a workflow or activity was given or returned.
_PAYLOAD_FIELDS = ("input", "result", "details", "last_completion_result")


async def runs_of(client: Client, workflow_id: str) -> list[list[Any]]:
    """Every run's history events, first run first (following continue-as-new)."""
    info = (await client.get_workflow_handle(workflow_id).describe()).raw_description
    execution = info.workflow_execution_info
    run_id: str | None = execution.first_run_id or execution.execution.run_id
    runs = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.append(list(history.events))
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else None
        )
    return runs


def largest_payload(events: list[Any]) -> int:
    """The largest single payload (bytes) among `events`' inputs, results and details."""
    largest = 0
    for event in events:
        for _, value in event.ListFields():
            for name in _PAYLOAD_FIELDS:
                payloads = getattr(value, name, None)
                for p in getattr(payloads, "payloads", ()):
                    largest = max(largest, p.ByteSize())
    return largest


async def replay_with(history: WorkflowHistory, runner: WorkflowRunner) -> None:
    """Replay `history` (unencrypted, as the tests record them) through every workflow the
    worker runs (`workers.replay.replay`) with `runner`; raises on any replay failure
    (non-determinism included)."""
    failure = await replay(history, runner=runner)
    if failure is not None:
        raise failure
