"""The case's journal: each transition projected into the read model and the search
attributes, and the read model's other activities (routing, an officer by id, a message
marked unsent). Workflow code, for `ComplaintWorkflow` only; what is projected is a pure
function of the state (`workflows.projection`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.case import CaseActivities
    from schemas.workflow import (
        ActionResult,
        ComplaintState,
        ComplaintWorkflowInput,
        MarkUnsentInput,
        OfficerAssignment,
        QueuedSms,
        RouteInput,
    )
    from workflows import projection
    from workflows.retry import DB_RETRY, DB_TIMEOUT

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


class Journal:
    """`record` a transition (and count it: `version`, which the case's waits watch), run a
    read-model activity (`read_model`), word an action's answer (`result`). `state` is the
    case's live state, `lock` its lock."""

    def __init__(
        self, state: ComplaintState, input: ComplaintWorkflowInput, lock: asyncio.Lock
    ) -> None:
        self._state = state
        self._input = input
        self._lock = lock
        # Bumped on every transition: waits wake when the case changed under them.
        self.version = 0

    async def record(
        self,
        event: str,
        *,
        actor: str,
        note: str | None,
        channel: str | None = None,
        for_citizen: bool = False,
    ) -> None:
        """Project the transition into the read model and the search attributes (pure
        functions of the state: `workflows.projection`). `actor` is who acted, `channel` how
        it came in, `for_citizen` whether the actor acted for the citizen (the timeline shows
        all three)."""
        state = self._state
        state.event_seq += 1
        self.version += 1
        workflow.upsert_search_attributes(projection.search_attributes(state))
        await self.read_model(
            CaseActivities.record_transition,
            projection.transition(
                state,
                registration_number=self._input.registration_number,
                at=workflow.now(),
                event=event,
                actor=actor,
                note=note,
                channel=channel,
                for_citizen=for_citizen,
            ),
        )

    async def changed_before(self, moment: datetime) -> bool:
        """Wait until `moment` or until the case changes (a transition is recorded),
        whichever comes first; True when it changed."""
        version = self.version
        remaining = (moment - workflow.now()).total_seconds()
        if remaining <= 0:
            return False
        try:
            await workflow.wait_condition(lambda: self.version != version, timeout=remaining)
        except TimeoutError:
            return False
        return True

    async def record_registration(self) -> None:
        """ "registered", credited to whoever took it in (a telecaller, a portal) for the
        citizen, through the case's channel (the channel itself when no one is named)."""
        inp = self._input
        await self.record(
            "registered",
            actor=inp.registered_by or f"channel:{inp.channel.value}",
            note=None,
            channel=inp.channel.value,
            for_citizen=inp.registered_by is not None,
        )

    async def read_model(
        self, activity: Callable[[CaseActivities, ArgT], ResultT], arg: ArgT
    ) -> ResultT:
        """A read-model activity: local when it shares the workflow's queue (DB_TASK_QUEUE
        empty, the embedded default: no round trip through the server for each), otherwise
        on DB_TASK_QUEUE's workers."""
        if not self._input.db_task_queue:
            return await workflow.execute_local_activity_method(
                activity, arg, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
            )
        return await workflow.execute_activity_method(
            activity,
            arg,
            task_queue=self._input.db_task_queue,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )

    async def route(self, district: str, department: str | None) -> OfficerAssignment:
        """The officer the case goes to in `district` (and `department`, if named)."""
        return await self.read_model(
            CaseActivities.route_complaint,
            RouteInput(
                registration_number=self._input.registration_number,
                district=district,
                department=department,
                urgent=self._input.urgent,
            ),
        )

    async def officer(self, officer_id: str | None) -> OfficerAssignment:
        """The officer a review names (`officer_id`), or the case's own when it names none
        or the same one."""
        officer = self._state.officer
        if officer_id and (officer is None or officer.officer_id != officer_id):
            officer = await self.read_model(CaseActivities.find_officer, officer_id)
        assert officer
        return officer

    async def mark_unsent(self, key: str, reason: str) -> None:
        """The read model's mark on a message the gateway did not accept in a round."""
        await self.read_model(CaseActivities.mark_unsent, MarkUnsentInput(key=key, reason=reason))

    async def note_sms(self, event: str, sms: QueuedSms, note: str) -> None:
        """A message's fate into the timeline (taken under the case's lock: the outbox's
        coroutine runs outside it)."""
        async with self._lock:
            await self.record(
                event, actor="sms", note=f"{sms.template.value} to {sms.recipient.value}: {note}"
            )

    def result(self, message: str) -> ActionResult:
        """An action's answer: where the case is now, and `message`."""
        state = self._state
        return ActionResult(
            registration_number=self._input.registration_number,
            status=state.status,
            escalation_level=state.escalation_level,
            next_deadline=state.next_deadline,
            review=state.review,
            message=message,
        )
