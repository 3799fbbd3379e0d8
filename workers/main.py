"""The worker process: complaint workflows, their activities, and the reconciliation schedule.

`python -m workers.main` (what `make run` starts). Stops gracefully on SIGINT/SIGTERM: in-flight
activities get `graceful_shutdown_timeout` to finish, after which Temporal hands them to another
worker.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

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
from temporalio.worker import Worker

from activities.case import CaseActivities
from activities.reconcile import GRACE, ReconcileActivities, reconcile
from activities.sms import SmsActivities, SmsGateway, make_gateway
from core.db import prepare_database
from core.settings import Settings, get_settings
from core.temporal import connect
from schemas.policy import Policy, load_policy
from workflows.complaint import ComplaintWorkflow
from workflows.reconcile import ReconcileWorkflow

log = logging.getLogger(__name__)

RECONCILE_SCHEDULE_ID = "jan-samvad-reconcile"


def build_worker(
    client: Client,
    *,
    settings: Settings,
    engine: Engine,
    gateway: SmsGateway,
    policy: Policy,
    executor: ThreadPoolExecutor,
    task_queue: str | None = None,
) -> Worker:
    """One worker for workflows and all activities on `task_queue` (default from settings)."""
    case = CaseActivities(engine)
    sms = SmsActivities(engine, gateway, settings)
    reconciler = ReconcileActivities(engine, client, settings, policy)
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=[ComplaintWorkflow, ReconcileWorkflow],
        activities=[
            case.route_complaint,
            case.find_officer,
            case.record_transition,
            sms.send_sms,
            reconciler.start_pending_workflows,
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


async def connect_with_retry(settings: Settings) -> Client:
    delay = 1.0
    while True:
        try:
            return await connect(settings)
        except RuntimeError as err:
            log.warning(
                "Temporal at %s not reachable (%s); retrying", settings.temporal_address, err
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15)


async def run_worker(settings: Settings) -> None:
    engine = await asyncio.to_thread(prepare_database, settings)
    client = await connect_with_retry(settings)
    policy = load_policy(settings.policy_file)
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
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(
            client,
            settings=settings,
            engine=engine,
            gateway=gateway,
            policy=policy,
            executor=executor,
        )
        async with worker:
            log.info("worker polling task queue %s", settings.temporal_task_queue)
            await stop.wait()
            log.info("worker stopping: finishing in-flight tasks")
    engine.dispose()


def main() -> None:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
