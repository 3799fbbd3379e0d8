"""`ComplaintWorkflow`: one durable workflow per complaint or suggestion.

The promise: every open case always has a next deadline, and when it passes the case moves by
itself — report deadline missed → weekly review → (fails again) → Sidhi Baat. Officers,
telecallers, citizens and reviews act through updates (validated before anything is written);
the workflow itself only decides and calls activities for every effect (SMS, read model).

    registered ─ack SMS─> awaiting_report ─report─> awaiting_callback ─satisfied─> closed
                              │   ▲  (transfer: new officer)      │ not satisfied /
                   deadline   │   │ directive                     │ unreachable x N
                              ▼   │                               ▼
                        weekly_review ──fails again──> sidhi_baat (monthly, last Tuesday)

This file is the lifecycle. Beside it: the rules it asks (`workflows.rules`, pure: when, what
next, why an action is refused), the read-model projection (`workflows.projection`, pure), the
SMS outbox (`workflows.outbox`) and the verification calls made by machine (`workflows.caller`),
each a coroutine of the case outside its lock. Changing what a running case does: see
docs/versioning.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.case import CaseActivities
    from schemas.attachments import AttachmentEvent
    from schemas.calendar import SessionKind, fmt_ist, fmt_ist_date
    from schemas.enums import (
        ClosureReason,
        ComplaintKind,
        ComplaintStatus,
        RecipientKind,
        on_agenda,
    )
    from schemas.escalation import Ladder, Rung
    from schemas.refusals import Refused
    from schemas.review import RollOverRequest
    from schemas.voice import IvrOutcome, IvrState
    from schemas.workflow import (
        ActionResult,
        CallbackOutcome,
        CallbackResult,
        ClosureRating,
        ComplaintState,
        ComplaintWorkflowInput,
        ComplaintWorkflowResult,
        DecisionKind,
        DeliveryReceipt,
        DepartmentReport,
        InterimReply,
        MarkUnsentInput,
        OfficerAssignment,
        QueuedSms,
        Reopening,
        RepeatContact,
        ReportOutcome,
        ReviewDecision,
        ReviewRequest,
        RouteInput,
        SmsTemplate,
        Withdrawal,
    )
    from workflows import ivr as ivr_rules
    from workflows import projection, rules
    from workflows.caller import IvrCaller
    from workflows.outbox import Outbox
    from workflows.retry import DB_RETRY, DB_TIMEOUT
    from workflows.rules import Wake

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


class CaseRejected(Refused):
    """An action the case is not in a state to accept (the API answers 409): a refusal of
    `schemas.refusals` by key (the API words it in Hindi too)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, kind="CaseRejected", **params)


@workflow.defn
class ComplaintWorkflow:
    """One complaint or suggestion, from registration to closure (and a possible reopening)."""

    @workflow.init
    def __init__(self, input: ComplaintWorkflowInput) -> None:
        self._input = input
        self._policy = input.policy
        self._state = input.state.model_copy() if input.state else ComplaintState()
        self._lock = asyncio.Lock()
        # Bumped on every transition: waits wake when the case changed under them.
        self._version = 0
        self._calendar = self._policy.working_calendar()
        # The case's ladder; a state carried over without a rung gets the one its stored
        # escalation level names.
        self._ladder = rules.case_ladder(input.ladder, self._policy)
        if self._state.rung is None:
            self._state.rung = rules.rung_of(self._state, self._ladder).code
        # The case's SMS outbox: transitions queue their messages, its coroutine sends them.
        self._outbox = Outbox(
            self._state,
            self._policy,
            registration_number=input.registration_number,
            urgent=input.urgent,
            task_queue=input.sms_task_queue,
            note=self._note_sms,
            mark_unsent=self._mark_unsent,
        )
        # The verification calls made by machine: placed by its coroutine, outside the lock.
        self._caller = IvrCaller(
            self._state,
            self._policy,
            self._lock,
            registration_number=input.registration_number,
            task_queue=input.sms_task_queue,
            version=lambda: self._version,
            record=self._record,
        )

    # ---- run ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: ComplaintWorkflowInput) -> ComplaintWorkflowResult:
        state = self._state
        caller = asyncio.create_task(self._caller.run())
        drainer = asyncio.create_task(self._outbox.drain())
        if state.status is ComplaintStatus.REGISTERED:
            async with self._lock:
                await self._register_and_forward()

        while state.status is not ComplaintStatus.WITHDRAWN:
            if self._history_is_long():
                await workflow.wait_condition(lambda: not self._lock.locked())
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._outbox.pause()
                state.continued += 1
                workflow.continue_as_new(input.model_copy(update={"state": state}))

            wake_at, on_wake = self._next_wake()
            if wake_at is None:
                break
            version = self._version
            if await self._changed_before(wake_at):
                continue
            async with self._lock:
                if self._version != version:
                    continue  # an update moved the case while we waited for the lock
                if on_wake is None:
                    break  # the reopen window of a closed case has ended
                await on_wake()

        await workflow.wait_condition(workflow.all_handlers_finished)
        # Owed messages still go out (closed, withdrawn...): within the redelivery window.
        await workflow.wait_condition(lambda: not state.outbox)
        drainer.cancel()
        caller.cancel()
        return ComplaintWorkflowResult(
            registration_number=input.registration_number,
            status=state.status,
            closure_reason=state.closure_reason,
        )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._input.max_history_events
        )

    async def _changed_before(self, moment: datetime) -> bool:
        """Wait until `moment` or until the case changes, whichever comes first."""
        version = self._version
        remaining = (moment - workflow.now()).total_seconds()
        if remaining <= 0:
            return False
        try:
            await workflow.wait_condition(lambda: self._version != version, timeout=remaining)
        except TimeoutError:
            return False
        return True

    def _next_wake(self) -> tuple[datetime | None, Callable[[], Awaitable[None]] | None]:
        """The next moment this case must move by itself, and what it does then (the rule:
        `rules.next_wake`; here, the handler for it)."""
        wake = rules.next_wake(
            self._state,
            self._policy,
            workflow.now(),
            ladder=self._ladder,
        )
        if wake is None:
            return None, None
        moment, kind = wake
        handlers: dict[Wake, Callable[[], Awaitable[None]] | None] = {
            Wake.REMIND_OFFICER: self._remind_officer,
            Wake.REPORT_DEADLINE_MISSED: self._report_deadline_missed,
            Wake.CALLBACK_OVERDUE: self._callback_overdue,
            Wake.ROLL_OVER: self._roll_over,
            Wake.REOPEN_WINDOW_ENDS: None,
        }
        return moment, handlers[kind]

    # ---- stages ---------------------------------------------------------------------------

    async def _record_registration(self) -> None:
        """ "registered", credited to whoever took it in (a telecaller, a portal) for the
        citizen, through the case's channel (the channel itself when no one is named)."""
        inp = self._input
        await self._record(
            "registered",
            actor=inp.registered_by or f"channel:{inp.channel.value}",
            note=None,
            channel=inp.channel.value,
            for_citizen=inp.registered_by is not None,
        )

    async def _register_and_forward(self) -> None:
        """Record the registration and forward the case at once; the officer's SMS is queued
        first, then the citizen's acknowledgement (with the registration number), then the
        citizen's "forwarded" — none of them is waited for."""
        inp, state = self._input, self._state
        await self._record_registration()
        officer = await self._route(inp.district, inp.department)
        note = "urgent: sent directly to the department's officers" if inp.urgent else None
        state.promise_at = self._report_due(inp.registered_at)
        await self._assign(officer, event="forwarded", actor="system", note=note, acknowledge=True)
        state.acknowledged = True

    async def _route(self, district: str, department: str | None) -> OfficerAssignment:
        return await self._read_model(
            CaseActivities.route_complaint,
            RouteInput(
                registration_number=self._input.registration_number,
                district=district,
                department=department,
                urgent=self._input.urgent,
            ),
        )

    async def _read_model(
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

    async def _assign(
        self,
        officer: OfficerAssignment,
        *,
        event: str,
        actor: str,
        note: str | None,
        deadline: datetime | None = None,
        citizen_sms: SmsTemplate = SmsTemplate.FORWARDED,
        acknowledge: bool = False,
        channel: str | None = None,
        for_citizen: bool = False,
        notify_officer: bool = True,
    ) -> None:
        """Put the case with `officer`, awaiting a report by `deadline` (policy default).
        With `acknowledge`, the citizen's acknowledgement is queued after the officer's SMS;
        without `notify_officer` the officer (who already has the case) gets none."""
        state, now = self._state, workflow.now()
        state.assignments += 1
        state.officer = officer
        state.status = ComplaintStatus.AWAITING_REPORT
        state.report_window_start = now
        state.reminders_sent = 0
        state.review = None
        state.next_deadline = deadline or self._report_due(now)
        if officer.gap:
            note = f"{note + '; ' if note else ''}{officer.gap}"
        await self._record(event, actor=actor, note=note, channel=channel, for_citizen=for_citizen)
        due = fmt_ist(state.next_deadline)
        officer_sms = (
            SmsTemplate.OFFICER_DIRECTIVE
            if citizen_sms is SmsTemplate.DIRECTIVE
            else SmsTemplate.OFFICER_URGENT
            if self._input.urgent
            else SmsTemplate.OFFICER_ASSIGNED
        )
        if notify_officer:
            self._outbox.owe(
                officer_sms, RecipientKind.OFFICER, {"due": due}, assignment_bound=True
            )
        if acknowledge:
            self._outbox.owe(SmsTemplate.ACKNOWLEDGEMENT, RecipientKind.CITIZEN, {})
        # "Forwarded to X" means nothing once the case has moved on; a directive or a
        # reopening is news the citizen gets even late.
        self._outbox.owe(
            citizen_sms,
            RecipientKind.CITIZEN,
            {"due": due},
            assignment_bound=citizen_sms
            in (SmsTemplate.FORWARDED, SmsTemplate.SUGGESTION_UNDER_CONSIDERATION),
        )

    async def _remind_officer(self) -> None:
        state = self._state
        state.reminders_sent += 1
        await self._record(
            "officer_reminded",
            actor="timer",
            note=f"reminder {state.reminders_sent}: report due {fmt_ist(state.next_deadline)}",
        )
        # Where the case goes if the report is late: the next rung's forum on the case's ladder
        # (the weekly review on the seed's, the District Collector's review on the DC ladder).
        upper = self._ladder.next_rung(rules.rung_of(state, self._ladder).code).forum
        forum = str(upper.session_kind) if upper else str(SessionKind.WEEKLY_REVIEW)
        self._outbox.owe(
            SmsTemplate.OFFICER_REMINDER,
            RecipientKind.OFFICER,
            {"due": fmt_ist(state.next_deadline), "forum": forum},
            assignment_bound=True,
            valid_until=state.next_deadline,
        )

    async def _report_deadline_missed(self) -> None:
        await self._escalate(reason="report deadline missed", actor="timer")

    async def _callback_overdue(self) -> None:
        await self._escalate(reason="verification call not made in time", actor="timer")

    async def _escalate(self, *, reason: str, actor: str) -> None:
        """Up one rung of the case's ladder: to the next rung's forum (`_climb`)."""
        await self._climb(self._ladder, reason=reason, actor=actor)

    async def _climb(self, ladder: Ladder, *, reason: str, actor: str) -> None:
        """To the next rung's forum: its next sitting (the district's own where each district
        holds one), the citizen told the forum and the real date; a case bound for a forum
        prepared at a lower one (Sidhi Baat, at the weekly review) is told both dates."""
        state = self._state
        rung = ladder.next_rung(rules.rung_of(state, ladder).code)
        state.rung = rung.code
        state.escalation_level = rung.level
        state.rollovers = 0
        self._sit(rung)
        assert state.review and rung.forum
        prepared_at = self._prepared_before(ladder, rung, state.review.starts_at)
        note = f"{reason}; on the agenda of {fmt_ist(state.review.starts_at)}"
        if prepared_at is not None:
            note += f", prepared at the {prepared_at[0].code} of {fmt_ist(prepared_at[1])}"
        await self._record(f"escalated_to_{rung.forum.session_kind}", actor=actor, note=note)
        # The two-date text names Sidhi Baat and the weekly review: another ladder's prepared
        # forum is told by the one-forum text (its forum and date).
        if prepared_at is not None and rung.forum.session_kind == SessionKind.SIDHI_BAAT:
            self._outbox.owe(
                SmsTemplate.ESCALATED_SIDHI_BAAT,
                RecipientKind.CITIZEN,
                {"date": fmt_ist(state.review.starts_at), "prep": fmt_ist(prepared_at[1])},
            )
            return
        self._outbox.owe(
            SmsTemplate.ESCALATED,
            RecipientKind.CITIZEN,
            {"forum": str(rung.forum.session_kind), "date": fmt_ist(state.review.starts_at)},
        )

    def _district(self) -> str:
        """The case's district now (a transfer to another district's officer moves it)."""
        officer = self._state.officer
        return officer.district if officer and officer.district else self._input.district

    def _sit(self, rung: Rung) -> None:
        """On the agenda of the next sitting of `rung`'s forum."""
        state = self._state
        assert rung.forum
        state.review = rules.rung_slot(rung, workflow.now(), self._district(), self._calendar)
        state.status = rung.status
        state.next_deadline = rules.review_deadline(state.review, rung.forum.rollover_after)

    def _prepared_before(
        self, ladder: Ladder, rung: Rung, starts_at: datetime
    ) -> tuple[Rung, datetime] | None:
        """The lower forum's sitting that prepares a case bound for `rung`'s at `starts_at`,
        if the forum is prepared at one and a sitting falls before it."""
        assert rung.forum
        if rung.forum.prepared_at is None:
            return None
        lower = ladder.rung(rung.forum.prepared_at)
        slot = rules.rung_slot(lower, workflow.now(), self._district(), self._calendar)
        return (lower, slot.starts_at) if slot.starts_at < starts_at else None

    async def _roll_over(self, actor: str = "timer") -> None:
        """Undecided at its session: on to the next one, never dropped. `actor`: the reviewer
        who closed the session, or the timer."""
        state = self._state
        assert state.review
        previous = state.review
        state.rollovers += 1
        rung = rules.rung_of(state, self._ladder)
        if rules.rung_exhausted(rung, state.rollovers):
            await self._escalate(
                reason=f"undecided at {state.rollovers} sessions of the {rung.code}", actor=actor
            )
            return
        self._sit(rung)
        assert state.review
        await self._record(
            "review_rolled_over",
            actor=actor,
            note=f"undecided at {previous.session_id}; now {state.review.session_id}",
        )
        self._outbox.owe(
            SmsTemplate.ESCALATED,
            RecipientKind.CITIZEN,
            {"forum": str(previous.kind), "date": fmt_ist(state.review.starts_at)},
        )

    async def _close(self, reason: ClosureReason, *, actor: str, note: str | None) -> None:
        state = self._state
        state.status = ComplaintStatus.CLOSED
        state.closure_reason = reason
        state.closed_at = workflow.now()
        # A new closure: rated (and appealed) afresh.
        state.closures += 1
        state.rating = None
        state.rated_via = None
        state.next_deadline = None
        state.review = None
        await self._record(
            "closed", actor=actor, note=f"{reason.value}{': ' + note if note else ''}"
        )
        template = (
            SmsTemplate.SUGGESTION_ANSWERED
            if reason is ClosureReason.SUGGESTION_ANSWERED
            else SmsTemplate.CLOSED
        )
        self._outbox.owe(
            template,
            RecipientKind.CITIZEN,
            {"reopen_days": str(self._policy.reopen_window.days)},
        )

    # ---- department report (update) -------------------------------------------------------

    @workflow.update
    async def submit_report(self, report: DepartmentReport) -> ActionResult:
        """The nodal officer's report: resolved / partial / not actionable / transferred."""
        async with self._lock:
            self._require(ComplaintStatus.AWAITING_REPORT)
            state = self._state
            if report.outcome is ReportOutcome.TRANSFERRED:
                district = report.transfer_to_district or self._input.district
                department = report.transfer_to_department
                officer = await self._route(district, department)
                state.transfers += 1
                return await self._transfer(officer, report)

            state.last_report = report
            if self._input.kind is ComplaintKind.SUGGESTION:
                if report.outcome is ReportOutcome.UNDER_CONSIDERATION:
                    assert state.officer
                    await self._assign(
                        state.officer,
                        event="suggestion_under_consideration",
                        actor=report.submitted_by,
                        note=report.reply,
                        citizen_sms=SmsTemplate.SUGGESTION_UNDER_CONSIDERATION,
                        notify_officer=False,
                    )
                    return self._result("under consideration: a final answer is due next")
                await self._close(
                    ClosureReason.SUGGESTION_ANSWERED,
                    actor=report.submitted_by,
                    note=f"{report.outcome.value}: {report.reply}",
                )
                return self._result("suggestion answered; the citizen is informed")

            now = workflow.now()
            state.status = ComplaintStatus.AWAITING_CALLBACK
            state.callback_attempts = 0
            state.callback_due_at, state.next_deadline = rules.callback_schedule(now, self._policy)
            state.extension_requested_until = None  # the report answers it
            await self._record(
                "report_received",
                actor=report.submitted_by,
                note=f"{report.outcome.value}: {report.reply}",
            )
            self._outbox.owe(SmsTemplate.REPORT_RECEIVED, RecipientKind.CITIZEN, {})
            inp = self._input
            if ivr_rules.ivr_applies(self._policy, kind=inp.kind.value, category=inp.category):
                # Queued, not placed: the caller coroutine places it after this transition.
                state.ivr = IvrState(
                    round=state.event_seq, next_at=ivr_rules.calling_slot(now, self._policy)
                )
                return self._result("report recorded; the citizen will be called to verify")
            return self._result("report recorded; a telecaller will verify with the citizen")

    async def _transfer(self, officer: OfficerAssignment, report: DepartmentReport) -> ActionResult:
        """A transfer never resets the citizen's clock: the new officer's deadline is at most
        the promise plus the grace, and a case bounced too often, or past its promise, goes
        to the next review (the escalation level is never lowered)."""
        state, now = self._state, workflow.now()
        terms = rules.transfer_terms(
            now=now,
            usual_due=self._report_due(now),
            promise=self._promise(),
            transfers=state.transfers,
            policy=self._policy,
        )
        await self._assign(
            officer,
            event="transferred",
            actor=report.submitted_by,
            note=f"to {officer.name} (transfer {state.transfers}): {report.reply}",
            deadline=terms.deadline,
        )
        reason = terms.escalate_because
        if reason is None:
            return self._result(
                f"transferred; the new officer's report is due {fmt_ist(terms.deadline)}"
            )
        await self._escalate(reason=reason, actor="system")
        assert state.review
        return self._result(f"{reason}: on the agenda of {fmt_ist(state.review.starts_at)}")

    @submit_report.validator
    def _validate_report(self, report: DepartmentReport) -> None:
        self._require(ComplaintStatus.AWAITING_REPORT)
        # Validators do not run on replay: a rule made stricter leaves histories replaying.
        self._refuse(rules.report_refusal(report, kind=self._input.kind, policy=self._policy))

    # ---- callback verification (update) ---------------------------------------------------

    @workflow.update
    async def record_callback(self, result: CallbackResult) -> ActionResult:
        """The telecaller's verification call: satisfied, not satisfied, or unreachable."""
        async with self._lock:
            self._require(ComplaintStatus.AWAITING_CALLBACK)
            state, policy = self._state, self._policy
            match result.outcome:
                case CallbackOutcome.SATISFIED:
                    await self._close(
                        ClosureReason.RESOLVED_VERIFIED, actor=result.telecaller, note=result.remark
                    )
                    return self._result("closed: resolved and verified with the citizen")
                case CallbackOutcome.NOT_SATISFIED:
                    state.citizen_unsatisfied = True
                    state.citizen_remark = result.remark
                    await self._record(
                        "citizen_not_satisfied", actor=result.telecaller, note=result.remark
                    )
                    await self._escalate(reason="citizen not satisfied", actor=result.telecaller)
                    return self._result("citizen not satisfied: escalated")
                case CallbackOutcome.UNREACHABLE:
                    state.callback_attempts += 1
                    attempts = state.callback_attempts
                    await self._record(
                        "citizen_unreachable",
                        actor=result.telecaller,
                        note=f"attempt {attempts} of {policy.callback_attempts}",
                    )
                    step = rules.after_unreachable(attempts, workflow.now(), policy)
                    if step.next is rules.CallbackNext.RETRY:
                        state.callback_due_at, state.next_deadline = step.due_at, step.overdue_at
                        await self._record("callback_rescheduled", actor="system", note=None)
                        return self._result("citizen unreachable: the call is rescheduled")
                    if step.next is rules.CallbackNext.CLOSE:
                        await self._close(
                            ClosureReason.CITIZEN_UNREACHABLE,
                            actor="system",
                            note=f"unreachable on {attempts} attempts",
                        )
                        return self._result("closed after the last attempt; citizen informed")
                    await self._escalate(
                        reason=f"citizen unreachable on {attempts} attempts", actor="system"
                    )
                    return self._result("citizen unreachable on every attempt: escalated")
            raise CaseRejected(  # pragma: no cover (every outcome is handled above)
                "wrong_status",
                status=str(self._state.status),
                wanted=ComplaintStatus.AWAITING_CALLBACK.value,
            )

    @record_callback.validator
    def _validate_callback(self, result: CallbackResult) -> None:
        if self._input.kind is ComplaintKind.SUGGESTION:
            raise CaseRejected("no_callback_for_suggestion")
        self._require(ComplaintStatus.AWAITING_CALLBACK)
        state = self._state
        # A second tap is not a second attempt (the same Idempotency-Key answers the first
        # tap's result; another key is refused here).
        self._refuse(
            rules.callback_refusal(
                result,
                attempts=state.callback_attempts,
                due_at=state.callback_due_at,
                now=workflow.now(),
            )
        )

    # ---- review decision (update) ---------------------------------------------------------

    @workflow.update
    async def record_decision(self, decision: ReviewDecision) -> ActionResult:
        """A weekly review's or Sidhi Baat's directive (or closure) for this case."""
        async with self._lock:
            self._require_on_agenda()
            state = self._state
            state.directives_received += 1
            if decision.decision is DecisionKind.CLOSE:
                await self._close(
                    ClosureReason.CLOSED_AT_REVIEW, actor=decision.decided_by, note=decision.text
                )
                return self._result("closed at the review")
            officer = state.officer
            if decision.responsible_officer_id and (
                officer is None or officer.officer_id != decision.responsible_officer_id
            ):
                officer = await self._read_model(
                    CaseActivities.find_officer, decision.responsible_officer_id
                )
            assert officer
            deadline = decision.new_deadline or self._directive_due(workflow.now())
            # A new round: the citizen's verdict on the earlier report is answered, and the
            # directive's deadline is the new promise.
            state.citizen_unsatisfied = False
            state.promise_at = deadline
            # The review has answered any extension an interim reply asked for.
            state.extension_requested_until = None
            forum = str(state.review.kind) if state.review else "review"
            await self._assign(
                officer,
                event="directive_given",
                actor=decision.decided_by,
                note=f"{forum}: {decision.text}",
                deadline=deadline,
                citizen_sms=SmsTemplate.DIRECTIVE,
            )
            return self._result("directive recorded; the officer has a new deadline")

    @record_decision.validator
    def _validate_decision(self, decision: ReviewDecision) -> None:
        self._require_on_agenda()
        if decision.session_id:
            self._refuse(rules.session_refusal(self._state.review, decision.session_id))
        self._refuse(rules.decision_refusal(decision, now=workflow.now()))

    # ---- interim reply (update) -----------------------------------------------------------

    @workflow.update
    async def send_interim_reply(self, reply: InterimReply) -> ActionResult:
        """The officer, running late, tells the citizen why and by when. The case's deadline
        stays where it is (the citizen's clock still escalates it); an expected date past it
        is an extension request, on the next review's agenda, never the officer's own grant."""
        async with self._lock:
            # Again under the lock: a deadline or a report may have moved the case meanwhile.
            self._validate_interim(reply)
            state = self._state
            state.interim_replies += 1
            state.interim_reason = reply.reason
            state.interim_expected_by = reply.expected_by
            extension = rules.extension_request(reply.expected_by, state.next_deadline)
            state.extension_requested_until = extension
            expected = fmt_ist_date(reply.expected_by)
            note = f"{reply.reason}: {reply.text}; expected by {expected}"
            if extension is not None:
                note += f"; extension past {fmt_ist(state.next_deadline)} asked of the review"
            await self._record("interim_reply", actor=reply.submitted_by, note=note)
            self._outbox.owe(
                SmsTemplate.INTERIM_REPLY,
                RecipientKind.CITIZEN,
                {"reason": reply.reason, "date": fmt_ist(reply.expected_by)},
            )
            if extension is not None:
                return self._result(
                    f"interim reply sent; the deadline stays {fmt_ist(state.next_deadline)}: "
                    f"the extension to {expected} is for the next review to decide"
                )
            return self._result(f"interim reply sent; expected by {expected}")

    @send_interim_reply.validator
    def _validate_interim(self, reply: InterimReply) -> None:
        self._require(ComplaintStatus.AWAITING_REPORT)
        refused = rules.interim_refusal(
            reason=reply.reason,
            text=reply.text,
            expected_by=reply.expected_by,
            now=workflow.now(),
            allowed=self._policy.interim_reasons,
        )
        self._refuse(refused)

    # ---- rating and appeal (update) -------------------------------------------------------

    @workflow.update
    async def rate_closure(self, rating: ClosureRating) -> ActionResult:
        """The citizen rates the latest closure 1-5 (changeable within the appeal window). A
        1 or 2, or an explicit appeal, appeals it: the case goes one rung up its own ladder
        (a forum, not back to the same officer) with that forum's deadline, and the citizen
        is told; one appeal per closure."""
        async with self._lock:
            # Again under the lock: the window may have ended, or an appeal been recorded.
            self._validate_rating(rating)
            state = self._state
            changed = state.rating is not None
            state.rating = rating.score
            state.rated_via = rating.via.value
            staff = rating.recorded_by != "citizen"
            note = f"{rating.score}/5 ({rating.via.value}){'; changed' if changed else ''}"
            if rating.remark:
                note += f": {rating.remark}"
            actor = rating.recorded_by if staff else f"citizen ({rating.via.value})"
            await self._record(
                "closure_rated", actor=actor, note=note, channel=rating.via.value, for_citizen=staff
            )
            if not rules.appeal_asked(rating.score, rating.appeal):
                return self._result(f"rating {rating.score}/5 recorded")
            state.appeals += 1
            state.appealed_closure = state.closures
            state.citizen_unsatisfied = True
            state.citizen_remark = rating.remark or f"appeal: closure rated {rating.score}/5"
            await self._record(
                "appealed", actor=actor, note=note, channel=rating.via.value, for_citizen=staff
            )
            # No await between reopening and escalating: the case is never "closed" without
            # a closure moment, nor open without a forum, when the run loop looks at it.
            state.closure_reason = None
            state.closed_at = None
            await self._escalate(reason=f"appeal: closure rated {rating.score}/5", actor=actor)
            assert state.review
            return self._result(
                f"appeal recorded: on the agenda of {fmt_ist(state.review.starts_at)}"
            )

    @rate_closure.validator
    def _validate_rating(self, rating: ClosureRating) -> None:
        self._require(ComplaintStatus.CLOSED)
        state = self._state
        appeal = rules.appeal_asked(rating.score, rating.appeal)
        if appeal and self._input.kind is ComplaintKind.SUGGESTION:
            raise CaseRejected("no_appeal_for_suggestion")
        refused = rules.rating_refusal(
            closed_at=state.closed_at,
            now=workflow.now(),
            window=self._policy.appeal_window,
            appeal=appeal,
            closures=state.closures,
            appealed_closure=state.appealed_closure,
        )
        self._refuse(refused)

    # ---- citizen actions (updates) --------------------------------------------------------

    @workflow.update
    async def request_review(self, request: ReviewRequest) -> ActionResult:
        """The citizen asks for a review: honoured when overdue or the citizen was unsatisfied."""
        async with self._lock:
            self._require_open()
            state, now = self._state, workflow.now()
            state.review_requests += 1
            staff = request.requested_by != "citizen"
            await self._record(
                "review_requested",
                actor=request.requested_by if staff else f"citizen ({request.via})",
                note=request.note,
                channel=request.via,
                for_citizen=staff,
            )
            if on_agenda(state.status):
                assert state.review
                message = f"already on the agenda of {fmt_ist(state.review.starts_at)}"
                # The one SMS the request owes says where the case is, not an officer's
                # deadline (only its text differs from before: replay is unaffected).
                self._outbox.owe(
                    SmsTemplate.ESCALATED,
                    RecipientKind.CITIZEN,
                    {"forum": str(state.review.kind), "date": fmt_ist(state.review.starts_at)},
                )
                return self._result(message)
            else:
                granted = rules.review_request_granted(
                    now=now,
                    next_deadline=state.next_deadline,
                    promise=self._promise(),
                    citizen_unsatisfied=state.citizen_unsatisfied,
                )
                if granted:
                    await self._escalate(reason="citizen asked for a review", actor="citizen")
                    assert state.review
                    return self._result(f"review granted: {fmt_ist(state.review.starts_at)}")
                deadline = fmt_ist(state.next_deadline)
                message = f"not yet due for review; the current deadline is {deadline}"
            self._outbox.owe(
                SmsTemplate.REVIEW_REQUEST_ANSWER,
                RecipientKind.CITIZEN,
                {"due": fmt_ist(state.next_deadline)},
            )
            return self._result(message)

    @request_review.validator
    def _validate_review_request(self, request: ReviewRequest) -> None:
        self._require_open()

    @workflow.update
    async def withdraw(self, withdrawal: Withdrawal) -> ActionResult:
        """The citizen withdraws the case."""
        async with self._lock:
            self._require_open()
            state = self._state
            state.status = ComplaintStatus.WITHDRAWN
            state.next_deadline = None
            state.review = None
            await self._record(
                "withdrawn",
                actor=withdrawal.recorded_by,
                note=withdrawal.reason,
                channel="api",
                for_citizen=withdrawal.recorded_by != "citizen",
            )
            self._outbox.owe(SmsTemplate.WITHDRAWN, RecipientKind.CITIZEN, {})
            return self._result("withdrawn")

    @withdraw.validator
    def _validate_withdrawal(self, withdrawal: Withdrawal) -> None:
        self._require_open()

    @workflow.update
    async def reopen(self, reopening: Reopening) -> ActionResult:
        """The citizen reopens a closed case within the reopen window: back to the officer."""
        async with self._lock:
            self._validate_reopen(reopening)
            state = self._state
            state.reopenings += 1
            state.citizen_unsatisfied = True
            state.citizen_remark = reopening.reason
            state.closure_reason = None
            state.closed_at = None
            state.promise_at = self._report_due(workflow.now())
            assert state.officer
            await self._assign(
                state.officer,
                event="reopened",
                actor=reopening.recorded_by,
                note=reopening.reason,
                citizen_sms=SmsTemplate.REOPENED,
                channel="api",
                for_citizen=reopening.recorded_by != "citizen",
            )
            return self._result("reopened: back with the nodal officer")

    @reopen.validator
    def _validate_reopen(self, reopening: Reopening) -> None:
        self._require(ComplaintStatus.CLOSED)
        assert self._state.closed_at
        window = self._policy.reopen_window
        self._refuse(rules.reopen_refusal(self._state.closed_at, workflow.now(), window))

    @workflow.update
    async def record_contact(self, contact: RepeatContact) -> ActionResult:
        """The citizen called again about this open case: the call is linked here (timeline,
        repeat count) and the citizen told this case's number again, instead of a second case
        and a second workflow. A retried link (the same update ID) is applied once."""
        async with self._lock:
            self._require_open()
            self._state.repeat_contacts += 1
            await self._record(
                "repeat_contact",
                actor=contact.recorded_by,
                note=contact.note,
                channel=contact.via,
                for_citizen=contact.recorded_by != "citizen",
            )
            self._outbox.owe(SmsTemplate.REPEAT_CONTACT, RecipientKind.CITIZEN, {})
            return self._result(f"repeat contact {self._state.repeat_contacts} recorded")

    @record_contact.validator
    def _validate_contact(self, contact: RepeatContact) -> None:
        self._require_open()

    # ---- review session hooks -------------------------------------------------------------

    @workflow.update
    async def roll_over_from_session(self, request: RollOverRequest) -> ActionResult:
        """The session closed without deciding this case: on to the next session of the same
        kind now, instead of at the rollover timer (which then no longer applies)."""
        async with self._lock:
            # Again under the lock: the rollover timer may have moved the case meanwhile.
            self._validate_session_rollover(request)
            await self._roll_over(actor=request.closed_by or "timer")
            assert self._state.review
            return self._result(f"undecided at {request.session_id}; rolled over")

    @roll_over_from_session.validator
    def _validate_session_rollover(self, request: RollOverRequest) -> None:
        self._require_on_agenda()
        self._refuse(rules.session_refusal(self._state.review, request.session_id))

    # ---- the verification call made by machine --------------------------------------------

    @workflow.signal
    async def ivr_result(self, outcome: IvrOutcome) -> None:
        """An IVR call's final result (the voice status callback, once per CallSid)."""
        await self._caller.call_ended(outcome)

    # ---- signals: delivery receipts -------------------------------------------------------

    @workflow.signal
    async def delivery_receipt(self, receipt: DeliveryReceipt) -> None:
        """An SMS's final delivery status, into the timeline (the read model's message row is
        already updated by the webhook; only receipts that changed it are signalled)."""
        async with self._lock:
            await self._record(
                f"sms_{receipt.status.value}",
                actor="sms",
                note=f"{receipt.template} to {receipt.recipient.value}"
                + (f": {receipt.error}" if receipt.error else ""),
            )

    @workflow.signal
    async def attachment_event(self, event: AttachmentEvent) -> None:
        """A file of the case added, made public or private, removed, or an Open311
        media_url fetched or refused: into the timeline by reference (never its name or
        bytes). Signalled by the API (api/attachment_events.py) and MediaFetchWorkflow."""
        # A file sent with the registration (the desk) may be signalled with the first task:
        # "registered" stays the timeline's first entry.
        await workflow.wait_condition(lambda: self._state.event_seq > 0)
        async with self._lock:
            await self._record(event.event.value, actor=event.by, note=event.note)

    # ---- queries --------------------------------------------------------------------------

    @workflow.query
    def get_state(self) -> ComplaintState:
        """The live state of the case."""
        return self._state

    # ---- helpers --------------------------------------------------------------------------

    def _require(self, *statuses: ComplaintStatus) -> None:
        self._refuse(rules.status_refusal(self._state.status, *statuses))

    def _require_on_agenda(self) -> None:
        self._refuse(rules.agenda_refusal(self._state.status, self._ladder))

    def _require_open(self) -> None:
        self._refuse(rules.open_refusal(self._state.status))

    @staticmethod
    def _refuse(refusal: rules.Refusal | None) -> None:
        """Raise the case's refusal (`rules`' key and values), if any."""
        if refusal is not None:
            raise CaseRejected(refusal[0], **refusal[1])

    def _result(self, message: str) -> ActionResult:
        state = self._state
        return ActionResult(
            registration_number=self._input.registration_number,
            status=state.status,
            escalation_level=state.escalation_level,
            next_deadline=state.next_deadline,
            review=state.review,
            message=message,
        )

    async def _record(
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
        self._version += 1
        workflow.upsert_search_attributes(projection.search_attributes(state))
        await self._read_model(
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

    def _report_due(self, start: datetime) -> datetime:
        """When the report on work arriving at `start` is due (`rules.report_due`)."""
        return rules.report_due(
            start,
            self._policy,
            suggestion=self._input.kind is ComplaintKind.SUGGESTION,
            urgent=self._input.urgent,
        )

    def _directive_due(self, start: datetime) -> datetime:
        """A directive's deadline when the review gave none (`rules.directive_due`)."""
        return rules.directive_due(start, self._policy)

    def _window(self) -> timedelta:
        return self._policy.report_deadline(
            suggestion=self._input.kind is ComplaintKind.SUGGESTION, urgent=self._input.urgent
        )

    def _promise(self) -> datetime:
        """When the case was promised to be dealt with (set at its forwarding, each directive
        and each reopening; a state carried without one: registration plus the window)."""
        state = self._state
        if state.promise_at is not None:
            return state.promise_at
        return self._input.registered_at + self._window()

    async def _mark_unsent(self, key: str, reason: str) -> None:
        """The read model's mark on a message the gateway did not accept in a round."""
        await self._read_model(CaseActivities.mark_unsent, MarkUnsentInput(key=key, reason=reason))

    async def _note_sms(self, event: str, sms: QueuedSms, note: str) -> None:
        async with self._lock:
            await self._record(
                event, actor="sms", note=f"{sms.template.value} to {sms.recipient.value}: {note}"
            )
