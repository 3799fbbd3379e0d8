"""The workers' sandbox (workers/sandbox.py) compiles each of the SDK's entry snippets once:
a case replays through it with a handful of compilations, however many activations and
payloads it has; and it answers the codec's questions (a payload's serialization context)
as the sandbox does, without entering it. Fails if the SDK stops entering the sandbox through
`_Instance._run_code` or asking through `get_serialization_context` (the overrides would then
be dead code)."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from temporalio.client import WorkflowHistory
from temporalio.converter import SerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext as StoreContext
from temporalio.worker import (
    WorkflowInstance,
    WorkflowInstanceDetails,
)
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

from harness.histories import replay_with
from tests.paths import HISTORIES
from workers.main import WORKFLOW_RUNNER, WORKFLOWS
from workers.sandbox import CompiledOnceSandboxRunner, _CompiledOnceInstance, compiled


async def test_a_case_replays_with_each_snippet_compiled_once() -> None:
    path = HISTORIES / "overdue_review_directive.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    compiled.cache_clear()
    await replay_with(history, WORKFLOW_RUNNER)
    info = compiled.cache_info()
    # An import per workflow class (the replayer checks each), the sandbox's instance, an
    # activation…
    assert 2 <= info.misses <= len(WORKFLOWS) + 8, info
    # …and every later activation the same snippets again.
    assert info.hits > 2 * info.misses, info
    # A second case compiles nothing new.
    before = info.misses
    await replay_with(history, WORKFLOW_RUNNER)
    assert compiled.cache_info().misses == before


class _Checked(_CompiledOnceInstance):
    """Answers as the workers' instance does, and records beside each answer the one the
    SDK's own way (an entry into the sandbox) gives."""

    answers: ClassVar[list[tuple[object, object]]] = []
    entries = 0

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        _Checked.entries += 1
        super()._run_code(code, **extra_globals)

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        direct = super().get_serialization_context(command_info)
        entries = _Checked.entries
        _Checked.answers.append((direct, _Instance.get_serialization_context(self, command_info)))
        _Checked.entries = entries  # the comparison's own entry is not the runner's
        return direct

    def get_external_store_context(self, command_info: CommandInfo | None) -> StoreContext:
        direct = super().get_external_store_context(command_info)
        entries = _Checked.entries
        _Checked.answers.append((direct, _Instance.get_external_store_context(self, command_info)))
        _Checked.entries = entries
        return direct


class _CheckedRunner(CompiledOnceSandboxRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Checked(det, self.runner_class, self.restrictions)


class _Counted(_Instance):
    entries = 0

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        _Counted.entries += 1
        super()._run_code(code, **extra_globals)


class _CountedRunner(SandboxedWorkflowRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Counted(det, self.runner_class, self.restrictions)


async def test_serialization_contexts_are_the_sandboxs_answers_without_entering_it() -> None:
    path = HISTORIES / "overdue_review_directive.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))

    replay = partial(replay_with, history)

    _Checked.answers, _Checked.entries = [], 0
    await replay(_CheckedRunner(restrictions=WORKFLOW_RUNNER.restrictions))
    # The same answers as the sandbox gives: the workflow's own, and an activity's for the
    # payloads of the activities it schedules.
    assert _Checked.answers
    assert all(direct == entered for direct, entered in _Checked.answers), _Checked.answers
    kinds = {type(direct).__name__ for direct, _ in _Checked.answers}
    assert {"WorkflowSerializationContext", "ActivitySerializationContext"} <= kinds, kinds
    # Without the sandbox entries the SDK's runner makes to ask for them.
    _Counted.entries = 0
    await replay(_CountedRunner(restrictions=WORKFLOW_RUNNER.restrictions))
    assert _Checked.entries + len(_Checked.answers) <= _Counted.entries, (
        _Checked.entries,
        _Counted.entries,
    )
