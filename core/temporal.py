"""The Temporal side shared by the API and the workers: client, and starting a case's workflow.

Starting is idempotent: the workflow ID is the registration number's business key, a second
start of a running one answers "already started" (ID conflict policy USE_EXISTING), and a closed
one is never started again (ID reuse policy REJECT_DUPLICATE). Both the API and the worker's
reconciliation call `start_complaint_workflow`, so whichever comes first wins and the other is
a no-op.
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
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from core.codec import data_converter
from core.db import write_session
from core.ladder import configured_ladder
from core.models import Complaint, utcnow
from core.settings import Settings
from core.tracing import temporal_interceptors
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


def tls_config(settings: Settings) -> bool | TLSConfig:
    """TLS towards the Temporal frontend: off for a local dev server, on (system roots) for
    Temporal Cloud with an API key, mutual TLS with a client certificate and key."""
    paths = (
        settings.temporal_tls_client_cert_file,
        settings.temporal_tls_client_key_file,
        settings.temporal_tls_server_ca_file,
    )
    wanted = settings.temporal_tls
    if wanted is None:
        wanted = bool(settings.temporal_api_key or settings.temporal_tls_client_cert_file)
    if not wanted:
        return False
    if not any(paths) and not settings.temporal_tls_server_name:
        return True
    cert, key, ca = (path.read_bytes() if path else None for path in paths)
    return TLSConfig(
        client_cert=cert,
        client_private_key=key,
        server_root_ca_cert=ca,
        domain=settings.temporal_tls_server_name or None,
    )


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """One client per process, always with the pydantic data converter (encrypting citizen data
    when payload keys are configured: core/codec.py); local dev server, self-hosted cluster
    (mTLS) or Temporal Cloud (API key or mTLS) by settings alone."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key or None,
        tls=tls_config(settings),
        interceptors=temporal_interceptors(settings),
        data_converter=data_converter(settings),
        lazy=lazy,
        runtime=runtime,
    )


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics (task latencies, poll and slot use,
    activity failures) for Prometheus on TEMPORAL_METRICS_BIND_ADDRESS; None when unset."""
    if not settings.temporal_metrics_bind_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=settings.temporal_metrics_bind_address,
                durations_as_seconds=True,
            ),
            global_tags={"service": "jan-samvad-worker"},
        )
    )


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
        SearchAttributePair(sa.COMPLAINT_STATUS, complaint.status.value),
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
