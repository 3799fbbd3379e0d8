"""`make bench --only review` (`python -m bench.run --only review`): a weekly review at the
state's volume on the dev server (which enforces Temporal's limits), beside bare-engine
baselines measured in the same run on the same server.

1. baselines: bare workflows each taking one update (updates/s), and bare workflows each
   sleeping until one shared moment (timer-driven completions/s after it);
2. the deadline storm: `cases` complaints registered at one moment with a report deadline
   that falls for all of them at the same instant (as whole-day deadlines do at 17:00 IST);
   nobody reports, so each escalates to the same weekly review: time until the last has
   moved, escalations/s and their ratio to the baseline's completions, and an officer's
   report (an update of another case) p99 meanwhile;
3. the session over them: time to freeze, an agenda page (summary + 100 cases worst first)
   p99 from the read model, one bulk directive over `bulk` cases (cases/s and its ratio to the
   baseline's update rate), `singles` single decisions p99, the close and its rollovers, the
   largest payload and the events of each of the session's runs, and every case's state
   afterwards (none lost: each decided, rolled over, or elsewhere with a deadline).

In-process: the real worker (`workers.main.build_worker`, the SMS worker beside it, SMS to the
outbox), an SQLite read model in a temporary directory (or PostgreSQL: `--review-postgres`).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select
from temporalio import workflow
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sms import OutboxGateway
from api.services.intake import register_complaint
from bench.stats import percentile
from core.codec import pydantic_converter
from core.db import load_directory, make_engine, migrate
from core.models import Complaint, ReviewSession, utcnow
from core.readmodel import agenda_rows, agenda_summary
from core.settings import Environment, Settings
from core.stack import PRIORITY_DYNAMIC_CONFIG
from harness.factories import complaint_body
from harness.histories import largest_payload, runs_of
from schemas import search_attributes
from schemas.calendar import SessionKind
from schemas.complaint import ComplaintCreate
from schemas.enums import ComplaintStatus
from schemas.policy import Policy
from schemas.review import (
    BulkDecisionRequest,
    BulkSelection,
    CloseSessionRequest,
    DecisionRequest,
    ReviewSessionInput,
    SessionSummary,
)
from schemas.workflow import DecisionKind, DepartmentReport, ReportOutcome
from workers.main import build_sms_worker, build_worker
from workflows.complaint import ComplaintWorkflow
from workflows.review import ReviewSessionWorkflow
from workflows.start import start_complaint_workflow

BIN = Path(sys.executable).parent
WARN_BYTES = 256 * 1024
DISTRICTS = ("Ranchi", "Dhanbad", "Dumka", "Bokaro", "Giridih", "Palamu", "Hazaribagh", "Deoghar")


@workflow.defn(sandboxed=False)
class BareUpdateWorkflow:
    """The bare engine taking updates: each update returns at once."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def touch(self, last: bool) -> None:
        self._done = last


@workflow.defn(sandboxed=False)
class BareTimerWorkflow:
    """The bare engine waking on a timer at a shared moment."""

    @workflow.run
    async def run(self, seconds: float) -> None:
        await workflow.sleep(seconds)


async def _gathered(jobs: list[Callable[[], Awaitable[Any]]], concurrency: int) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))


async def _baselines(client: Client, updates: int, timers: int) -> dict[str, float]:
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[BareUpdateWorkflow, BareTimerWorkflow]):
        handles = await _gathered(
            [
                lambda i=i: client.start_workflow(  # type: ignore[misc]
                    BareUpdateWorkflow.run, id=f"{queue}-u{i}", task_queue=queue
                )
                for i in range(100)
            ],
            20,
        )
        began = time.perf_counter()
        await _gathered(
            [
                lambda i=i: handles[i % 100].execute_update(  # type: ignore[misc]
                    BareUpdateWorkflow.touch, i >= updates - 100
                )
                for i in range(updates)
            ],
            20,
        )
        update_rate = updates / (time.perf_counter() - began)
        wake = 20.0
        started_at = time.perf_counter()
        sleepers = await _gathered(
            [
                lambda i=i: client.start_workflow(  # type: ignore[misc]
                    BareTimerWorkflow.run,
                    max(1.0, wake - (time.perf_counter() - started_at)),
                    id=f"{queue}-t{i}",
                    task_queue=queue,
                )
                for i in range(timers)
            ],
            20,
        )
        # Counted, not awaited one by one: thousands of waits on results would be thousands
        # of long polls, more than the server lets a namespace hold.
        running = (
            f"TaskQueue = '{queue}' AND WorkflowType = 'BareTimerWorkflow' "
            "AND ExecutionStatus = 'Running'"
        )
        await asyncio.sleep(max(0.0, wake - (time.perf_counter() - started_at)))
        while True:
            if not (await client.count_workflows(running)).count:
                break
            await asyncio.sleep(0.2)
        finished = time.perf_counter() - started_at
        assert len(sleepers) == timers
    return {
        "updates_per_s": update_rate,
        "timer_completions_per_s": timers / max(0.001, finished - wake),
    }


def _progress(what: str) -> None:
    """A line on stderr as the section goes (its runs take up to an hour at full size)."""
    print(f"{time.strftime('%H:%M:%S')} review: {what}", file=sys.stderr, flush=True)


def _status_counts(engine: Any) -> dict[str, int]:
    with Session(engine) as db:
        rows = db.exec(select(Complaint.status, func.count()).group_by(col(Complaint.status)))
        return {str(getattr(s, "value", s)): n for s, n in rows}


def _deadline_range(engine: Any, due: datetime) -> tuple[datetime | None, datetime | None, int]:
    """The first and last report deadline of the storm's cases forwarded so far, and how
    many (every deadline before `due` + a day: the controls' fall days later)."""
    with Session(engine) as db:
        return db.exec(
            select(
                func.min(Complaint.next_deadline),
                func.max(Complaint.next_deadline),
                func.count(),
            ).where(col(Complaint.next_deadline) < due + timedelta(days=1))
        ).one()


def _still_registered(engine: Any, complaint_id: int) -> bool:
    with Session(engine) as db:
        row = db.get(Complaint, complaint_id)
        return row is not None and row.status == ComplaintStatus.REGISTERED


async def review_at_scale(
    cases: int,
    bulk: int,
    singles: int,
    postgres_url: str | None = None,
    spread: timedelta = timedelta(0),
) -> dict[str, Any]:
    """The storm and the session over `cases` cases (see the module's docstring), the read
    model in SQLite, or in a scratch schema of `postgres_url` (dropped afterwards)."""
    with tempfile.TemporaryDirectory(prefix="jansamvad-bench-review-") as directory:
        schema = f"bench_review_{uuid.uuid4().hex[:8]}"
        url = postgres_url or f"sqlite:///{Path(directory) / 'read-model.db'}"
        settings = Settings(
            environment=Environment.TEST,
            data_dir=Path(directory),
            database_url=url,
            temporal_task_queue=f"bench-{uuid.uuid4().hex[:6]}",
            sms_task_queue=f"bench-sms-{uuid.uuid4().hex[:6]}",
            sms_rate_limit_per_second=1000.0,
            workflow_id_prefix=f"b{uuid.uuid4().hex[:6]}-",
        )
        if postgres_url:
            with sa.create_engine(postgres_url).begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        else:
            engine = make_engine(url)
        migrate(engine)
        load_directory(engine, settings.directory_file)
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_converter,
            dev_server_existing_path=str(BIN / "temporal"),
            search_attributes=search_attributes.ALL,
            ui=False,
            dev_server_log_level="error",
            dev_server_extra_args=PRIORITY_DYNAMIC_CONFIG,
        )
        try:
            result = await _measure(env.client, engine, settings, cases, bulk, singles, spread)
            result["read_model"] = engine.dialect.name
            return result
        finally:
            await env.shutdown()
            engine.dispose()
            if postgres_url:
                with sa.create_engine(postgres_url).begin() as connection:
                    connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


async def _measure(
    client: Client,
    engine: Any,
    settings: Settings,
    cases: int,
    bulk: int,
    singles: int,
    spread: timedelta,
) -> dict[str, Any]:
    result: dict[str, Any] = {"cases": cases, "timer_spread_s": spread.total_seconds()}
    result["baseline"] = await _baselines(
        client, updates=max(bulk, 500), timers=max(cases // 4, 500)
    )
    gateway = OutboxGateway()
    with ThreadPoolExecutor(max_workers=32) as executor:
        worker = build_worker(
            client,
            settings=settings,
            engine=engine,
            gateway=gateway,
            policy=Policy(),
            executor=executor,
        )
        sms = build_sms_worker(
            client, settings=settings, engine=engine, gateway=gateway, executor=executor
        )
        async with worker, sms:
            await _storm_and_session(client, engine, settings, cases, bulk, singles, spread, result)
    base = result["baseline"]
    result["storm"]["ratio_to_baseline_completions"] = (
        result["storm"]["escalations_per_s"] / base["timer_completions_per_s"]
    )
    result["session"]["bulk_ratio_to_baseline_updates"] = (
        result["session"]["bulk_cases_per_s"] / base["updates_per_s"]
    )
    return result


async def _storm_and_session(
    client: Client,
    engine: Any,
    settings: Settings,
    cases: int,
    bulk: int,
    singles: int,
    spread: timedelta,
    result: dict[str, Any],
) -> None:
    # All registered "at one moment" (their created_at), so one deadline falls for all.
    moment = utcnow()
    # Long enough to register, start and forward every case first (6.4 a second at 10,000 on
    # two cores), so that the deadline falls for all of them at once.
    lead = 60 + cases / 5
    due = moment + timedelta(seconds=lead)
    # No officer reminders: a real case's fall days before its deadline (half and four fifths
    # of fifteen days), not in the minutes of this lead, where two per case (20,000 timer
    # wakes and their SMS at 10,000 cases) would put the worker behind before the storm.
    storm_policy = Policy(
        working_day_ends=None,
        report_deadline_complaint=timedelta(seconds=lead),
        timer_spread=spread,
        reminder_fractions=(),
    )
    control_policy = Policy(working_day_ends=None)

    async def open_one(i: int, policy: Policy) -> Any:
        if policy is storm_policy:
            # A window shorter than a day counts from the case's forwarding (its first
            # workflow task), not from its registration: each case's window ends at `due`,
            # as every whole-day deadline of one day ends at 17:00 IST. (With one window for
            # all, the deadlines fell as far apart as the cases' forwardings, and the storm
            # measured the rate of registration.)
            policy = policy.model_copy(update={"report_deadline_complaint": due - utcnow()})
        body = ComplaintCreate.model_validate(
            complaint_body(
                citizen__district=DISTRICTS[i % len(DISTRICTS)],
                citizen__phone=f"9{i:09d}",
                description=f"bench review case {i}",
            )
        )
        row, _ = await asyncio.to_thread(
            register_complaint,
            engine,
            body,
            idempotency_key=None,
            now=moment,
            workflow_id_prefix=settings.workflow_id_prefix,
        )
        handle = await start_complaint_workflow(
            client, engine, row, policy=policy, settings=settings
        )
        # Its window counts from its forwarding, so each registration in flight waits for
        # its case's forwarding: the starts (fast on PostgreSQL) never run more than the
        # registrations in flight ahead of the worker, whose backlog would spread the
        # deadlines (a run on PostgreSQL started 10,000 in 279 s and forwarded them over
        # 26 minutes, its deadlines as far apart).
        assert row.id is not None
        while True:
            if not await asyncio.to_thread(_still_registered, engine, row.id):
                return handle
            await asyncio.sleep(0.2)

    began = time.perf_counter()
    _progress(f"registering {cases} cases")
    await _gathered([partial(open_one, i, storm_policy) for i in range(cases)], 32)
    controls = await _gathered(
        [partial(open_one, cases + i, control_policy) for i in range(50)], 16
    )
    result["registered_in_s"] = time.perf_counter() - began
    # How far apart the deadlines fell (the lag of each forwarding behind its start), once
    # every case has been forwarded (or the moment has come).
    while True:
        first, last, forwarded = await asyncio.to_thread(_deadline_range, engine, due)
        if forwarded >= cases or utcnow() >= due:
            break
        await asyncio.sleep(0.5)
    result["deadlines_within_s"] = (last - first).total_seconds() if first and last else None
    wait = (due - utcnow()).total_seconds()
    if wait < 0:
        result["warning"] = f"registration outran the deadline by {-wait:.0f} s"
    _progress(f"registered in {result['registered_in_s']:.0f} s; the storm in {wait:.0f} s")
    await asyncio.sleep(max(0.0, wait))
    storm_began = time.perf_counter()
    _progress("storm")

    # Officers keep reporting on their other cases during the storm.
    report_ms: list[float] = []
    report_waits = 0  # reports asked again after the server's RPC deadline

    async def report(handle: Any) -> None:
        # A case still being forwarded (a loaded machine) is reported once it is with the
        # officer; only the report that is taken is timed. A report the server has not
        # answered within its RPC deadline is asked again under the same update ID (taken
        # once), timed from its first sending: an officer waiting that long is the figure.
        nonlocal report_waits
        sent, refusals = time.perf_counter(), 0
        for _ in range(100):
            try:
                await handle.execute_update(
                    ComplaintWorkflow.submit_report,
                    DepartmentReport(
                        outcome=ReportOutcome.RESOLVED, reply="Done", submitted_by="bench-officer"
                    ),
                    id=f"bench-report-{handle.id}-{refusals}",
                )
            except WorkflowUpdateFailedError:  # not with the officer yet: a new report
                refusals += 1
                await asyncio.sleep(1.0)
                sent = time.perf_counter()
                continue
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                report_waits += 1
                await asyncio.sleep(1.0)
                continue
            report_ms.append(1000 * (time.perf_counter() - sent))
            return

    async def reports() -> None:
        for handle in controls:
            await report(handle)
            await asyncio.sleep(0.2)

    reporting = asyncio.create_task(reports())
    moved_at = None
    while time.perf_counter() - storm_began < 3600:
        counts = await asyncio.to_thread(_status_counts, engine)
        if counts.get("weekly_review", 0) >= cases:
            moved_at = time.perf_counter()
            break
        await asyncio.sleep(0.5)
    await reporting
    took = (moved_at or time.perf_counter()) - storm_began
    result["storm"] = {
        "cases": cases,
        "all_moved": moved_at is not None,
        "last_moved_after_s": took,
        "escalations_per_s": cases / took,
        "reports": len(report_ms),
        "report_rpc_timeouts": report_waits,
        "report_p99_ms": percentile(report_ms, 0.99) if report_ms else None,
        "report_p50_ms": percentile(report_ms, 0.50) if report_ms else None,
    }

    # The session over them, its cutoff passed (as its planner would open it at the cutoff).
    with Session(engine) as db:
        sid = db.exec(
            select(Complaint.review_session_id).where(Complaint.status == "weekly_review")
        ).first()
        regs = list(
            db.exec(
                select(Complaint.registration_number)
                .where(Complaint.review_session_id == sid)
                .order_by(col(Complaint.id))
            )
        )
    assert sid is not None
    _progress(f"storm moved in {took:.0f} s; freezing the session")
    starts = utcnow() + timedelta(days=1)
    handle = await client.start_workflow(
        ReviewSessionWorkflow.run,
        ReviewSessionInput(
            kind=SessionKind.WEEKLY_REVIEW,
            session_id=sid,
            starts_at=starts,
            cutoff_at=utcnow() - timedelta(minutes=1),
            sms_task_queue=settings.sms_task_queue,
            batches=settings.review_batches(),
        ),
        id=f"{settings.workflow_id_prefix}{sid}",
        task_queue=settings.temporal_task_queue,
    )
    began = time.perf_counter()
    while True:
        summary = await handle.query(ReviewSessionWorkflow.get_summary)
        if summary.phase.value == "agenda_frozen" and summary.agenda_count:
            break
        await asyncio.sleep(0.2)
    session: dict[str, Any] = {"agenda": summary.agenda_count}
    session["freeze_s"] = time.perf_counter() - began

    page_ms = []
    for _ in range(50):
        offset = random.randrange(0, max(1, len(regs) - 100))
        sent = time.perf_counter()
        with Session(engine) as db:
            agenda_summary(db, sid)
            agenda_rows(db, sid, BulkSelection(), utcnow(), limit=100, offset=offset)
        page_ms.append(1000 * (time.perf_counter() - sent))
    session["agenda_page_p99_ms"] = percentile(page_ms, 0.99)

    chosen = regs[:bulk]
    _progress(f"bulk directive over {len(chosen)} cases")
    began = time.perf_counter()
    progress = await handle.execute_update(
        ReviewSessionWorkflow.record_bulk_decision,
        BulkDecisionRequest(
            selection=BulkSelection(registration_numbers=chosen),
            decision=DecisionKind.DIRECTIVE,
            text="Executive engineer reports by Friday",
            decided_by="bench-reviewer",
        ),
        id="bench-bulk-1",
    )
    while True:
        summary = await handle.query(ReviewSessionWorkflow.get_summary)
        if not summary.bulks_pending:
            break
        await asyncio.sleep(0.5)
    took = time.perf_counter() - began
    session["bulk_total"] = progress.total
    session["bulk_s"] = took
    session["bulk_cases_per_s"] = progress.total / took

    _progress(f"bulk applied in {took:.0f} s; {singles} single decisions")
    single_ms = []
    for reg in regs[bulk : bulk + singles]:
        sent = time.perf_counter()
        await handle.execute_update(
            ReviewSessionWorkflow.record_decision,
            DecisionRequest(
                registration_number=reg,
                decision=DecisionKind.DIRECTIVE,
                text="Report within ten days",
                decided_by="bench-reviewer",
            ),
        )
        single_ms.append(1000 * (time.perf_counter() - sent))
    session["single_p99_ms"] = percentile(single_ms, 0.99)

    _progress("closing the session")
    began = time.perf_counter()
    await handle.execute_update(
        ReviewSessionWorkflow.close, CloseSessionRequest(closed_by="bench-reviewer")
    )
    final = await client.get_workflow_handle(handle.id, result_type=SessionSummary).result()
    session["close_s"] = time.perf_counter() - began
    session["rolled_over"] = final.rolled_over_count
    session["decided"] = final.decided_count
    runs = await runs_of(client, handle.id)
    session["runs"] = len(runs)
    session["events_per_run_max"] = max(len(r) for r in runs)
    session["largest_payload_bytes"] = max(largest_payload(r) for r in runs)
    with Session(engine) as db:
        row = db.get(ReviewSession, sid)
        session["read_model_counts"] = (
            (row.agenda_count, row.decided_count, row.rolled_over_count) if row else None
        )
    counts = await asyncio.to_thread(_status_counts, engine)
    session["case_states"] = counts
    open_ = sum(n for s, n in counts.items() if ComplaintStatus(s).is_open)
    session["every_case_open_with_a_deadline"] = open_ == cases + 50
    result["session"] = session
