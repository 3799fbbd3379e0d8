"""Activities that act on workflows as Temporal clients; they live beside the workflows they
start and update, so that `activities/` (a case's own I/O: read model, SMS, directory) never
imports `workflows/`.

- Reconciliation: start the workflow of every recorded complaint that has none yet. The API
  commits the complaint before starting its workflow. If Temporal was unreachable at that
  moment the row stays with `workflow_started_at` NULL (an outbox); `start_pending_workflows`,
  run by the worker at start-up and by a Temporal Schedule every minute, starts them.
- A review's deliveries to its cases (`CaseDeliveries`): a decision (an update of the case's
  workflow, then a line of the minutes) and a rollover to the next sitting.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import update as sa_update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from core.db import read_session
from core.models import Complaint, ReviewBulk, ReviewItem, ReviewSession, utcnow
from core.settings import Settings
from schemas.policy import Policy
from schemas.refusals import Refused, is_finished
from schemas.review import (
    AgendaItem,
    AgendaSection,
    BatchInput,
    BatchResult,
    DecideCaseInput,
    DecisionRecord,
    DecisionRequest,
    DeliverDecisionInput,
    ItemOutcome,
    RollOverCaseInput,
    RollOverCaseResult,
    RollOverRequest,
)
from schemas.workflow import ActionResult, DecisionKind, ReconcileResult, ReviewDecision
from workflows.complaint import ComplaintWorkflow
from workflows.start import start_complaint_workflow

log = logging.getLogger(__name__)

# Rows younger than this are left to the API request that is still starting them.
GRACE = timedelta(seconds=10)


class ReconcileActivities:
    def __init__(self, engine: Engine, client: Client, settings: Settings, policy: Policy) -> None:
        self._engine = engine
        self._client = client
        self._settings = settings
        self._policy = policy

    @activity.defn
    async def start_pending_workflows(self) -> ReconcileResult:
        """Start the workflows of complaints recorded while Temporal was unreachable."""
        return await reconcile(
            self._engine, self._client, self._settings, self._policy, grace=GRACE
        )


async def reconcile(
    engine: Engine, client: Client, settings: Settings, policy: Policy, *, grace: timedelta
) -> ReconcileResult:
    cutoff = utcnow() - grace
    with read_session(engine) as session:
        pending = session.exec(
            select(Complaint)
            .where(col(Complaint.workflow_started_at).is_(None))
            .where(col(Complaint.created_at) <= cutoff)
            .order_by(col(Complaint.id))
            .limit(500)
        ).all()
    started = []
    for complaint in pending:
        await start_complaint_workflow(client, engine, complaint, policy=policy, settings=settings)
        started.append(complaint.registration_number)
    if started:
        log.info("reconciliation started %d workflows: %s", len(started), ", ".join(started))
    return ReconcileResult(started=started)


class CaseDeliveries:
    """What a review session's workflow sends to its cases' workflows (typed updates,
    deduplicated by their IDs) and records in the read model."""

    def __init__(self, engine: Engine, client: Client) -> None:
        self._engine = engine
        self._client = client

    @activity.defn
    async def deliver_decision(self, input: DeliverDecisionInput) -> DecisionRecord:
        """Deliver a decision to the complaint's workflow (update, deduplicated by its ID),
        then record it in the minutes."""
        request = input.request
        handle = self._client.get_workflow_handle_for(ComplaintWorkflow.run, input.item.workflow_id)
        try:
            # The case answers once its transition is recorded (its SMS follow). Bounded
            # within the activity's own timeout: a retry carries the same update ID, so a
            # decision the case already took answers with its result, never twice.
            async with asyncio.timeout(_UPDATE_BUDGET):
                result: ActionResult = await handle.execute_update(
                    ComplaintWorkflow.record_decision,
                    ReviewDecision(
                        **request.model_dump(exclude={"registration_number"}),
                        session_id=input.session_id,
                    ),
                    id=f"{input.session_id}:decision:{request.registration_number}",
                )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            raise ApplicationError(
                f"case {request.registration_number} refused the decision: {message}",
                type="DecisionRefused",
                non_retryable=True,
            ) from err
        except RPCError as err:
            if is_finished(err):
                raise ApplicationError(
                    f"case {request.registration_number} has finished",
                    type="DecisionRefused",
                    non_retryable=True,
                ) from err
            raise
        record = DecisionRecord(
            registration_number=request.registration_number,
            decision=request.decision,
            text=request.text,
            decided_by=request.decided_by,
            responsible_officer_id=request.responsible_officer_id,
            new_deadline=(
                request.new_deadline if request.decision is DecisionKind.DIRECTIVE else None
            ),
            citizen_informed=request.citizen_informed,
            decided_at=input.decided_at,
            case_status=result.status,
            case_next_deadline=result.next_deadline,
        )
        await asyncio.to_thread(self._store_decision, input.session_id, record)
        return record

    def _store_decision(
        self, session_id: str, record: DecisionRecord, *, count: bool = True
    ) -> None:
        """The decision's row of the minutes; `count`: the session's decided count too (a
        bulk batch counts once, at its end, rather than once per case)."""
        with Session(self._engine) as session:
            item = session.exec(
                select(ReviewItem).where(
                    ReviewItem.session_id == session_id,
                    ReviewItem.registration_number == record.registration_number,
                )
            ).one()
            item.outcome = (
                ItemOutcome.CLOSED
                if record.decision is DecisionKind.CLOSE
                else ItemOutcome.DIRECTIVE
            )
            item.decision_text = record.text
            item.decided_by = record.decided_by
            # Who must act on a directive: the officer named, or the case's own (the minutes
            # say so; a bulk directive's officers are told from these rows).
            item.responsible_officer_id = record.responsible_officer_id
            if record.decision is DecisionKind.DIRECTIVE and not item.responsible_officer_id:
                item.responsible_officer_id = AgendaItem.model_validate_json(
                    item.item
                ).assigned_officer_id
            # The deadline the case actually got (the policy default when none was given).
            item.new_deadline = record.new_deadline or (
                record.case_next_deadline if record.decision is DecisionKind.DIRECTIVE else None
            )
            item.citizen_informed = record.citizen_informed
            item.decided_at = record.decided_at
            session.add(item)
            item.refusal = None
            session.add(item)
            row = session.get(ReviewSession, session_id) if count else None
            if row is not None:
                row.decided_count = session.exec(
                    select(func.count())
                    .select_from(ReviewItem)
                    .where(
                        ReviewItem.session_id == session_id,
                        col(ReviewItem.outcome).in_(_DECIDED),
                    )
                ).one()
                row.updated_at = utcnow()
                session.add(row)
            session.commit()

    @activity.defn
    async def roll_over_case(self, input: RollOverCaseInput) -> RollOverCaseResult:
        """Move an undecided case on to the next session of its kind now (an update of the
        complaint). A case that had already moved is left as it is."""
        return await self._roll_over(
            input.item.workflow_id,
            input.item.registration_number,
            input.session_id,
            input.closed_by,
        )

    async def _roll_over(
        self, workflow_id: str, reg: str, session_id: str, closed_by: str | None
    ) -> RollOverCaseResult:
        handle = self._client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id)
        try:
            async with asyncio.timeout(_UPDATE_BUDGET):  # see deliver_decision
                result: ActionResult = await handle.execute_update(
                    ComplaintWorkflow.roll_over_from_session,
                    RollOverRequest(session_id=session_id, closed_by=closed_by),
                    id=f"{session_id}:rollover:{reg}",
                )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            return RollOverCaseResult(registration_number=reg, rolled_over=False, message=message)
        except RPCError as err:
            if is_finished(err):
                return RollOverCaseResult(
                    registration_number=reg, rolled_over=False, message="case finished"
                )
            raise
        return RollOverCaseResult(registration_number=reg, rolled_over=True, message=result.message)

    # ---- batched sessions: the agenda's rows decide what is delivered -----------------------

    @activity.defn
    async def decide_case(self, input: DecideCaseInput) -> DecisionRecord:
        """A single decision of a batched session: refused unless its case is on the agenda,
        for decision and undecided, then delivered to the case and recorded in the minutes.
        (The same request sent again with its key within the session's run is answered by
        Temporal with the first answer.)"""
        request = input.request
        row = await asyncio.to_thread(self._row, input.session_id, request.registration_number)
        if row is None:
            raise _refused(
                "not_on_agenda", reg=request.registration_number, session=input.session_id
            )
        if row.outcome in _DECIDED:
            raise _refused("already_decided", reg=request.registration_number)
        if row.outcome != ItemOutcome.PENDING:
            raise _refused("session_closed", session=input.session_id)
        if row.bulk_id is not None and row.refusal is None:
            raise _refused("already_decided", reg=request.registration_number)
        if row.section == AgendaSection.AWAITING_SIDHI_BAAT.value:
            item = AgendaItem.model_validate_json(row.item)
            day = item.sidhi_baat_at.date().isoformat() if item.sidhi_baat_at else "-"
            raise _refused("awaits_sidhi_baat", reg=request.registration_number, date=day)
        workflow_id = AgendaItem.model_validate_json(row.item).workflow_id
        record = await self._deliver(workflow_id, input.session_id, request, input.decided_at)
        await asyncio.to_thread(self._store_decision, input.session_id, record)
        return record

    def _row(self, session_id: str, number: str) -> ReviewItem | None:
        with read_session(self._engine) as session:
            return session.exec(
                select(ReviewItem).where(
                    ReviewItem.session_id == session_id,
                    ReviewItem.registration_number == number,
                )
            ).first()

    async def _deliver(
        self,
        workflow_id: str,
        session_id: str,
        request: DecisionRequest,
        decided_at: datetime,
        *,
        officer_told_by_session: bool = False,
    ) -> DecisionRecord:
        """The decision delivered to its case (update ID `<session>:decision:<number>`: a
        case takes one decision per session, whichever way it was sent, retries included);
        with `officer_told_by_session` (a bulk directive) the case sends its officer no SMS."""
        handle = self._client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id)
        reg = request.registration_number
        try:
            async with asyncio.timeout(_UPDATE_BUDGET):
                result: ActionResult = await handle.execute_update(
                    ComplaintWorkflow.record_decision,
                    ReviewDecision(
                        **request.model_dump(exclude={"registration_number"}),
                        session_id=session_id,
                        officer_told_by_session=officer_told_by_session,
                    ),
                    id=f"{session_id}:decision:{reg}",
                )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            raise ApplicationError(
                f"case {reg} refused the decision: {message}",
                type="DecisionRefused",
                non_retryable=True,
            ) from err
        except RPCError as err:
            if is_finished(err):
                raise ApplicationError(
                    f"case {reg} has finished", type="DecisionRefused", non_retryable=True
                ) from err
            raise
        return DecisionRecord(
            registration_number=reg,
            decision=request.decision,
            text=request.text,
            decided_by=request.decided_by,
            responsible_officer_id=request.responsible_officer_id,
            new_deadline=(
                request.new_deadline if request.decision is DecisionKind.DIRECTIVE else None
            ),
            citizen_informed=request.citizen_informed,
            decided_at=decided_at,
            case_status=result.status,
            case_next_deadline=result.next_deadline,
        )

    @activity.defn
    async def apply_bulk_batch(self, input: BatchInput) -> BatchResult:
        """The next `limit` cases of a bulk decision, each receiving it as its own decision
        (at most `concurrency` updates in flight): recorded in the minutes one by one, a
        refusal recorded with its reason. A retried batch skips the cases already done."""
        assert input.bulk_id is not None
        bulk, rows = await asyncio.to_thread(self._bulk_batch, input)
        if bulk is None:
            return BatchResult(done=0, refused=0, remaining=0)
        gate = asyncio.Semaphore(input.concurrency)

        async def one(number: str, item: AgendaItem) -> bool:
            request = DecisionRequest(
                registration_number=number,
                decision=DecisionKind(bulk.decision),
                text=bulk.text,
                decided_by=bulk.decided_by,
                responsible_officer_id=bulk.responsible_officer_id,
                new_deadline=bulk.new_deadline,
                citizen_informed=bulk.citizen_informed,
            )
            async with gate:
                try:
                    record = await self._deliver(
                        item.workflow_id,
                        input.session_id,
                        request,
                        bulk.decided_at,
                        # An officer the session cannot name is told by the case itself.
                        officer_told_by_session=bulk.tells_officers
                        and bool(bulk.responsible_officer_id or item.assigned_officer_id),
                    )
                except (ApplicationError, RPCError, TimeoutError) as err:
                    # Recorded with its reason and listed; the reviewer may decide it singly.
                    reason = (
                        err.message
                        if isinstance(err, ApplicationError | RPCError)
                        else "the case did not answer in time"
                    )
                    await asyncio.to_thread(
                        self._store_refusal, input.session_id, number, str(reason)
                    )
                    return False
                await asyncio.to_thread(
                    partial(self._store_decision, input.session_id, record, count=False)
                )
                activity.heartbeat(number)
                return True

        outcomes = await asyncio.gather(*(one(n, w) for n, w in rows))
        done, refused = sum(outcomes), len(outcomes) - sum(outcomes)
        remaining = await asyncio.to_thread(self._bulk_tally, input, done, refused)
        return BatchResult(done=done, refused=refused, remaining=remaining)

    def _bulk_batch(
        self, input: BatchInput
    ) -> tuple[ReviewBulk | None, list[tuple[str, AgendaItem]]]:
        with read_session(self._engine) as session:
            bulk = session.get(ReviewBulk, input.bulk_id)
            rows = session.exec(
                select(ReviewItem.registration_number, ReviewItem.item)
                .where(*self._bulk_pending(input))
                .order_by(col(ReviewItem.id))
                .limit(input.limit)
            ).all()
            return bulk, [(n, AgendaItem.model_validate_json(i)) for n, i in rows]

    @staticmethod
    def _bulk_pending(input: BatchInput) -> tuple[Any, ...]:
        return (
            ReviewItem.session_id == input.session_id,
            ReviewItem.bulk_id == input.bulk_id,
            ReviewItem.outcome == ItemOutcome.PENDING.value,
            col(ReviewItem.refusal).is_(None),
        )

    def _bulk_tally(self, input: BatchInput, done: int, refused: int) -> int:
        """The bulk's counts from its rows (a retried batch counts nothing twice)."""
        with Session(self._engine) as session:
            bulk = session.get(ReviewBulk, input.bulk_id)
            mine = (ReviewItem.session_id == input.session_id, ReviewItem.bulk_id == input.bulk_id)
            remaining = session.exec(
                select(func.count()).select_from(ReviewItem).where(*self._bulk_pending(input))
            ).one()
            if bulk is not None:
                bulk.applied = session.exec(
                    select(func.count())
                    .select_from(ReviewItem)
                    .where(*mine, col(ReviewItem.outcome).in_(_DECIDED))
                ).one()
                refused_rows = session.exec(
                    select(func.count())
                    .select_from(ReviewItem)
                    .where(*mine, col(ReviewItem.refusal).is_not(None))
                ).one()
                bulk.refused = refused_rows + len(json.loads(bulk.unlisted))
                if remaining == 0 and bulk.done_at is None:
                    bulk.done_at = utcnow()
                session.add(bulk)
            meeting = session.get(ReviewSession, input.session_id)
            if meeting is not None:
                meeting.decided_count = session.exec(
                    select(func.count())
                    .select_from(ReviewItem)
                    .where(
                        ReviewItem.session_id == input.session_id,
                        col(ReviewItem.outcome).in_(_DECIDED),
                    )
                ).one()
                meeting.updated_at = utcnow()
                session.add(meeting)
            session.commit()
            return remaining

    def _store_refusal(self, session_id: str, number: str, reason: str) -> None:
        with Session(self._engine) as session:
            item = session.exec(
                select(ReviewItem).where(
                    ReviewItem.session_id == session_id, ReviewItem.registration_number == number
                )
            ).one()
            item.refusal = reason[:1000]
            session.add(item)
            session.commit()

    @activity.defn
    async def roll_over_batch(self, input: BatchInput) -> BatchResult:
        """The close of a batched session: the next `limit` undecided cases for decision move
        on to the next sitting (at most `concurrency` updates in flight), each row marked
        rolled over as it goes; a case that had already moved is marked so too (it is
        somewhere with a deadline). A retried batch repeats nothing: the rows say what is
        done, and the cases' updates are deduplicated by their IDs."""
        rows = await asyncio.to_thread(self._undecided, input)
        gate = asyncio.Semaphore(input.concurrency)

        async def one(number: str, workflow_id: str) -> bool:
            async with gate:
                try:
                    result = await self._roll_over(
                        workflow_id, number, input.session_id, input.closed_by
                    )
                    moved = result.rolled_over
                    note = None if moved else result.message
                except TimeoutError:
                    # Never holds the close: its own rollover timer moves it an hour later.
                    moved, note = False, "did not answer; its own rollover timer moves it"
                await asyncio.to_thread(self._mark_rolled, input.session_id, number, note)
                activity.heartbeat(number)
                return moved

        outcomes = await asyncio.gather(*(one(n, w) for n, w in rows))
        remaining = await asyncio.to_thread(self._undecided_count, input)
        moved = sum(outcomes)
        return BatchResult(done=moved, refused=len(outcomes) - moved, remaining=remaining)

    def _undecided_where(self, input: BatchInput) -> tuple[Any, ...]:
        return (
            ReviewItem.session_id == input.session_id,
            ReviewItem.outcome == ItemOutcome.PENDING.value,
            col(ReviewItem.section).in_(
                [AgendaSection.FOR_DECISION.value, AgendaSection.DEFERRED.value]
            ),
        )

    def _undecided(self, input: BatchInput) -> list[tuple[str, str]]:
        with read_session(self._engine) as session:
            rows = session.exec(
                select(ReviewItem.registration_number, ReviewItem.item)
                .where(*self._undecided_where(input))
                .order_by(col(ReviewItem.id))
                .limit(input.limit)
            ).all()
            return [(n, AgendaItem.model_validate_json(i).workflow_id) for n, i in rows]

    def _undecided_count(self, input: BatchInput) -> int:
        with read_session(self._engine) as session:
            return session.exec(
                select(func.count()).select_from(ReviewItem).where(*self._undecided_where(input))
            ).one()

    def _mark_rolled(self, session_id: str, number: str, note: str | None) -> None:
        with Session(self._engine) as session:
            session.execute(
                sa_update(ReviewItem)
                .where(
                    col(ReviewItem.session_id) == session_id,
                    col(ReviewItem.registration_number) == number,
                    col(ReviewItem.outcome) == ItemOutcome.PENDING.value,
                )
                .values(outcome=ItemOutcome.ROLLED_OVER.value, refusal=note)
            )
            session.commit()


_DECIDED = (ItemOutcome.DIRECTIVE.value, ItemOutcome.CLOSED.value)


def _refused(key: str, **params: Any) -> ApplicationError:
    """A refusal by key from an activity: the session passes it on as its own (409)."""
    return Refused(key, kind="SessionRejected", **params)


# Within deliver_decision's 60 s: an attempt that gets no answer ends and is retried.
_UPDATE_BUDGET = 45.0
