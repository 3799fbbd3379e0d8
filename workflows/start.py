"""Starting a case's workflow (the client side, used by the API's intake and by the worker's
reconciliation).

Starting is idempotent: the workflow ID is the registration number's business key, a second
start of a running one answers "already started" (ID conflict policy USE_EXISTING), and a closed
one is never started again (ID reuse policy REJECT_DUPLICATE). Both the API and the worker's
reconciliation call `start_complaint_workflow`, so whichever comes first wins and the other is
a no-op. Not workflow code: it is never imported by a workflow.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

import sqlalchemy
from sqlalchemy.engine import Engine
from sqlmodel import col
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.db import write_session
from core.ladder import configured_ladder
from core.models import Complaint, utcnow
from core.settings import Settings
from schemas import search_attributes as sa
from schemas.policy import Policy
from schemas.workflow import (
    DEFAULT_MAX_HISTORY_EVENTS,
    ComplaintWorkflowInput,
    ComplaintWorkflowResult,
)
from workflows.complaint import ComplaintWorkflow

# Temporal task priority of an urgent case's workflow (1 is first; the default is 3).
URGENT_PRIORITY = Priority(priority_key=1)


def workflow_input(
    complaint: Complaint,
    policy: Policy,
    settings: Settings,
    max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS,
) -> ComplaintWorkflowInput:
    return ComplaintWorkflowInput(
        max_history_events=max_history_events,
        registration_number=complaint.registration_number,
        kind=complaint.kind,
        channel=complaint.channel,
        district=complaint.citizen_district or complaint.district,
        # Routed by the department named (or an urgent category's), not the one derived from
        # the category: a routine case goes to its district's nodal officer.
        department=complaint.department_requested,
        category=complaint.category,
        urgent=complaint.urgent,
        wishes_to_meet_cm=complaint.wishes_to_meet_cm,
        language=complaint.language,
        registered_at=complaint.created_at.astimezone(UTC),
        registered_by=complaint.registered_by,
        policy=policy,
        ladder=configured_ladder(settings, policy),
        sms_task_queue=settings.sms_task_queue or None,
        db_task_queue=settings.db_task_queue or None,
    )


def initial_search_attributes(complaint: Complaint) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair] = [
        SearchAttributePair(sa.REGISTRATION_NUMBER, complaint.registration_number),
        SearchAttributePair(sa.DISTRICT, complaint.district),
        SearchAttributePair(sa.CHANNEL, complaint.channel.value),
        SearchAttributePair(sa.COMPLAINT_KIND, complaint.kind.value),
        SearchAttributePair(sa.COMPLAINT_STATUS, str(complaint.status)),
        SearchAttributePair(sa.URGENT, complaint.urgent),
        SearchAttributePair(sa.ESCALATION_LEVEL, 0),
    ]
    if complaint.department:
        pairs.append(SearchAttributePair(sa.DEPARTMENT, complaint.department))
    if complaint.category:
        pairs.append(SearchAttributePair(sa.CATEGORY, complaint.category))
    return TypedSearchAttributes(pairs)


async def start_complaint_workflow(
    client: Client,
    engine: Engine,
    complaint: Complaint,
    *,
    policy: Policy,
    settings: Settings,
    max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS,
) -> WorkflowHandle[ComplaintWorkflow, ComplaintWorkflowResult]:
    """Start the case's workflow if it is not running, then mark the outbox row started."""
    try:
        handle = await client.start_workflow(
            ComplaintWorkflow.run,
            workflow_input(complaint, policy, settings, max_history_events),
            id=complaint.workflow_id,
            task_queue=settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=initial_search_attributes(complaint),
            static_summary=f"{complaint.kind.value} {complaint.registration_number}",
            # An urgent case's workflow tasks go ahead of routine ones on a busy queue.
            priority=URGENT_PRIORITY if complaint.urgent else Priority.default,
            rpc_timeout=timedelta(seconds=settings.temporal_rpc_timeout_seconds),
        )
    except WorkflowAlreadyStartedError:
        # Closed already (REJECT_DUPLICATE): it ran; nothing to start.
        handle = client.get_workflow_handle_for(ComplaintWorkflow.run, complaint.workflow_id)
    if complaint.workflow_started_at is None and complaint.id is not None:
        # Blocking database work off the event loop (the API serves other requests meanwhile).
        await asyncio.to_thread(mark_started, engine, complaint.id)
    return handle


def mark_started(engine: Engine, complaint_id: int) -> None:
    """The outbox row's workflow has started (reconciliation skips it from now on)."""
    with write_session(engine) as session:
        session.execute(
            sqlalchemy.update(Complaint)
            .where(col(Complaint.id) == complaint_id, col(Complaint.workflow_started_at).is_(None))
            .values(workflow_started_at=utcnow())
        )
        session.commit()
