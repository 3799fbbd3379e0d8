"""The baseline's bare workflow: one no-op activity, nothing else (kept in a module of its own
with no imports beyond temporalio, so the sandbox re-imports as little as for the real one)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
def noop() -> None:
    """Does nothing, in the worker's activity thread pool as the project's activities do."""


@activity.defn(name="noop_async")
async def noop_async() -> None:
    """Does nothing, on the event loop (the bare-engine variant)."""


@workflow.defn
class BareWorkflow:
    """Sandboxed, like the project's workflows."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(sandboxed=False)
class BareUnsandboxedWorkflow:
    """The bare engine: no sandbox, an async activity."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop_async, start_to_close_timeout=timedelta(seconds=30))
