"""The workers' sandbox compiles each of the SDK's entry snippets once (workers/sandbox.py):
a case replays through it with a handful of compilations, however many activations and
payloads it has. Fails if the SDK stops entering the sandbox through `_Instance._run_code`
(the override would then be dead code)."""

from __future__ import annotations

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.paths import HISTORIES
from workers.main import WORKFLOW_RUNNER, WORKFLOWS
from workers.sandbox import compiled


async def test_a_case_replays_with_each_snippet_compiled_once() -> None:
    path = HISTORIES / "overdue_review_directive.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=pydantic_data_converter,
        workflow_runner=WORKFLOW_RUNNER,
    )
    compiled.cache_clear()
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
    info = compiled.cache_info()
    # An import per workflow class (the replayer checks each), the sandbox's instance, an
    # activation, a serialization context…
    assert 2 <= info.misses <= len(WORKFLOWS) + 8, info
    # …and every later activation and payload sequence the same snippets again.
    assert info.hits > 5 * info.misses, info
    # A second case compiles nothing new.
    before = info.misses
    await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert compiled.cache_info().misses == before
