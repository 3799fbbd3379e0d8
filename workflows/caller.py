"""The case's verification calls made by machine (IVR): placed one at a time by the case's
caller coroutine, outside the case's lock, like the SMS outbox.

A case starting to await its verification, of a kind and category the policy calls by IVR,
owes a call (`ComplaintState.ivr`). Busy / no answer / failed calls are tried again within
calling hours, then handed to the telecaller, as is a citizen who presses 3; the answers 1 and
2 arrive as `record_callback` from the voice webhooks (actor `ivr`). The case's own deadlines
move it whatever the calls do. The rules (`workflows.ivr`) are pure; this module does the
effects (the call activity, the timeline entries) for `ComplaintWorkflow`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.voice import VoiceActivities
    from schemas.calendar import fmt_ist
    from schemas.enums import ComplaintStatus
    from schemas.policy import Policy
    from schemas.voice import CallResult, IvrOutcome, IvrState, PlaceCallInput
    from schemas.workflow import ComplaintState
    from workflows import ivr as ivr_rules


class Record(Protocol):
    """The case's transition into the read model (`Journal.record`)."""

    def __call__(self, event: str, *, actor: str, note: str | None) -> Awaitable[None]: ...


class IvrCaller:
    """The case's caller coroutine (`run`) and the calls' final results (`call_ended`);
    workflow code, for the case's workflow only. `state` is the case's live state, `lock` its
    lock, `version` its transition counter."""

    def __init__(
        self,
        state: ComplaintState,
        policy: Policy,
        lock: asyncio.Lock,
        *,
        registration_number: str,
        task_queue: str | None,
        version: Callable[[], int],
        record: Record,
    ) -> None:
        self._state = state
        self._policy = policy
        self._lock = lock
        self._reg = registration_number
        self._task_queue = task_queue
        self._version = version
        self._record = record
        # Final results of calls still being placed (their CallSid not yet recorded), by SID.
        self._early_results: dict[str, IvrOutcome] = {}

    def _call_owed(self) -> bool:
        state = self._state
        ivr = state.ivr
        return (
            state.status is ComplaintStatus.AWAITING_CALLBACK
            and ivr is not None
            and not ivr.handed_over
            and (ivr.next_at is not None or ivr.call_sid is not None)
        )

    def _call_moved(self, ivr: IvrState, sid: str) -> Callable[[], bool]:
        state = self._state
        return lambda: state.ivr is not ivr or ivr.call_sid != sid or not self._call_owed()

    def _round_moved(self, ivr: IvrState, version: int) -> Callable[[], bool]:
        return lambda: self._version() != version or self._state.ivr is not ivr

    async def run(self) -> None:
        """Place the case's owed IVR calls, one at a time, outside the lock; wait for each
        call's final status (`ivr_result`), at most `ivr_call_timeout` (then it failed).

        A call is placed under a key of the case's verification round and attempt, so a run
        continued-as-new while placing it gets the same call back (`place_call`)."""
        state, policy = self._state, self._policy
        while True:
            await workflow.wait_condition(self._call_owed)
            ivr = state.ivr
            assert ivr is not None
            if ivr.call_sid is not None:
                sid = ivr.call_sid
                assert ivr.placed_at is not None
                left = (ivr.placed_at + policy.ivr_call_timeout - workflow.now()).total_seconds()
                try:
                    await workflow.wait_condition(
                        self._call_moved(ivr, sid),
                        timeout=max(left, 0.001),
                    )
                except TimeoutError:
                    await self.call_ended(
                        IvrOutcome(call_sid=sid, result=CallResult.FAILED), "no final status"
                    )
                continue
            assert ivr.next_at is not None
            if ivr.next_at > workflow.now():
                version = self._version()
                try:
                    await workflow.wait_condition(
                        self._round_moved(ivr, version),
                        timeout=(ivr.next_at - workflow.now()).total_seconds(),
                    )
                except TimeoutError:
                    pass
                continue
            attempt = ivr.attempts + 1
            reg = self._reg
            try:
                placed = await workflow.execute_activity_method(
                    VoiceActivities.place_call,
                    PlaceCallInput(
                        registration_number=reg,
                        key=f"{reg}:{ivr.round}:ivr:{attempt}",
                        attempt=attempt,
                        sampled=ivr_rules.audited(reg, policy),
                    ),
                    task_queue=self._task_queue or workflow.info().task_queue,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(
                        maximum_interval=timedelta(minutes=5), maximum_attempts=30
                    ),
                )
            except ActivityError as err:
                cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
                async with self._lock:
                    if state.ivr is ivr and self._call_owed():
                        ivr.attempts, ivr.next_at, ivr.handed_over = attempt, None, True
                        await self._record(
                            "ivr_handed_to_telecaller",
                            actor="ivr",
                            note=f"call not placed: {cause}",
                        )
                continue
            async with self._lock:
                if state.ivr is not ivr or not self._call_owed():
                    continue  # the case moved while the call was being placed
                ivr.attempts, ivr.next_at = attempt, None
                ivr.call_sid, ivr.placed_at = placed.call_sid, workflow.now()
                await self._record(
                    "ivr_call_placed",
                    actor="ivr",
                    note=f"call {placed.call_sid}: attempt {attempt} of {policy.ivr_attempts}",
                )
            early = self._early_results.pop(placed.call_sid, None)
            if early is not None:
                await self.call_ended(early)

    def owe(self, *, kind: str, category: str | None, now: datetime) -> bool:
        """A report received at `now`: a call owed when the policy calls this kind and
        category by IVR (queued, not placed: the coroutine places it after the transition)."""
        if not ivr_rules.ivr_applies(self._policy, kind=kind, category=category):
            return False
        state = self._state
        state.ivr = IvrState(
            round=state.event_seq, next_at=ivr_rules.calling_slot(now, self._policy)
        )
        return True

    async def call_ended(self, outcome: IvrOutcome, why: str | None = None) -> None:
        """A call's final result: another call later, or the telecaller's turn. Acted on once
        per CallSid (only the call in progress counts); 1 and 2 already moved the case."""
        async with self._lock:
            state, policy = self._state, self._policy
            ivr = state.ivr
            if ivr is not None and ivr.call_sid is None and ivr.next_at is not None:
                # The call is being placed: its result came before the activity's (a number
                # busy at once). Kept until the call is recorded, then acted on.
                self._early_results[outcome.call_sid] = outcome
                return
            if ivr is None or ivr.call_sid != outcome.call_sid or not self._call_owed():
                return
            ivr.call_sid, ivr.last_result = None, outcome.result
            step = ivr_rules.after_call(outcome.result, ivr.attempts, workflow.now(), policy)
            said = outcome.result.value.replace("_", " ") + (f" ({why})" if why else "")
            if step.next_at is not None:
                ivr.next_at = step.next_at
                await self._record(
                    "ivr_unanswered",
                    actor="ivr",
                    note=f"call {outcome.call_sid}: {said}; attempt {ivr.attempts} of "
                    f"{policy.ivr_attempts}; next call {fmt_ist(step.next_at)}",
                )
            elif step.hand_over is not None:
                ivr.handed_over = True
                await self._record(
                    "ivr_handed_to_telecaller",
                    actor="ivr",
                    note=f"call {outcome.call_sid}: {step.hand_over}",
                )
