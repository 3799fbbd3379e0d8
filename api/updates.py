"""Every update the API sends to a workflow, bounded by the API's budget, in one place."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.errors import unanswered, workflow_error


async def execute_within(
    handle: WorkflowHandle[Any, Any],
    update: Any,
    arg: Any,
    *,
    budget: float,
    update_id: str | None = None,
) -> Any:
    """Execute the typed `update` with `arg` and return its result, within `budget` seconds.

    The SDK polls an update's outcome with no deadline of its own, so the whole call is
    bounded here. `update_id` (from an Idempotency-Key) lets the server apply a retried
    update once and answer it with the first result.

    Raises `ApiError`: 409 when the workflow refused the update or has finished, 503 with
    Retry-After when Temporal is unreachable (not applied) or did not answer in time (may
    have been applied: retry with the same key).
    """
    try:
        async with asyncio.timeout(budget):
            return await handle.execute_update(
                update, arg, id=update_id, rpc_timeout=timedelta(seconds=budget)
            )
    except TimeoutError:
        raise unanswered() from None
    except (WorkflowUpdateFailedError, RPCError, RuntimeError) as err:
        # RuntimeError: a lazy client that cannot connect at all.
        raise workflow_error(err) from err
