"""A case's SMS outbox: the messages its transitions owe, sent after them, in order.

A transition never waits for its SMS: it appends them to `ComplaintState.outbox` (`Outbox.owe`)
and the case's outbox coroutine (`Outbox.drain`) sends them one at a time, outside the case's
lock. A message leaves the outbox only once sent (or dropped), so continue-as-new carries it and
the next run sends it again under the same key (the gateway sends a key at most once).

The queue's rules are pure functions here, tested without a server (`tests/unit/test_outbox.py`):
which message goes next (`next_sendable`), which no longer means anything (`stale`), its task
priority (`sms_priority`), and what follows a round of attempts the gateway never accepted
(`after_failed_round`). `Outbox` does the effects: the send activity, the read model's "unsent"
mark and the timeline note, through the callables the workflow gives it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.sms import SmsActivities
    from schemas.calendar import fmt_ist
    from schemas.enums import RecipientKind, is_open
    from schemas.policy import Policy
    from schemas.workflow import ComplaintState, QueuedSms, SendSmsInput, SmsTemplate

# Temporal task priorities on the SMS queue (1 is first; 3 is the server's default): an urgent
# case's officers first, then its citizen, then routine messages. (Set explicitly: an urgent
# workflow itself runs at 1, which its activities would otherwise inherit.)
OFFICER_URGENT_PRIORITY = Priority(priority_key=1)
CITIZEN_URGENT_PRIORITY = Priority(priority_key=2)
ROUTINE_PRIORITY = Priority(priority_key=3)
# Officer messages about an assignment are pointless once the officer no longer holds the case.
OFFICER_TEMPLATES = frozenset(
    {
        SmsTemplate.OFFICER_ASSIGNED,
        SmsTemplate.OFFICER_URGENT,
        SmsTemplate.OFFICER_REMINDER,
        SmsTemplate.OFFICER_DIRECTIVE,
    }
)
# How long a run about to continue as new waits for a send in flight (seconds).
PAUSE_FOR_SEND = 60

# The timeline's note on a message: (event, message, note) -> recorded under the case's lock.
NoteSms = Callable[[str, QueuedSms, str], Awaitable[None]]
# The read model's "not handed to the gateway" mark: (key, reason).
MarkUnsent = Callable[[str, str], Awaitable[None]]


def sms_priority(sms: QueuedSms) -> Priority:
    """The task priority of `sms`: an urgent case's officer, then its citizen, then routine."""
    if not sms.urgent:
        return ROUTINE_PRIORITY
    if sms.recipient is RecipientKind.OFFICER:
        return OFFICER_URGENT_PRIORITY
    return CITIZEN_URGENT_PRIORITY


def owed(
    state: ComplaintState,
    template: SmsTemplate,
    recipient: RecipientKind,
    params: dict[str, str],
    *,
    registration_number: str,
    urgent: bool,
    now: datetime,
    assignment_bound: bool = False,
    valid_until: datetime | None = None,
) -> QueuedSms | None:
    """The message a transition owes, keyed `reg:event_seq:template:recipient` (retries
    harmless), or None for an officer's message when the case has no officer.
    `assignment_bound`: dropped if the case has moved to another assignment by its turn;
    `valid_until`: dropped if that moment has passed by then."""
    officer_id = state.officer.officer_id if state.officer else None
    if recipient is RecipientKind.OFFICER and officer_id is None:
        return None
    return QueuedSms(
        key=f"{registration_number}:{state.event_seq}:{template.value}:{recipient.value}",
        template=template,
        recipient=recipient,
        officer_id=officer_id if recipient is RecipientKind.OFFICER else None,
        params=params,
        urgent=urgent,
        queued_at=now,
        assignment=state.assignments if assignment_bound else None,
        valid_until=valid_until,
    )


def stale(sms: QueuedSms, *, assignments: int, status: str, now: datetime) -> str | None:
    """Why a queued message no longer means anything, or None if it is still owed: the case
    has moved to another assignment, its moment has passed, or (an officer's message about an
    assignment) the case is no longer open."""
    if sms.assignment is not None and sms.assignment != assignments:
        return "the case has moved to another officer since"
    if sms.valid_until is not None and now >= sms.valid_until:
        return f"its deadline {fmt_ist(sms.valid_until)} has passed"
    if sms.template in OFFICER_TEMPLATES and not is_open(status):
        return f"the case is {status}"
    return None


def next_sendable(outbox: list[QueuedSms], now: datetime) -> tuple[int | None, datetime | None]:
    """The outbox index of the next message to send, or None and when one will be due.

    Oldest first, except that a message deferred by a failed round (gateway down) holds back
    only the later messages to the same recipient: the citizen's acknowledgement is not kept
    waiting behind an officer's message, and each recipient reads in order."""
    held: set[tuple[RecipientKind, str | None]] = set()
    wake: datetime | None = None
    for index, sms in enumerate(outbox):
        recipient = (sms.recipient, sms.officer_id)
        if recipient in held:
            continue
        if sms.not_before is not None and sms.not_before > now:
            held.add(recipient)
            wake = sms.not_before if wake is None else min(wake, sms.not_before)
            continue
        return index, None
    return None, wake


@dataclass(frozen=True)
class FailedRound:
    """What follows a round of attempts the gateway never accepted: the reason (for the read
    model and the timeline), and either the message deferred to its next round (`retry`) or
    given up (`retry` None: past `sms_redelivery_window`)."""

    reason: str
    retry: QueuedSms | None
    retry_at: datetime


def after_failed_round(sms: QueuedSms, now: datetime, policy: Policy) -> FailedRound:
    """A round of `sms_attempts` attempts ended at `now` without the gateway accepting `sms`:
    tried again `sms_redelivery_after` later, until `sms_redelivery_window` after it was
    queued."""
    retry_at = now + policy.sms_redelivery_after
    attempts = (sms.rounds + 1) * policy.sms_attempts
    reason = f"the gateway did not accept it in {attempts} attempts"
    if retry_at > sms.queued_at + policy.sms_redelivery_window:
        return FailedRound(reason=reason, retry=None, retry_at=retry_at)
    retry = sms.model_copy(update={"rounds": sms.rounds + 1, "not_before": retry_at})
    return FailedRound(reason=reason, retry=retry, retry_at=retry_at)


class Outbox:
    """The case's outbox coroutine and the transitions' way into it (workflow code: call
    from the case's workflow only). `state` is the case's live state (its `outbox` list is
    the queue, carried across continue-as-new)."""

    def __init__(
        self,
        state: ComplaintState,
        policy: Policy,
        *,
        registration_number: str,
        urgent: bool,
        task_queue: str | None,
        note: NoteSms,
        mark_unsent: MarkUnsent,
    ) -> None:
        self._state = state
        self._policy = policy
        self._reg = registration_number
        self._urgent = urgent
        self._task_queue = task_queue
        self._note = note
        self._mark_unsent = mark_unsent
        # Sending now; asked to start no new send (the run is about to continue as new).
        self._sending = False
        self._pausing = False

    def owe(
        self,
        template: SmsTemplate,
        recipient: RecipientKind,
        params: dict[str, str],
        *,
        assignment_bound: bool = False,
        valid_until: datetime | None = None,
    ) -> None:
        """Queue one SMS as part of the transition (see `owed`); sent after it by `drain`."""
        sms = owed(
            self._state,
            template,
            recipient,
            params,
            registration_number=self._reg,
            urgent=self._urgent,
            now=workflow.now(),
            assignment_bound=assignment_bound,
            valid_until=valid_until,
        )
        if sms is not None:
            self._state.outbox.append(sms)

    def owe_assignment(
        self, citizen_sms: SmsTemplate, due: str, *, ack: bool, officer: bool
    ) -> None:
        """The messages of a case put with an officer, report `due`: with `officer`, the
        officer's (a directive's, an urgent case's or the usual); with `ack`, the citizen's
        acknowledgement; then the citizen's `citizen_sms`."""
        officer_sms = (
            SmsTemplate.OFFICER_DIRECTIVE
            if citizen_sms is SmsTemplate.DIRECTIVE
            else SmsTemplate.OFFICER_URGENT
            if self._urgent
            else SmsTemplate.OFFICER_ASSIGNED
        )
        if officer:
            self.owe(officer_sms, RecipientKind.OFFICER, {"due": due}, assignment_bound=True)
        if ack:
            self.owe(SmsTemplate.ACKNOWLEDGEMENT, RecipientKind.CITIZEN, {})
        # "Forwarded to X" means nothing once the case has moved on; a directive or a
        # reopening is news the citizen gets even late.
        self.owe(
            citizen_sms,
            RecipientKind.CITIZEN,
            {"due": due},
            assignment_bound=citizen_sms
            in (SmsTemplate.FORWARDED, SmsTemplate.SUGGESTION_UNDER_CONSIDERATION),
        )

    def owe_closure(self, *, suggestion_answered: bool) -> None:
        """The citizen told the case is closed (a suggestion: answered), and for how many days
        it can be reopened."""
        template = SmsTemplate.SUGGESTION_ANSWERED if suggestion_answered else SmsTemplate.CLOSED
        days = str(self._policy.reopen_window.days)
        self.owe(template, RecipientKind.CITIZEN, {"reopen_days": days})

    async def pause(self) -> None:
        """Before continue-as-new: let a send in flight finish (its message leaves the outbox)
        rather than abandon it, but never hold the case up for long (an unfinished one is sent
        again by the next run under the same key)."""
        self._pausing = True
        try:
            await workflow.wait_condition(lambda: not self._sending, timeout=PAUSE_FOR_SEND)
        except TimeoutError:
            pass

    async def drain(self) -> None:
        """Send the case's owed SMS, oldest first, one at a time, outside the lock.

        A round of attempts that the gateway never accepts marks the message failed and
        defers it (`after_failed_round`); a permanent refusal (invalid number) ends it at
        once. Runs until cancelled."""
        state = self._state
        while True:
            await workflow.wait_condition(lambda: bool(state.outbox) and not self._pausing)
            index, wake = next_sendable(state.outbox, workflow.now())
            if index is None:
                assert wake is not None
                try:
                    await workflow.wait_condition(
                        self._grew(len(state.outbox)),
                        timeout=(wake - workflow.now()).total_seconds(),
                    )
                except TimeoutError:
                    pass
                continue
            sms = state.outbox[index]
            why = stale(sms, assignments=state.assignments, status=state.status, now=workflow.now())
            if why is not None:
                state.outbox.pop(index)
                await self._note("sms_dropped", sms, f"not sent: {why}")
                continue
            await self._send(index, sms)

    def _grew(self, size: int) -> Callable[[], bool]:
        return lambda: len(self._state.outbox) != size

    async def _send(self, index: int, sms: QueuedSms) -> None:
        state, policy = self._state, self._policy
        self._sending = True
        try:
            await workflow.execute_activity_method(
                SmsActivities.send_sms,
                SendSmsInput(
                    registration_number=self._reg,
                    key=sms.key,
                    template=sms.template,
                    recipient=sms.recipient,
                    officer_id=sms.officer_id,
                    params=sms.params,
                    redelivery=sms.rounds > 0,
                ),
                task_queue=self._task_queue or workflow.info().task_queue,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    maximum_interval=policy.sms_retry_max_interval,
                    maximum_attempts=policy.sms_attempts,
                ),
                priority=sms_priority(sms),
            )
        except ActivityError as err:
            self._sending = False
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                state.outbox.pop(index)  # refused for good; the row says why
                await self._note("sms_failed", sms, cause.message)
                return
            await self._gave_up_round(index, sms)
            return
        self._sending = False
        state.outbox.pop(index)

    async def _gave_up_round(self, index: int, sms: QueuedSms) -> None:
        """A round of attempts ended without the gateway accepting `sms` (at `index`)."""
        state = self._state
        step = after_failed_round(sms, workflow.now(), self._policy)
        await self._mark_unsent(sms.key, step.reason)
        if step.retry is None:
            state.outbox.pop(index)
            await self._note("sms_failed", sms, f"{step.reason}; given up")
            return
        state.outbox[index] = step.retry
        if sms.rounds == 0:  # the timeline says it once, not every round
            until = f"tried again from {fmt_ist(step.retry_at)} until sent"
            await self._note("sms_failed", sms, f"{step.reason}; {until}")
