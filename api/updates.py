"""Every update the API sends to a workflow, bounded by the API's budget, in one place."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header
from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from api.errors import unanswered, workflow_error
from schemas.auth import Principal

ActionKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="Makes a retried action safe: the same key (per caller and action) is "
        "applied once and answers the first answer. 1-100 of A-Z a-z 0-9 . _ : -",
    ),
]


async def earlier_result(
    handle: WorkflowHandle[Any, Any], update: Any, update_id: str, *, budget: float
) -> Any | None:
    """The result of an update this caller already sent under `update_id` (an Idempotency-Key
    retry), or None if there is none. Used where the first action moved the case out of the
    caller's scope (a transfer): the retry still gets the first answer, and only its own."""
    earlier = handle.get_update_handle_for(update, update_id)
    try:
        async with asyncio.timeout(budget):
            return await earlier.result(rpc_timeout=timedelta(seconds=budget))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise workflow_error(err) from err
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise unanswered() from None
    except WorkflowUpdateFailedError:
        return None  # the first attempt was refused: nothing to replay


def scoped_key(principal: Principal, key: str | None) -> str | None:
    """An Idempotency-Key as stored: the caller's own (a digest of their subject, then the
    key), so that one client's key neither finds nor blocks another client's request."""
    if key is None:
        return None
    owner = hashlib.sha256(principal.subject.encode("utf-8")).hexdigest()[:16]
    return f"{owner}:{key}"


def update_id_for(action: str | None, principal: Principal, key: str | None) -> str | None:
    """The update ID of an action sent with an Idempotency-Key: the caller's and the
    action's own, so one client's key never answers for another's action."""
    return f"{action}:{principal.subject}:{key}" if key else None


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
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # (The SDK turns the budget's cancellation into its own timeout error.)
        raise unanswered() from None
    except (WorkflowUpdateFailedError, RPCError, RuntimeError) as err:
        # RuntimeError: a lazy client that cannot connect at all.
        raise workflow_error(err) from err
