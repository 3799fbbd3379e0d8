"""`ComplaintWorkflow`: one durable workflow per complaint or suggestion, from registration to
closure (and a possible reopening); every open case always has a next deadline, and when it
passes the case moves by itself (docs/lifecycle.md).

This file is the lifecycle: its stages and its handlers, each a thin step under the case's lock.
Beside it: the rules it asks (`workflows.rules`, pure), the journal of its transitions
(`workflows.journal`, the projection `workflows.projection` pure), the climb up its ladder
(`workflows.escalation`), what passes between it and people besides its stages
(`workflows.correspondence`), the SMS outbox (`workflows.outbox`) and the verification calls
made by machine (`workflows.caller`), the last two coroutines of the case outside its lock.
Changing what a running case does: see docs/versioning.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.attachments import AttachmentEvent
    from schemas.calendar import fmt_ist
    from schemas.enums import (
        ClosureReason,
        ComplaintKind,
        ComplaintStatus,
        RecipientKind,
        on_agenda,
    )
    from schemas.refusals import CaseRejected
    from schemas.review import RollOverRequest
    from schemas.voice import IvrOutcome
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
        OfficerAssignment,
        Reopening,
        RepeatContact,
        ReportOutcome,
        ReviewDecision,
        ReviewRequest,
        SmsTemplate,
        Withdrawal,
    )
    from workflows import rules
    from workflows.caller import IvrCaller
    from workflows.correspondence import Correspondence
    from workflows.escalation import Escalation
    from workflows.journal import Journal
    from workflows.outbox import Outbox
    from workflows.rules import Wake


@workflow.defn
class ComplaintWorkflow:
    """One complaint or suggestion, from registration to closure (and a possible reopening)."""

    @workflow.init
    def __init__(self, input: ComplaintWorkflowInput) -> None:
        self._input = input
        self._policy = policy = input.policy
        self._state = state = input.state.model_copy() if input.state else ComplaintState()
        self._lock = asyncio.Lock()
        # The case's pace: a suggestion's or an urgent case's report windows.
        self._pace = {"suggestion": input.kind is ComplaintKind.SUGGESTION, "urgent": input.urgent}
        self._journal = journal = Journal(state, input, self._lock)
        self._record, self._result = journal.record, journal.result
        # The case's ladder; a state carried over without a rung gets the one its stored
        # escalation level names.
        ladder = rules.case_ladder(input.ladder, policy)
        if state.rung is None:
            state.rung = rules.rung_of(state, ladder).code
        self._ladder = ladder
        # The case's SMS outbox: transitions queue their messages, its coroutine sends them.
        self._outbox = Outbox(
            state,
            policy,
            registration_number=input.registration_number,
            urgent=input.urgent,
            task_queue=input.sms_task_queue,
            note=journal.note_sms,
            mark_unsent=journal.mark_unsent,
        )
        # The climb up the ladder, and what passes between the case and people besides its
        # stages (both under the lock, like every transition).
        calendar = policy.working_calendar()
        self._escalation = Escalation(
            state, ladder, calendar, input.district, self._outbox, journal
        )
        self._escalate = self._escalation.climb
        self._talk = Correspondence(
            state, policy, input.kind, journal, self._outbox, self._escalate
        )
        # The verification calls made by machine: placed by its coroutine, outside the lock.
        self._caller = IvrCaller(
            state,
            policy,
            self._lock,
            registration_number=input.registration_number,
            task_queue=input.sms_task_queue,
            version=lambda: journal.version,
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
            version = self._journal.version
            if await self._journal.changed_before(wake_at):
                continue
            async with self._lock:
                if self._journal.version != version:
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

    def _next_wake(self) -> tuple[datetime | None, Callable[[], Awaitable[None]] | None]:
        """The next moment this case must move by itself (the rule: `rules.next_wake`, then
        `rules.spread_moment`: the case's own offset within `Policy.timer_spread`), and what
        it does then."""
        wake = rules.next_wake(self._state, self._policy, workflow.now(), ladder=self._ladder)
        if wake is None:
            return None, None
        moment, kind = wake
        moment = rules.spread_moment(
            moment,
            kind,
            workflow_id=workflow.info().workflow_id,
            spread=self._policy.timer_spread,
            deadline=self._state.next_deadline,
        )
        handlers: dict[Wake, Callable[[], Awaitable[None]] | None] = {
            Wake.REMIND_OFFICER: self._escalation.remind_officer,
            Wake.REPORT_DEADLINE_MISSED: partial(
                self._escalate, reason="report deadline missed", actor="timer"
            ),
            Wake.CALLBACK_OVERDUE: partial(
                self._escalate, reason="verification call not made in time", actor="timer"
            ),
            Wake.ROLL_OVER: self._escalation.roll_over,
            Wake.REOPEN_WINDOW_ENDS: None,
        }
        return moment, handlers[kind]

    # ---- stages ---------------------------------------------------------------------------

    async def _register_and_forward(self) -> None:
        """Record the registration and forward the case at once; the officer's SMS is queued
        first, then the citizen's acknowledgement (with the registration number), then the
        citizen's "forwarded" — none of them is waited for."""
        inp, state = self._input, self._state
        await self._journal.record_registration()
        officer = await self._journal.route(inp.district, inp.department)
        note = "urgent: sent directly to the department's officers" if inp.urgent else None
        state.promise_at = self._report_due(inp.registered_at)
        await self._assign(officer, event="forwarded", actor="system", note=note, acknowledge=True)
        state.acknowledged = True

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
        self._outbox.owe_assignment(citizen_sms, due, ack=acknowledge, officer=notify_officer)

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
        self._outbox.owe_closure(suggestion_answered=reason is ClosureReason.SUGGESTION_ANSWERED)

    # ---- department report (update) -------------------------------------------------------

    @workflow.update
    async def submit_report(self, report: DepartmentReport) -> ActionResult:
        """The nodal officer's report: resolved / partial / not actionable / transferred."""
        async with self._lock:
            self._require(ComplaintStatus.AWAITING_REPORT)
            state = self._state
            if report.outcome is ReportOutcome.TRANSFERRED:
                return await self._transfer(report)
            state.last_report = report
            if self._input.kind is ComplaintKind.SUGGESTION:
                return await self._answer_suggestion(report)
            now = workflow.now()
            state.status = ComplaintStatus.AWAITING_CALLBACK
            state.callback_attempts = 0
            state.callback_due_at, state.next_deadline = rules.callback_schedule(now, self._policy)
            state.extension_requested_until = None  # the report answers it
            note = f"{report.outcome.value}: {report.reply}"
            await self._record("report_received", actor=report.submitted_by, note=note)
            self._outbox.owe(SmsTemplate.REPORT_RECEIVED, RecipientKind.CITIZEN, {})
            inp = self._input
            if self._caller.owe(kind=inp.kind.value, category=inp.category, now=now):
                return self._result("report recorded; the citizen will be called to verify")
            return self._result("report recorded; a telecaller will verify with the citizen")

    async def _answer_suggestion(self, report: DepartmentReport) -> ActionResult:
        """A suggestion's report: under consideration (a final answer due next), or its answer
        (the case closes)."""
        officer = self._state.officer
        if report.outcome is ReportOutcome.UNDER_CONSIDERATION:
            assert officer
            await self._assign(
                officer,
                event="suggestion_under_consideration",
                actor=report.submitted_by,
                note=report.reply,
                citizen_sms=SmsTemplate.SUGGESTION_UNDER_CONSIDERATION,
                notify_officer=False,
            )
            return self._result("under consideration: a final answer is due next")
        note = f"{report.outcome.value}: {report.reply}"
        await self._close(ClosureReason.SUGGESTION_ANSWERED, actor=report.submitted_by, note=note)
        return self._result("suggestion answered; the citizen is informed")

    async def _transfer(self, report: DepartmentReport) -> ActionResult:
        """To the officer the report names. A transfer never resets the citizen's clock: the
        new officer's deadline is at most the promise plus the grace, and a case bounced too
        often, or past its promise, goes to the next review (the escalation level is never
        lowered)."""
        district = report.transfer_to_district or self._input.district
        officer = await self._journal.route(district, report.transfer_to_department)
        state, now = self._state, workflow.now()
        state.transfers += 1
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
        rules.refuse(rules.report_refusal(report, kind=self._input.kind, policy=self._policy))

    # ---- callback verification (update) ---------------------------------------------------

    @workflow.update
    async def record_callback(self, result: CallbackResult) -> ActionResult:
        """The telecaller's verification call: satisfied, not satisfied, or unreachable."""
        async with self._lock:
            self._require(ComplaintStatus.AWAITING_CALLBACK)
            actor = result.telecaller
            if result.outcome is CallbackOutcome.UNREACHABLE:
                return await self._unreachable(actor)
            if result.outcome is CallbackOutcome.SATISFIED:
                await self._close(ClosureReason.RESOLVED_VERIFIED, actor=actor, note=result.remark)
                return self._result("closed: resolved and verified with the citizen")
            state = self._state
            state.citizen_unsatisfied = True
            state.citizen_remark = result.remark
            await self._record("citizen_not_satisfied", actor=actor, note=result.remark)
            await self._escalate(reason="citizen not satisfied", actor=actor)
            return self._result("citizen not satisfied: escalated")

    async def _unreachable(self, telecaller: str) -> ActionResult:
        """The citizen not reached on this attempt: called again, or, after the last, the case
        closed or escalated (`rules.after_unreachable`)."""
        state, policy = self._state, self._policy
        state.callback_attempts += 1
        attempts = state.callback_attempts
        note = f"attempt {attempts} of {policy.callback_attempts}"
        await self._record("citizen_unreachable", actor=telecaller, note=note)
        step = rules.after_unreachable(attempts, workflow.now(), policy)
        if step.next is rules.CallbackNext.RETRY:
            state.callback_due_at, state.next_deadline = step.due_at, step.overdue_at
            await self._record("callback_rescheduled", actor="system", note=None)
            return self._result("citizen unreachable: the call is rescheduled")
        if step.next is rules.CallbackNext.CLOSE:
            note = f"unreachable on {attempts} attempts"
            await self._close(ClosureReason.CITIZEN_UNREACHABLE, actor="system", note=note)
            return self._result("closed after the last attempt; citizen informed")
        reason = f"citizen unreachable on {attempts} attempts"
        await self._escalate(reason=reason, actor="system")
        return self._result("citizen unreachable on every attempt: escalated")

    @record_callback.validator
    def _validate_callback(self, result: CallbackResult) -> None:
        if self._input.kind is ComplaintKind.SUGGESTION:
            raise CaseRejected("no_callback_for_suggestion")
        self._require(ComplaintStatus.AWAITING_CALLBACK)
        state = self._state
        # A second tap is not a second attempt (the same Idempotency-Key answers the first
        # tap's result; another key is refused here).
        rules.refuse(
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
            officer = await self._journal.officer(decision.responsible_officer_id)
            deadline = decision.new_deadline or rules.directive_due(workflow.now(), self._policy)
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
                notify_officer=not decision.officer_told_by_session,
            )
            return self._result("directive recorded; the officer has a new deadline")

    @record_decision.validator
    def _validate_decision(self, decision: ReviewDecision) -> None:
        self._require_on_agenda()
        if decision.session_id:
            rules.refuse(rules.session_refusal(self._state.review, decision.session_id))
        rules.refuse(rules.decision_refusal(decision, now=workflow.now()))

    # ---- interim reply and rating (updates): workflows.correspondence ----------------------

    @workflow.update
    async def send_interim_reply(self, reply: InterimReply) -> ActionResult:
        """The officer, running late, tells the citizen why and by when; the deadline stays."""
        async with self._lock:
            # Again under the lock: a deadline or a report may have moved the case meanwhile.
            self._talk.check_interim(reply)
            return self._result(await self._talk.interim(reply))

    @send_interim_reply.validator
    def _validate_interim(self, reply: InterimReply) -> None:
        self._talk.check_interim(reply)

    @workflow.update
    async def rate_closure(self, rating: ClosureRating) -> ActionResult:
        """The citizen rates the latest closure 1-5; a 1 or 2, or an appeal, escalates it."""
        async with self._lock:
            # Again under the lock: the window may have ended, or an appeal been recorded.
            self._talk.check_rating(rating)
            return self._result(await self._talk.rate(rating))

    @rate_closure.validator
    def _validate_rating(self, rating: ClosureRating) -> None:
        self._talk.check_rating(rating)

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
                # The one SMS the request owes says where the case is, not an officer's
                # deadline.
                self._escalation.tell_agenda(str(state.review.kind))
                return self._result(f"already on the agenda of {fmt_ist(state.review.starts_at)}")
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
            due = fmt_ist(state.next_deadline)
            self._outbox.owe(SmsTemplate.REVIEW_REQUEST_ANSWER, RecipientKind.CITIZEN, {"due": due})
            return self._result(f"not yet due for review; the current deadline is {due}")

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
        rules.refuse(rules.reopen_refusal(self._state.closed_at, workflow.now(), window))

    @workflow.update
    async def record_contact(self, contact: RepeatContact) -> ActionResult:
        """The citizen called again about this open case: linked here, not a second case. A
        retried link (the same update ID) is applied once."""
        async with self._lock:
            self._require_open()
            return self._result(await self._talk.repeat_contact(contact))

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
            await self._escalation.roll_over(actor=request.closed_by or "timer")
            assert self._state.review
            return self._result(f"undecided at {request.session_id}; rolled over")

    @roll_over_from_session.validator
    def _validate_session_rollover(self, request: RollOverRequest) -> None:
        self._require_on_agenda()
        rules.refuse(rules.session_refusal(self._state.review, request.session_id))

    # ---- the verification call made by machine --------------------------------------------

    @workflow.signal
    async def ivr_result(self, outcome: IvrOutcome) -> None:
        """An IVR call's final result (the voice status callback, once per CallSid)."""
        await self._caller.call_ended(outcome)

    # ---- signals: delivery receipts and files ---------------------------------------------

    @workflow.signal
    async def delivery_receipt(self, receipt: DeliveryReceipt) -> None:
        """An SMS's final delivery status, into the timeline."""
        async with self._lock:
            await self._talk.receipt(receipt)

    @workflow.signal
    async def attachment_event(self, event: AttachmentEvent) -> None:
        """A file of the case added, published, hidden, removed, fetched or refused."""
        # A file sent with the registration (the desk) may be signalled with the first task:
        # "registered" stays the timeline's first entry.
        await workflow.wait_condition(lambda: self._state.event_seq > 0)
        async with self._lock:
            await self._talk.attachment(event)

    # ---- queries --------------------------------------------------------------------------

    @workflow.query
    def get_state(self) -> ComplaintState:
        """The live state of the case."""
        return self._state

    # ---- helpers --------------------------------------------------------------------------

    def _require(self, *statuses: ComplaintStatus) -> None:
        rules.refuse(rules.status_refusal(self._state.status, *statuses))

    def _require_on_agenda(self) -> None:
        rules.refuse(rules.agenda_refusal(self._state.status, self._ladder))

    def _require_open(self) -> None:
        rules.refuse(rules.open_refusal(self._state.status))

    def _report_due(self, start: datetime) -> datetime:
        """When the report on work arriving at `start` is due (`rules.report_due`)."""
        return rules.report_due(start, self._policy, **self._pace)

    def _promise(self) -> datetime:
        """When the case was promised to be dealt with (`rules.promise`)."""
        registered_at = self._input.registered_at
        return rules.promise(self._state.promise_at, registered_at, self._policy, **self._pace)
