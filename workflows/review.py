"""Review meetings: one `ReviewSessionWorkflow` per weekly review or Sidhi Baat session, and the
`ReviewPlannerWorkflow` that the two Schedules start to open sessions ahead of time.

A session's life:

    scheduled ──cutoff──> agenda_frozen ──close (reviewer, or the rollover moment)──> closed
       (cases join)      (notices sent;        (undecided cases roll over to the next session
                          decisions accepted)   of the same kind; minutes final)

Which cases belong to a session is decided by the complaint workflows themselves (each computes
its session with `schemas.calendar.next_session`, honouring the agenda cutoff); the session reads
them from the read model at the cutoff, so a later escalation simply belongs to a later session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.review import ReviewActivities
    from schemas.calendar import SessionKind, fmt_ist
    from schemas.escalation import JHARKHAND, Forum, session_id, upcoming_sittings, with_policy
    from schemas.policy import Policy
    from schemas.refusals import Refused
    from schemas.review import (
        AgendaSection,
        BatchInput,
        BulkDecisionRequest,
        BulkNoticeInput,
        BulkNoticePageInput,
        BulkProgress,
        CitizenInvitationInput,
        CloseSessionRequest,
        DecideCaseInput,
        DecisionRecord,
        DecisionRequest,
        DeferInput,
        FreezePageInput,
        NoticeFailedInput,
        NoticePage,
        NoticePageInput,
        NoticeRecipient,
        NoticeResult,
        OfficerNoticeInput,
        OpenBulkInput,
        PlannerInput,
        PlannerResult,
        ReviewSessionInput,
        SessionBatches,
        SessionCarry,
        SessionPhase,
        SessionRecordInput,
        SessionSummary,
        bulk_notice_key,
    )
    from schemas.workflow import DecisionKind
    from workflows.client_activities import CaseDeliveries
    from workflows.retry import DB_RETRY, DB_TIMEOUT

# A decision is awaited by the reviewer at the API: a few attempts, then an answer.
_DELIVERY_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=5)

# A notice keeps trying through an outage: back off to ten minutes, bounded by its window.
_NOTICE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=10))
# One delivery batch: its cases' updates, each within its own budget.
_BATCH_TIMEOUT = timedelta(minutes=15)
# A bulk directive tells each of its officers once (one SMS for all their cases), where the
# sessions that began before had every case tell its officer.
BULK_OFFICER_NOTICES = "bulk-officer-notices"


class SessionRejected(Refused):
    """An action the session is not in a state to accept (the API answers 409): a refusal
    of `schemas.refusals` by key (the API words it in Hindi too)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, kind="SessionRejected", **params)


def _rejection(err: ActivityError) -> SessionRejected:
    """A decision's failed delivery as the session's refusal: the case's own refusal passed
    on as it is (key and values), anything else as `other` with its message."""
    refused = Refused.of(err.cause) if err.cause else None
    if refused is not None:
        return SessionRejected(refused[0], **refused[1])
    cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
    return SessionRejected("other", reason=cause)


@workflow.defn
class ReviewSessionWorkflow:
    """One weekly review or Sidhi Baat session: agenda at the cutoff, notices, decisions, close.

    Batched: the agenda is the read model's rows (frozen page by page); notices, bulk
    decisions and rollovers go in bounded batches; the workflow keeps ids and counts and
    continues as new before Temporal's per-run limits."""

    @workflow.init
    def __init__(self, input: ReviewSessionInput) -> None:
        self._input = input
        self._phase = SessionPhase.SCHEDULED
        self._notices_sent = 0
        self._closed_by: str | None = None
        self._close_requested = False
        self._close_requested_by: str | None = None
        # Decisions and the close are serialised: a case is decided or rolled over, never both.
        self._lock = asyncio.Lock()
        self._batches = input.batches or SessionBatches()
        self._agenda_count = 0
        self._decided_count = 0
        self._rolled_over_count = 0
        self._notices_done = False
        self._notices_failed = 0
        self._bulks: list[str] = []
        # Bulk directives applied whose officers are still to be told, oldest first.
        self._bulk_notices: list[str] = []
        self._updates = 0
        self._notices_task: asyncio.Task[None] | None = None
        self._bulk_notices_task: asyncio.Task[None] | None = None
        carried = input.carried
        if carried is not None:
            self._phase = carried.phase
            self._notices_done = carried.notices_done
            self._notices_sent = carried.notices_sent
            self._notices_failed = carried.notices_failed
            self._close_requested_by = carried.close_requested_by
            self._close_requested = carried.close_requested_by is not None
            self._bulks = list(carried.bulks)
            self._bulk_notices = list(carried.bulk_notices)

    @workflow.run
    async def run(self, input: ReviewSessionInput) -> SessionSummary:
        """Freeze, notify, decide, close: each in bounded batches, continued as new before
        the run nears Temporal's limits; the agenda never enters the workflow."""
        close_at = input.starts_at + input.close_after
        if self._phase is SessionPhase.SCHEDULED:
            await self._record_phase()
            await self._sleep_until(input.cutoff_at)
            async with self._lock:
                await self._freeze_in_pages()
        if not self._notices_done and self._phase is not SessionPhase.CLOSED:
            # Beside the meeting: a gateway outage delays notices, never decisions.
            self._notices_task = asyncio.create_task(self._notify_in_batches())
        if self._bulk_notices:
            self._tell_bulk_officers()
        while self._phase is SessionPhase.AGENDA_FROZEN:
            if self._bulks:
                await self._apply_bulk_batch()
            elif self._close_requested or workflow.now() >= close_at:
                break
            elif not self._should_continue_as_new():
                try:
                    await workflow.wait_condition(
                        lambda: (
                            bool(self._bulks)
                            or self._close_requested
                            or self._should_continue_as_new()
                        ),
                        timeout=max(0.0, (close_at - workflow.now()).total_seconds()),
                    )
                except TimeoutError:
                    pass
            if self._should_continue_as_new():
                await self._continue_as_new()
        if self._phase is not SessionPhase.CLOSED:
            await self._close_in_batches(self._close_requested_by or "timer")
        if self._notices_task is not None:
            await self._notices_task
        if self._bulk_notices_task is not None:
            await self._bulk_notices_task
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._summary()

    async def _sleep_until(self, moment: datetime) -> None:
        remaining = (moment - workflow.now()).total_seconds()
        if remaining > 0:
            await workflow.sleep(remaining)

    # ---- stages ---------------------------------------------------------------------------

    async def _record_phase(self, phase: SessionPhase | None = None) -> None:
        """Record the session's phase (`phase`, then taken: a batched session's counts are
        read before its queries say it has moved)."""
        inp = self._input
        counts = await workflow.execute_activity_method(
            ReviewActivities.record_session,
            SessionRecordInput(
                session_id=inp.session_id,
                kind=inp.kind,
                starts_at=inp.starts_at,
                cutoff_at=inp.cutoff_at,
                workflow_id=workflow.info().workflow_id,
                phase=phase or self._phase,
                at=workflow.now(),
                closed_by=self._closed_by,
                notices_sent=self._notices_sent,
                notices_failed=self._notices_failed,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if counts is not None:
            self._agenda_count = counts.agenda
            self._decided_count = counts.decided
            self._rolled_over_count = counts.rolled_over
        if phase is not None:
            self._phase = phase

    # ---- updates --------------------------------------------------------------------------

    @workflow.update
    async def record_decision(self, request: DecisionRequest) -> DecisionRecord:
        """The reviewer's decision on one case, delivered to the complaint's workflow at once
        (whether the case is on the agenda, undecided and not awaiting Sidhi Baat is checked
        by the delivery against the agenda's row)."""
        self._updates += 1
        async with self._lock:
            self._require_frozen()  # again: the session may have closed meanwhile
            try:
                record = await workflow.execute_activity_method(
                    CaseDeliveries.decide_case,
                    DecideCaseInput(
                        session_id=self._input.session_id,
                        request=request,
                        decided_at=workflow.now(),
                    ),
                    start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=_DELIVERY_RETRY,
                )
            except ActivityError as err:
                raise _rejection(err) from err
            self._decided_count += 1
            return record

    @record_decision.validator
    def _validate_decision(self, request: DecisionRequest) -> None:
        self._require_frozen()
        self._validate_terms(request.decision, request.citizen_informed, request.new_deadline)

    @workflow.update
    async def close(self, request: CloseSessionRequest) -> SessionSummary:
        """Close the session: undecided cases roll over, the minutes become final.

        Answered at once, `closing`: the rollovers go in batches (thousands of cases take
        minutes), the read model's session shows how far, `closed` at the end.
        """
        self._close_requested_by = request.closed_by
        self._close_requested = True
        self._updates += 1
        return self._summary()

    @workflow.update
    async def record_bulk_decision(self, request: BulkDecisionRequest) -> BulkProgress:
        """One directive or one closure for every case a selection names. Its cases are
        marked at once (the answer says how many, and which numbers were refused), then
        receive it one by one as their own decision, in batches, in the background; the
        bulk's progress (N of M applied) is the read model's. The bulk's ID is the update's
        (the API's Idempotency-Key): sent again, it is recorded and applied once."""
        self._updates += 1
        async with self._lock:
            self._require_frozen()
            bulk_id = workflow.current_update_info().id  # type: ignore[union-attr]
            progress = await workflow.execute_activity_method(
                ReviewActivities.open_bulk,
                OpenBulkInput(
                    session_id=self._input.session_id,
                    bulk_id=bulk_id,
                    request=request,
                    decided_at=workflow.now(),
                    tells_officers=workflow.patched(BULK_OFFICER_NOTICES),
                ),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=DB_RETRY,
            )
            if not progress.done and bulk_id not in self._bulks:
                self._bulks.append(bulk_id)
            return progress

    @record_bulk_decision.validator
    def _validate_bulk(self, request: BulkDecisionRequest) -> None:
        self._require_frozen()
        if request.selection.is_empty():
            raise SessionRejected("other", reason="selection: name at least one criterion")
        self._validate_terms(request.decision, request.citizen_informed, request.new_deadline)

    @close.validator
    def _validate_close(self, request: CloseSessionRequest) -> None:
        self._require_frozen()

    # ---- queries --------------------------------------------------------------------------

    @workflow.query
    def get_summary(self) -> SessionSummary:
        """The session's phase, agenda, decisions so far and rolled-over cases."""
        return self._summary()

    # ---- batches ----------------------------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        return (
            self._updates >= self._batches.updates_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _continue_as_new(self) -> None:
        """Carry the stage and counters into a new run (the agenda stays in the read model).
        Notices still being sent are resumed there: their messages are keyed, never sent
        twice."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        for task in (self._notices_task, self._bulk_notices_task):
            if task is not None and not task.done():
                task.cancel()
        workflow.continue_as_new(
            self._input.model_copy(
                update={
                    "carried": SessionCarry(
                        phase=self._phase,
                        notices_done=self._notices_done,
                        notices_sent=self._notices_sent,
                        notices_failed=self._notices_failed,
                        close_requested_by=self._close_requested_by,
                        bulks=self._bulks,
                        bulk_notices=self._bulk_notices,
                    )
                }
            )
        )

    async def _freeze_in_pages(self) -> None:
        """The agenda frozen page by page into the read model (the cases escalated here,
        then for a weekly review those awaiting Sidhi Baat); a retried page writes nothing
        twice."""
        for section in (AgendaSection.FOR_DECISION, AgendaSection.AWAITING_SIDHI_BAAT):
            after = 0
            while True:
                page = await workflow.execute_activity_method(
                    ReviewActivities.freeze_agenda_page,
                    FreezePageInput(
                        session_id=self._input.session_id,
                        frozen_at=workflow.now(),
                        section=section,
                        after_id=after,
                        limit=self._batches.freeze,
                    ),
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=DB_RETRY,
                )
                after = page.last_id
                if page.done:
                    break
        if self._batches.heard_max is not None:
            await workflow.execute_activity_method(
                ReviewActivities.defer_beyond_heard,
                DeferInput(session_id=self._input.session_id, heard_max=self._batches.heard_max),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=DB_RETRY,
            )
        # Decisions are accepted from the moment the read model shows the agenda frozen.
        self._phase = SessionPhase.AGENDA_FROZEN
        await self._record_phase()

    async def _notify_in_batches(self) -> None:
        """One notice per officer with cases on the agenda and, where the forum invites
        citizens, one invitation per citizen who asked to meet the CM: a page of recipients
        at a time, each sent on the rate-limited SMS queue. Through an outage each keeps
        trying for `notice_retry_for`; one that never went is marked failed and counted."""
        inp = self._input
        invites = inp.invites_citizens
        kinds = [False]
        if invites or (invites is None and inp.kind == SessionKind.SIDHI_BAAT):
            kinds.append(True)
        for citizens in kinds:
            await self._page_by_page(
                partial(self._notice_page, citizens), partial(self._notify_page, citizens)
            )
        self._notices_done = True
        await self._record_phase()

    async def _page_by_page(
        self,
        page_after: Callable[[str], Awaitable[NoticePage]],
        send: Callable[[list[NoticeRecipient]], Awaitable[object]],
    ) -> None:
        """`send` each page of recipients in turn (`page_after(key)`: the page after that
        key; a short page is the last)."""
        after = ""
        while True:
            page = await page_after(after)
            if not page.recipients:
                return
            await send(page.recipients)
            if len(page.recipients) < self._batches.notices:
                return
            after = page.recipients[-1].key

    def _notice_page(self, citizens: bool, after: str) -> Awaitable[NoticePage]:
        return workflow.execute_activity_method(
            ReviewActivities.notice_recipients,
            NoticePageInput(
                session_id=self._input.session_id,
                citizens=citizens,
                after=after,
                limit=self._batches.notices,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )

    async def _notify_page(self, citizens: bool, recipients: list[NoticeRecipient]) -> None:
        await asyncio.gather(*(self._notify(r, citizens) for r in recipients))

    def _bulk_notice_page(self, bulk_id: str, after: str) -> Awaitable[NoticePage]:
        return workflow.execute_activity_method(
            ReviewActivities.bulk_notice_recipients,
            BulkNoticePageInput(
                session_id=self._input.session_id,
                bulk_id=bulk_id,
                after=after,
                limit=self._batches.notices,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )

    async def _tell_officers(self, bulk_id: str, officers: list[NoticeRecipient]) -> None:
        inp = self._input
        await asyncio.gather(
            *(
                self._send_notice(
                    bulk_notice_key(inp.session_id, bulk_id, officer.key),
                    workflow.execute_activity_method(
                        ReviewActivities.send_bulk_directive_notice,
                        BulkNoticeInput(
                            session_id=inp.session_id,
                            bulk_id=bulk_id,
                            kind=inp.kind,
                            starts_at=inp.starts_at,
                            officer_id=officer.key,
                            districts=officer.districts,
                            case_count=officer.case_count,
                            due=officer.due or workflow.now(),
                        ),
                        **self._notice_options(),
                    ),
                )
                for officer in officers
            )
        )

    async def _notify(self, recipient: NoticeRecipient, citizen: bool) -> None:
        inp = self._input
        key = f"{inp.session_id}:{recipient.key}"
        if citizen:
            await self._send_notice(
                key,
                workflow.execute_activity_method(
                    ReviewActivities.send_citizen_invitation,
                    CitizenInvitationInput(
                        session_id=inp.session_id,
                        starts_at=inp.starts_at,
                        registration_number=recipient.key,
                        venue=inp.venue,
                    ),
                    **self._notice_options(),
                ),
            )
        else:
            await self._send_notice(
                key,
                workflow.execute_activity_method(
                    ReviewActivities.send_officer_notice,
                    OfficerNoticeInput(
                        session_id=inp.session_id,
                        kind=inp.kind,
                        starts_at=inp.starts_at,
                        officer_id=recipient.key,
                        districts=recipient.districts,
                        case_count=recipient.case_count,
                        teleconference=inp.teleconference,
                    ),
                    **self._notice_options(),
                ),
            )

    def _notice_options(self) -> dict[str, Any]:
        """A notice's activity options: the rate-limited SMS queue, retried through an outage
        for `notice_retry_for`."""
        return {
            "task_queue": self._input.sms_task_queue,
            "start_to_close_timeout": timedelta(seconds=30),
            "schedule_to_close_timeout": self._batches.notice_retry_for,
            "retry_policy": _NOTICE_RETRY,
        }

    async def _send_notice(self, key: str, sending: Awaitable[NoticeResult]) -> None:
        """A notice (message `key`) sent and counted; one no attempt could send within its
        window is marked failed and counted."""
        try:
            result = await sending
        except ActivityError as err:
            workflow.logger.warning("session notice not sent: %s", err)
            self._notices_failed += 1
            await workflow.execute_activity_method(
                ReviewActivities.mark_notice_failed,
                NoticeFailedInput(key=key, reason=str(err.cause or err)[:200]),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
            return
        if result.sent:
            self._notices_sent += 1
        elif result.error:
            self._notices_failed += 1

    def _tell_bulk_officers(self) -> None:
        """Tell the officers of every applied bulk directive still owed (beside the meeting:
        decisions never wait for these messages)."""
        if self._bulk_notices_task is None or self._bulk_notices_task.done():
            self._bulk_notices_task = asyncio.create_task(self._bulk_officer_notices())

    async def _bulk_officer_notices(self) -> None:
        """One SMS to each officer a bulk directive put cases with, for all of them: a page
        of officers at a time on the rate-limited SMS queue, each bulk in turn. Keyed per
        bulk and officer: resumed after continue-as-new, never sent twice."""
        while self._bulk_notices:
            bulk_id = self._bulk_notices[0]
            await self._page_by_page(
                partial(self._bulk_notice_page, bulk_id), partial(self._tell_officers, bulk_id)
            )
            self._bulk_notices.pop(0)
            await self._record_phase()

    async def _apply_bulk_batch(self) -> None:
        """The next batch of the oldest bulk decision's cases, each its own decision.

        Not under the lock: the bulk's cases were marked as its own under the lock (a single
        decision on one is refused), so single decisions go on while a bulk is applied; the
        close waits for every bulk (the loop applies them before it closes)."""
        bulk_id = self._bulks[0]
        result = await workflow.execute_activity_method(
            CaseDeliveries.apply_bulk_batch,
            BatchInput(
                session_id=self._input.session_id,
                bulk_id=bulk_id,
                limit=self._batches.decisions,
                concurrency=self._batches.concurrency,
            ),
            start_to_close_timeout=_BATCH_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self._decided_count += result.done
        if result.remaining == 0:
            self._bulks.pop(0)
            if workflow.patched(BULK_OFFICER_NOTICES):
                self._bulk_notices.append(bulk_id)
                self._tell_bulk_officers()

    async def _close_in_batches(self, closed_by: str) -> None:
        """Roll every undecided case over, a batch at a time, then finalise the minutes."""
        async with self._lock:
            if self._phase is SessionPhase.SCHEDULED:  # started after its own close moment
                await self._freeze_in_pages()
            if self._phase is not SessionPhase.CLOSING:
                self._phase = SessionPhase.CLOSING
                await self._record_phase()
        while True:
            async with self._lock:
                result = await workflow.execute_activity_method(
                    CaseDeliveries.roll_over_batch,
                    BatchInput(
                        session_id=self._input.session_id,
                        closed_by=None if closed_by == "timer" else closed_by,
                        limit=self._batches.decisions,
                        concurrency=self._batches.concurrency,
                    ),
                    start_to_close_timeout=_BATCH_TIMEOUT,
                    retry_policy=DB_RETRY,
                )
            if result.remaining == 0:
                break
            if self._should_continue_as_new():
                await self._continue_as_new()
        async with self._lock:
            self._closed_by = closed_by
            await self._record_phase(SessionPhase.CLOSED)

    def _validate_terms(
        self, decision: DecisionKind, citizen_informed: bool, new_deadline: datetime | None
    ) -> None:
        if decision is DecisionKind.CLOSE and not citizen_informed:
            raise SessionRejected("citizen_not_informed")
        if decision is DecisionKind.DIRECTIVE and new_deadline is not None:
            if new_deadline.tzinfo is None:
                raise SessionRejected("deadline_zone")
            if new_deadline <= workflow.now():
                raise SessionRejected("deadline_past")

    # ---- helpers --------------------------------------------------------------------------

    def _require_frozen(self) -> None:
        if self._phase is SessionPhase.SCHEDULED:
            raise SessionRejected(
                "agenda_not_frozen",
                session=self._input.session_id,
                cutoff=fmt_ist(self._input.cutoff_at),
            )
        if self._phase in (SessionPhase.CLOSED, SessionPhase.CLOSING) or self._close_requested:
            raise SessionRejected("session_closed", session=self._input.session_id)

    def _summary(self) -> SessionSummary:
        inp = self._input
        return SessionSummary(
            session_id=inp.session_id,
            kind=inp.kind,
            phase=SessionPhase.CLOSING
            if self._close_requested and self._phase is SessionPhase.AGENDA_FROZEN
            else self._phase,
            starts_at=inp.starts_at,
            cutoff_at=inp.cutoff_at,
            notices_sent=self._notices_sent,
            notices_failed=self._notices_failed,
            closed_by=self._closed_by,
            agenda_count=self._agenda_count,
            decided_count=self._decided_count,
            rolled_over_count=self._rolled_over_count,
            bulks_pending=list(self._bulks),
        )


def _close_after(rollover_after: timedelta) -> timedelta:
    """When an unclosed session closes itself: an hour before the complaints' own rollover
    timers, so the session rolls its cases over (and says so in its minutes) while those
    timers stay the backstop for a session that is not running."""
    margin = min(timedelta(hours=1), rollover_after / 2)
    return rollover_after - margin


def seed_forum(kind: str, policy: Policy) -> Forum:
    """The forum of the seed ladder (with the policy's session settings) holding sessions of
    `kind`. Raises ValueError for a kind the seed ladder has no forum of."""
    for rung in with_policy(JHARKHAND, policy).rungs:
        if rung.forum is not None and rung.forum.session_kind == kind:
            return rung.forum
    raise ValueError(f"the seed ladder has no forum of {kind}")


def session_workflow_id(prefix: str, session: str) -> str:
    """`weekly-review-2026-12-01` after the deployment's workflow ID prefix."""
    return f"{prefix}{session}"


@workflow.defn
class ReviewPlannerWorkflow:
    """Started by a review Schedule (every Tuesday): opens the next sessions of its kind.

    A calendar spec cannot say "last Tuesday of the month", so the Sidhi Baat schedule fires
    every Tuesday and this workflow computes the session dates with the same calendar rule the
    complaints use; opening a session that is already open (or was held) changes nothing. An
    input naming no forum plans the seed ladder's forum of its `kind` (the policy's times).
    """

    @workflow.run
    async def run(self, input: PlannerInput) -> PlannerResult:
        forum = input.forum or seed_forum(input.kind, input.policy)
        return await self._open_sittings(input, forum)

    async def _open_sittings(self, input: PlannerInput, forum: Forum) -> PlannerResult:
        """The next sittings of the ladder's `forum`: one session per sitting, or per district
        and sitting for a forum each district holds (on its own weekday), moved off holidays
        by the policy's calendar like the cases' own."""
        opened: list[str] = []
        already_open: list[str] = []
        calendar = input.policy.working_calendar()
        for district in forum.places():
            starts = upcoming_sittings(
                forum,
                workflow.now(),
                count=input.sessions_ahead,
                district=district,
                calendar=calendar,
            )
            for starts_at in starts:
                sid = session_id(forum.session_kind, starts_at, district)
                try:
                    await workflow.start_child_workflow(
                        ReviewSessionWorkflow.run,
                        ReviewSessionInput(
                            kind=forum.session_kind,
                            session_id=sid,
                            starts_at=starts_at,
                            cutoff_at=starts_at - forum.agenda_cutoff_before,
                            close_after=_close_after(forum.rollover_after),
                            teleconference=input.teleconference,
                            venue=input.venue,
                            sms_task_queue=input.sms_task_queue,
                            district=district,
                            invites_citizens=forum.invites_citizens,
                            batches=input.batches,
                        ),
                        id=session_workflow_id(input.workflow_id_prefix, sid),
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                        static_summary=f"{forum.session_kind} {sid}",
                    )
                    opened.append(sid)
                except WorkflowAlreadyStartedError:
                    already_open.append(sid)
        return PlannerResult(opened=opened, already_open=already_open)
