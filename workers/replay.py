"""Replaying a workflow history against the workflow code of this checkout:

    python -m workers.replay --history FILE.json  # a history exported as JSON
    python -m workers.replay --workflow-id ID     # ... fetched from the cluster

A non-determinism error means the code changed in a way that breaks running cases (guard the
change with `workflow.patched`); any other failure reproduces the workflow's bug locally.
The deployment's settings apply (an encrypted history decrypts with its key ring).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from core.admin import connect_within, exit_now
from core.codec import data_converter, pydantic_converter
from core.logging import configure_logging
from core.settings import Settings, get_settings
from workers.main import WORKFLOWS

log = logging.getLogger(__name__)


async def replay(
    history: WorkflowHistory,
    settings: Settings | None = None,
    *,
    runner: WorkflowRunner | None = None,
) -> Exception | None:
    """Replay `history` (of any workflow the worker runs: a case, a review session, a fetch,
    a WhatsApp fallback ...) against the workflow code of this checkout; the failure, if any.
    `runner`: the sandbox runner (default: the SDK's sandbox, which re-imports every module).

    A non-determinism error means the code changed in a way that breaks running cases (guard
    the change with `workflow.patched`); any other failure reproduces the workflow's bug
    locally, under a debugger if wanted.
    """
    # The deployment's converter: an encrypted history decrypts with its key ring (payloads
    # written before encryption pass through it unchanged). No settings: no decryption.
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=data_converter(settings) if settings else pydantic_converter,
        workflow_runner=runner or SandboxedWorkflowRunner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure


async def run_replay(
    settings: Settings, *, history_json: str | None, workflow_id: str | None, wait: float
) -> bool:
    """`replay`: from a JSON history file (Temporal UI "Download", `temporal workflow show
    --output json`) or fetched by workflow ID; True when it replays cleanly."""
    if history_json is not None:
        history = WorkflowHistory.from_json(workflow_id or "replayed", history_json)
    elif workflow_id:
        client = await connect_within(settings, wait)
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    else:
        raise SystemExit("replay needs --history FILE or --workflow-id ID")
    failure = await replay(history, settings)
    if failure is not None:
        log.error("replay of %s failed: %r", history.workflow_id, failure)
        return False
    log.info("replay of %s: %d events, no failure", history.workflow_id, len(history.events))
    return True


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: `python -m workers.replay --history FILE | --workflow-id ID`."""
    parser = argparse.ArgumentParser(description="Jan Samvad: replay a workflow history")
    parser.add_argument("--history", help="a workflow history exported as JSON")
    parser.add_argument("--workflow-id", help="the workflow whose history to fetch")
    parser.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the cluster (default 60)"
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    history_json = Path(args.history).read_text(encoding="utf-8") if args.history else None
    clean = asyncio.run(
        run_replay(
            settings, history_json=history_json, workflow_id=args.workflow_id, wait=args.wait
        )
    )
    exit_now(0 if clean else 1)


if __name__ == "__main__":
    main()
