"""The worker process: complaint workflows, their activities, and the reconciliation schedule.

`python -m workers.main` (what `make run` starts). Stops gracefully on SIGINT/SIGTERM: in-flight
activities get `graceful_shutdown_timeout` to finish, after which Temporal hands them to another
worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy.engine import Engine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from activities.case import CaseActivities
from activities.media import MediaActivities
from activities.review import ReviewActivities
from activities.sms import SmsActivities, SmsGateway, make_gateway
from activities.voice import VoiceActivities, VoiceGateway, make_voice_gateway
from activities.whatsapp import WhatsAppActivities
from core.db import prepare_database
from core.holidays import configured_policy
from core.ladder import configured_ladder
from core.logging import configure_logging
from core.settings import Settings, WorkerQueues, get_settings
from core.temporal import connect, metrics_runtime
from core.tracing import configure_tracing, shutdown_tracing
from schemas.policy import Policy
from workers.review_schedules import ensure_review_schedules
from workers.sandbox import CompiledOnceSandboxRunner
from workflows.client_activities import GRACE, CaseDeliveries, ReconcileActivities, reconcile
from workflows.complaint import ComplaintWorkflow
from workflows.media import AttachmentRetentionWorkflow, MediaFetchWorkflow
from workflows.reconcile import ReconcileWorkflow
from workflows.recording import RecordingFetchWorkflow
from workflows.review import ReviewPlannerWorkflow, ReviewSessionWorkflow
from workflows.whatsapp import WhatsAppFallbackWorkflow

log = logging.getLogger(__name__)

RECONCILE_SCHEDULE_ID = "jan-samvad-reconcile"
RETENTION_SCHEDULE_ID = "jan-samvad-attachment-retention"


# The sandbox still forbids non-deterministic calls, but it no longer re-imports every module
# for each workflow run: our workflow modules keep no mutable module state, and a fresh import
# per run cost the worker about 18% of its CPU at intake (bench.profile). The replay tests
# (tests/workflows/test_replay.py) run the committed histories through this same runner, which
# compiles each of the sandbox's entry snippets once (workers/sandbox.py).
WORKFLOW_RUNNER = CompiledOnceSandboxRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
)

# Every workflow the worker runs; the replay command and the replay tests know the same ones.
WORKFLOWS = (
    ComplaintWorkflow,
    ReconcileWorkflow,
    ReviewSessionWorkflow,
    ReviewPlannerWorkflow,
    MediaFetchWorkflow,
    AttachmentRetentionWorkflow,
    RecordingFetchWorkflow,
    WhatsAppFallbackWorkflow,
)


def build_worker(
    client: Client,
    *,
    settings: Settings,
    engine: Engine,
    gateway: SmsGateway,
    policy: Policy,
    executor: ThreadPoolExecutor,
    task_queue: str | None = None,
    voice: VoiceGateway | None = None,
) -> Worker:
    """One worker for workflows and all activities on `task_queue` (default from settings);
    `voice`: the IVR calls' gateway (default: Twilio when configured)."""
    case = CaseActivities(engine)
    sms = SmsActivities(engine, gateway, settings)
    calls = VoiceActivities(engine, voice or make_voice_gateway(settings), settings)
    reconciler = ReconcileActivities(engine, client, settings, policy)
    review = ReviewActivities(engine, client, gateway, settings)
    deliveries = CaseDeliveries(engine, client)
    media = MediaActivities(engine, settings)
    whatsapp = WhatsAppActivities(engine, gateway, settings)
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=list(WORKFLOWS),
        activities=[
            case.route_complaint,
            case.find_officer,
            case.record_transition,
            case.mark_unsent,
            sms.send_sms,
            calls.place_call,
            reconciler.start_pending_workflows,
            review.record_session,
            review.freeze_agenda,
            review.send_officer_notice,
            review.send_citizen_invitation,
            review.freeze_agenda_page,
            review.notice_recipients,
            review.bulk_notice_recipients,
            review.send_bulk_directive_notice,
            review.mark_notice_failed,
            review.defer_beyond_heard,
            review.open_bulk,
            deliveries.deliver_decision,
            deliveries.roll_over_case,
            deliveries.decide_case,
            deliveries.apply_bulk_batch,
            deliveries.roll_over_batch,
            media.fetch_media,
            media.expire_attachments,
            media.fetch_recording,
            whatsapp.whatsapp_fallback,
        ],
        activity_executor=executor,
        workflow_runner=WORKFLOW_RUNNER,
        max_concurrent_workflow_tasks=settings.worker_workflow_task_slots,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


def build_sms_worker(
    client: Client,
    *,
    settings: Settings,
    engine: Engine,
    gateway: SmsGateway,
    executor: ThreadPoolExecutor,
    voice: VoiceGateway | None = None,
) -> Worker:
    """The SMS activities alone on `settings.sms_task_queue`, rate-limited for the whole queue
    (with the IVR calls, whose own bound is the number of calls in progress).

    The limit is enforced by the Temporal server across every worker polling the queue, so a
    burst of complaints queues its SMS instead of exceeding the gateway account's rate.
    """
    sms = SmsActivities(engine, gateway, settings)
    review = ReviewActivities(engine, client, gateway, settings)
    calls = VoiceActivities(engine, voice or make_voice_gateway(settings), settings)
    whatsapp = WhatsAppActivities(engine, gateway, settings)
    return Worker(
        client,
        task_queue=settings.sms_task_queue,
        # Review notices and invitations too: they share the gateway's rate.
        activities=[
            sms.send_sms,
            review.send_officer_notice,
            review.send_citizen_invitation,
            review.send_bulk_directive_notice,
            calls.place_call,
            whatsapp.whatsapp_fallback,
        ],
        activity_executor=executor,
        max_task_queue_activities_per_second=settings.sms_rate_limit_per_second,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


def build_db_worker(
    client: Client, *, settings: Settings, engine: Engine, executor: ThreadPoolExecutor
) -> Worker:
    """The read-model activities of complaint workflows alone on `settings.db_task_queue`.

    Workflows started with a DB_TASK_QUEUE schedule routing and projection here, so the
    processes holding database connections scale apart from those replaying workflows. (The
    workflow worker keeps serving the same activities on its own queue for cases started
    before the queue was configured.)
    """
    case = CaseActivities(engine)
    return Worker(
        client,
        task_queue=settings.db_task_queue,
        activities=[
            case.route_complaint,
            case.find_officer,
            case.record_transition,
            case.mark_unsent,
        ],
        activity_executor=executor,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Create the reconciliation schedule once; a second worker or a restart leaves it be."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcileWorkflow.run,
            id="jan-samvad-reconcile-run",
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=timedelta(seconds=settings.reconcile_interval_seconds))
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(RECONCILE_SCHEDULE_ID, schedule)
        log.info("created schedule %s", RECONCILE_SCHEDULE_ID)
    except ScheduleAlreadyRunningError:
        pass
    # Files of long-closed cases removed once a day (ATTACHMENT_RETENTION_DAYS).
    retention = Schedule(
        action=ScheduleActionStartWorkflow(
            AttachmentRetentionWorkflow.run,
            id="jan-samvad-attachment-retention-run",
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=1))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(RETENTION_SCHEDULE_ID, retention)
    except ScheduleAlreadyRunningError:
        pass
    # One schedule per forum of the ladder (weekly review, Sidhi Baat...), created or updated.
    policy = configured_policy(settings, datetime.now(UTC))
    await ensure_review_schedules(client, settings, policy, configured_ladder(settings, policy))


async def connect_with_retry(settings: Settings, runtime: Runtime | None = None) -> Client:
    delay = 1.0
    while True:
        try:
            return await connect(settings, runtime=runtime)
        except RuntimeError as err:
            log.warning(
                "Temporal at %s not reachable (%s); retrying", settings.temporal_address, err
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15)


class Queues(NamedTuple):
    workflows: bool
    sms: bool
    db: bool


def _separate(queue: str, settings: Settings) -> bool:
    return bool(queue) and queue != settings.temporal_task_queue


def selected_queues(settings: Settings) -> Queues:
    """Which task queues this process polls (WORKER_QUEUES): the workflow queue, the SMS queue
    and the read-model queue (the last two only when they are configured apart)."""
    match settings.worker_queues:
        case WorkerQueues.WORKFLOWS:
            return Queues(workflows=True, sms=False, db=False)
        case WorkerQueues.SMS:
            return Queues(workflows=False, sms=True, db=False)
        case WorkerQueues.DB:
            return Queues(workflows=False, sms=False, db=True)
        case _:
            return Queues(
                workflows=True,
                sms=_separate(settings.sms_task_queue, settings),
                db=_separate(settings.db_task_queue, settings),
            )


async def run_worker(settings: Settings) -> None:
    engine = await asyncio.to_thread(prepare_database, settings)
    client = await connect_with_retry(settings, runtime=metrics_runtime(settings))
    policy = configured_policy(settings, datetime.now(UTC))
    configured_ladder(settings, policy)  # a bad LADDER_FILE stops the start, naming the field
    gateway = make_gateway(settings)
    log.info("SMS gateway: %s", gateway.name)
    result = await reconcile(engine, client, settings, policy, grace=GRACE)
    if result.started:
        log.info("reconciliation at start-up started %s", ", ".join(result.started))
    await ensure_schedules(client, settings)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    queues = selected_queues(settings)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = (
            build_worker(
                client,
                settings=settings,
                engine=engine,
                gateway=gateway,
                policy=policy,
                executor=executor,
            )
            if queues.workflows
            else None
        )
        sms_worker = (
            build_sms_worker(
                client, settings=settings, engine=engine, gateway=gateway, executor=executor
            )
            if queues.sms
            else None
        )
        db_worker = (
            build_db_worker(client, settings=settings, engine=engine, executor=executor)
            if queues.db
            else None
        )
        async with (
            worker or contextlib.nullcontext(),
            sms_worker or contextlib.nullcontext(),
            db_worker or contextlib.nullcontext(),
        ):
            if worker is not None:
                log.info("worker polling task queue %s", settings.temporal_task_queue)
            if sms_worker is not None:
                log.info(
                    "SMS worker polling task queue %s (at most %s SMS/s)",
                    settings.sms_task_queue,
                    settings.sms_rate_limit_per_second,
                )
            if db_worker is not None:
                log.info("read-model worker polling task queue %s", settings.db_task_queue)
            await stop.wait()
            log.info("worker stopping: finishing in-flight tasks")
    engine.dispose()


def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    configure_tracing(settings, service="worker")
    asyncio.run(run_worker(settings))
    shutdown_tracing()


if __name__ == "__main__":
    main()
