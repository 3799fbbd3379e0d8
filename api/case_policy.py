"""The policy a case lives by, as its workflow recorded it: the input of the workflow's
current run (registration, or the last continue-as-new, which carries it unchanged).

The read model keeps no copy of the policy; a running case keeps the promise it was
registered under even after the centre's settings change, so what a citizen is told ("you may
reopen until ...") must come from the case, not from today's settings. One history page of
one event, decoded with the client's converter (the payload codec decrypts it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError

from schemas.policy import Policy
from schemas.workflow import ComplaintWorkflowInput


async def recorded_policy(client: Client, workflow_id: str, *, rpc_seconds: float) -> Policy | None:
    """The case's own policy; None when the workflow service cannot say within `rpc_seconds`
    seconds (or the history holds no readable start), so a page can say less, not wrong."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        budget = timedelta(seconds=rpc_seconds)
        async for event in handle.fetch_history_events(page_size=1, rpc_timeout=budget):
            started = event.workflow_execution_started_event_attributes
            if not started.input.payloads:
                return None
            [found] = await client.data_converter.decode(
                started.input.payloads, [ComplaintWorkflowInput]
            )
            return found.policy if isinstance(found, ComplaintWorkflowInput) else None
    except (RPCError, ValueError, TypeError):
        return None
    return None
