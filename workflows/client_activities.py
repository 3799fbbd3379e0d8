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
import logging
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from core.db import read_session
from core.models import Complaint, ReviewItem, ReviewSession, utcnow
from core.settings import Settings
from schemas.policy import Policy
from schemas.refusals import is_finished
from schemas.review import (
    DecisionRecord,
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

    def _store_decision(self, session_id: str, record: DecisionRecord) -> None:
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
            item.responsible_officer_id = record.responsible_officer_id
            # The deadline the case actually got (the policy default when none was given).
            item.new_deadline = record.new_deadline or (
                record.case_next_deadline if record.decision is DecisionKind.DIRECTIVE else None
            )
            item.citizen_informed = record.citizen_informed
            item.decided_at = record.decided_at
            session.add(item)
            row = session.get(ReviewSession, session_id)
            if row is not None:
                row.decided_count = len(
                    session.exec(
                        select(ReviewItem.id).where(
                            ReviewItem.session_id == session_id,
                            col(ReviewItem.outcome).in_(
                                [ItemOutcome.DIRECTIVE.value, ItemOutcome.CLOSED.value]
                            ),
                        )
                    ).all()
                )
                row.updated_at = utcnow()
                session.add(row)
            session.commit()

    @activity.defn
    async def roll_over_case(self, input: RollOverCaseInput) -> RollOverCaseResult:
        """Move an undecided case on to the next session of its kind now (an update of the
        complaint). A case that had already moved is left as it is."""
        reg = input.item.registration_number
        handle = self._client.get_workflow_handle_for(ComplaintWorkflow.run, input.item.workflow_id)
        try:
            async with asyncio.timeout(_UPDATE_BUDGET):  # see deliver_decision
                result: ActionResult = await handle.execute_update(
                    ComplaintWorkflow.roll_over_from_session,
                    RollOverRequest(session_id=input.session_id, closed_by=input.closed_by),
                    id=f"{input.session_id}:rollover:{reg}",
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


# Within deliver_decision's 60 s: an attempt that gets no answer ends and is retried.
_UPDATE_BUDGET = 45.0
