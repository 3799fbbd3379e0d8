"""The workflow sandbox the workers run: the SDK's, with each of its code snippets compiled once
and a payload's serialization context asked without entering it.

The SDK's sandbox enters a workflow by `exec` of a short source string: for every activation,
and again for every payload sequence the codec encodes or decodes (to ask the workflow for
its serialization context). `exec` of a string compiles it first, some 12 µs each time;
profiled during a 1,000-case deadline storm and a bulk directive (py-spy, `--gil`), that
compilation was 13–15 % of the worker's interpreter time. Here each distinct snippet is
compiled once and the code object handed to the SDK's own `_run_code`, which runs it
unchanged (`exec` takes a code object as it takes a string): the same restrictions, the same
determinism checks, the same code.

The codec's questions (which workflow or activity a payload belongs to: its serialization
context, and its external store's) are answered by the in-sandbox instance from its own maps;
the SDK asks them through a sandbox entry for every payload sequence. Here they are asked of
that instance directly: the same answers (tested against the SDK's way), without an entry.

It reaches private parts of temporalio 1.35 (`workflow_sandbox._runner._Instance`: its
`_run_code` and its `__temporal_in_sandbox`); `tests/workflows/test_sandbox_runner.py` fails if
the SDK stops calling them, and every replay test runs through this runner.
"""

from __future__ import annotations

from functools import lru_cache
from types import CodeType
from typing import Any, cast

from temporalio.converter import SerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext as StoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._in_sandbox import InSandbox
from temporalio.worker.workflow_sandbox._runner import _Instance

# The SDK's snippets: one per kind of entry, plus one import per workflow class.
_SNIPPETS = 256


@lru_cache(maxsize=_SNIPPETS)
def compiled(source: str) -> CodeType:
    """`source` compiled as `exec` compiles a string (file name `<string>`)."""
    return compile(source, "<string>", "exec")


class _CompiledOnceInstance(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # The SDK types it a string; it only hands it to `exec`, which takes a code object.
        super()._run_code(cast(str, compiled(code)), **extra_globals)

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        # Asked once per payload sequence the codec encodes or decodes. The in-sandbox
        # instance answers from its own maps (workflow info, pending activities, children,
        # signals: no import, no I/O), so it is asked directly rather than through an entry
        # into the sandbox (its importer applied, `exec`, the importer taken off).
        return self._in_sandbox().get_serialization_context(command_info)

    def get_external_store_context(self, command_info: CommandInfo | None) -> StoreContext:
        # The same kind of answer (whose storage a payload belongs to), asked as often.
        return self._in_sandbox().get_external_store_context(command_info)

    def _in_sandbox(self) -> InSandbox:
        return cast(InSandbox, self.globals_and_locals["__temporal_in_sandbox"])


class CompiledOnceSandboxRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` (same fields) whose instances compile each snippet once."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnceInstance(det, self.runner_class, self.restrictions)
