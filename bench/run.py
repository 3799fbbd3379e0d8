"""`make bench`: throughput, latency and scale beside a bare-workflow baseline, same run.

Starts its own embedded stack on random free ports (file-backed dev server with WAL pragmas,
worker, API, SQLite read model; harness/processes.py), then measures (each section selectable
with `--only`):

1. baseline: a bare workflow with one no-op activity on the same server, with the project's
   worker settings (sandboxed workflow, activity in the thread pool) and as the bare engine
   (unsandboxed, async activity): starts/s and completions/s;
2. intake: complaints POSTed over HTTP by concurrent clients, as a burst and paced at the
   target rate: complaints/s, p50/p95/p99 latency, ratio to the baseline's start rate, and
   POST -> acknowledgement SMS recorded (p50/p99);
3. lifecycle: cases driven through forwarding, report, callback and closure by simulated
   officers and telecallers over HTTP (bench/lifecycle.py): closed/s and transitions/s;
4. scale: open complaints waiting on timers, on a fresh stack (bench/scale.py): worker RSS
   growth per case, dev server database size per case;
5. readmodel: list/filter, the officer's inbox (first page and page 50), the verification
   list, search by number, phone, name and two Hindi words, the caller's history and a review
   agenda at 100,000 and 1,000,000 generated complaints in PostgreSQL and SQLite
   (bench/readmodel.py): p50/p99 beside the target (p99 <= 100 ms) and index use;
7. review: a weekly review at the state's volume and the deadline storm before it, on a dev
   server of its own beside bare-engine update and timer baselines (bench/review.py; not in the
   default run: `--only review`);
8. attachments: photos of about 3 MB uploaded by concurrent clients beside small photos in the
   same run, on a stack and clamd of their own (bench/attachments.py): upload p50/p99, their
   ratio to the small photos', the API's resident memory (not in the default run: several
   minutes; `--only attachments`);
6. priority: priority under load, on a fresh stack whose SMS queue sends 1/s (a long code):
   a burst of routine complaints with urgent ones and officers' reports spread over it
   (bench/priority.py): urgent registered -> forwarded and -> officer SMS handed over (p50/p99,
   and its position among the SMS handed over after its registration), report latency during
   the burst over report latency on the idle stack.

SMS go to the outbox; the SMS queue's rate limit is set to `--sms-rate` (default 100/s, the
class of a Twilio short code; a long code sends about 1/s, an alphanumeric or DLT sender ID
about 10/s per account by default). Prints a table and writes bench/results/<time>.json.
Absolute figures drift on a shared machine; the ratios are what to compare between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from temporalio.client import Client
from temporalio.worker import Worker

from bench.attachments import run as attachments_bench
from bench.bare import BareUnsandboxedWorkflow, BareWorkflow, noop, noop_async
from bench.lifecycle import lifecycle
from bench.priority import priority_under_load
from bench.readmodel import read_model
from bench.review import review_at_scale
from bench.scale import open_cases
from bench.stats import cpu_model, percentile
from harness.factories import complaint_body
from harness.processes import EmbeddedStack

RESULTS = Path(__file__).parent / "results"
SECTIONS = (
    "baseline",
    "intake",
    "lifecycle",
    "scale",
    "readmodel",
    "priority",
    "review",
    "attachments",
)
# Chosen with --only: the review section runs 10,000 cases for about an hour, the attachments
# section several minutes of 3 MB uploads.
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s not in ("review", "attachments"))
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


async def baseline(
    address: str, count: int, concurrency: int, *, sandboxed: bool = True
) -> dict[str, float]:
    """Bare workflows on the stack's server: starts/s and completions/s. `sandboxed`: with
    the project's worker settings (sandbox, sync activity in a 16-thread pool, as
    workers/main.py); else the bare engine (no sandbox, async activity)."""
    client = await Client.connect(address)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    gate = asyncio.Semaphore(concurrency)
    workflow = BareWorkflow if sandboxed else BareUnsandboxedWorkflow
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[workflow],
            activities=[noop if sandboxed else noop_async],
            activity_executor=executor,
        ):

            async def start(index: int) -> Any:
                async with gate:
                    return await client.start_workflow(
                        workflow.run, id=f"bare-{queue}-{index}", task_queue=queue
                    )

            began = time.perf_counter()
            handles = await asyncio.gather(*(start(i) for i in range(count)))
            started = time.perf_counter() - began
            await asyncio.gather(*(handle.result() for handle in handles))
            finished = time.perf_counter() - began
    return {
        "workflows": count,
        "starts_per_s": count / started,
        "completions_per_s": count / finished,
    }


def acknowledged(database: Path) -> set[str]:
    """Registration numbers whose acknowledgement SMS is recorded."""
    with sqlite3.connect(database, timeout=10) as connection:
        rows = connection.execute(
            "SELECT c.registration_number FROM message m JOIN complaint c ON c.id = m.complaint_id"
            " WHERE m.template = 'acknowledgement'"
        ).fetchall()
    return {row[0] for row in rows}


def still_registered(database: Path) -> int:
    """Cases not yet forwarded (their workflows still have intake work to do)."""
    with sqlite3.connect(database, timeout=10) as connection:
        row = connection.execute("SELECT count(*) FROM complaint WHERE status = 'registered'")
        return int(row.fetchone()[0])


async def settle(database: Path, within: float = 120.0) -> None:
    """Wait until every case registered so far is forwarded: the paced run measures the
    target load on an idle stack, not the tail of the burst before it."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if not await asyncio.to_thread(still_registered, database):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)  # the forwarding SMS activities after the last projection


async def intake(
    base_url: str,
    database: Path,
    count: int,
    concurrency: int,
    rate: float | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """Concurrent POSTs (as fast as possible, or paced at `rate` per second: an open loop
    like callers arriving); latency per POST; time until each acknowledgement is recorded."""
    posted_at: dict[str, float] = {}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)
    run = uuid.uuid4().hex[:8]  # fresh Idempotency-Keys per run
    posting = asyncio.Event()
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=headers) as http:

        async def post(index: int) -> None:
            body = complaint_body(citizen__phone=f"97{index:08d}", description=f"bench {index}")
            if rate:
                await asyncio.sleep(max(0.0, began + index / rate - time.perf_counter()))
            async with gate:
                sent = time.perf_counter()
                answer = await http.post(
                    "/v1/complaints", json=body, headers={"Idempotency-Key": f"{run}-{index}"}
                )
                latencies.append(time.perf_counter() - sent)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code in (200, 201, 202):
                posted_at[answer.json()["registration_number"]] = sent

        ack_seen: dict[str, float] = {}

        async def watch(until: float) -> None:
            # Polls the read model: resolution ~50 ms, enough against a 2 s target.
            while time.perf_counter() < until and not (
                posting.is_set() and posted_at.keys() <= ack_seen.keys()
            ):
                now = time.perf_counter()
                for number in await asyncio.to_thread(acknowledged, database):
                    ack_seen.setdefault(number, now)
                await asyncio.sleep(0.05)

        began = time.perf_counter()
        watcher = asyncio.create_task(watch(began + 120))
        await asyncio.gather(*(post(i) for i in range(count)))
        elapsed = time.perf_counter() - began
        posting.set()
        await watcher
    ack = [ack_seen[n] - posted_at[n] for n in posted_at if n in ack_seen]
    return {
        "complaints": count,
        "concurrency": concurrency,
        "offered_rate_per_s": rate or 0.0,
        "statuses": statuses,  # type: ignore[dict-item]
        "complaints_per_s": count / elapsed,
        "post_p50_ms": 1000 * percentile(latencies, 0.50),
        "post_p95_ms": 1000 * percentile(latencies, 0.95),
        "post_p99_ms": 1000 * percentile(latencies, 0.99),
        "post_mean_ms": 1000 * statistics.fmean(latencies),
        "ack_recorded": len(ack),
        "ack_p50_ms": 1000 * percentile(ack, 0.50) if ack else float("nan"),
        "ack_p99_ms": 1000 * percentile(ack, 0.99) if ack else float("nan"),
    }


def _sizes(listed: str) -> list[int]:
    """Complaint counts from a comma-separated list; 0 (or nothing) is no run at all."""
    return [int(size) for size in listed.split(",") if size.strip() and int(size) > 0]


def _postgres_reachable(url: str) -> str | None:
    try:
        probe = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        probe.dispose()
        return None
    except Exception as err:  # reported in the table instead of the section
        return f"{type(err).__name__}: {err}".splitlines()[0]


def _stack_sections(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """Baseline, intake and lifecycle on one stack (in that order)."""
    with tempfile.TemporaryDirectory(prefix="jansamvad-bench-") as directory:
        with EmbeddedStack(Path(directory), sms_rate_limit=args.sms_rate) as stack:
            stack.healthy()
            address = stack.settings.temporal_address
            if "baseline" in args.only:
                result["baseline"] = asyncio.run(
                    baseline(address, args.workflows, args.concurrency)
                )
                result["baseline_bare_engine"] = asyncio.run(
                    baseline(address, args.workflows, args.concurrency, sandboxed=False)
                )
            if "intake" in args.only:
                result["intake"] = asyncio.run(
                    intake(
                        stack.base_url,
                        stack.database_path,
                        args.complaints,
                        args.concurrency,
                        headers=stack.headers,
                    )
                )
                # Then the target load, paced: latency at 20/s rather than under a burst.
                asyncio.run(settle(stack.database_path))
                result["intake_paced"] = asyncio.run(
                    intake(
                        stack.base_url,
                        stack.database_path,
                        args.complaints,
                        args.concurrency,
                        rate=args.rate,
                        headers=stack.headers,
                    )
                )
            if "lifecycle" in args.only:
                result["lifecycle"] = asyncio.run(
                    lifecycle(
                        stack.base_url,
                        stack.database_path,
                        args.lifecycle_cases,
                        args.concurrency,
                        headers=stack.headers,
                    )
                )


def _scale_section(args: argparse.Namespace) -> dict[str, Any]:
    """Open cases on a fresh stack, so the worker's memory starts from nothing."""
    with tempfile.TemporaryDirectory(prefix="jansamvad-bench-scale-") as directory:
        with EmbeddedStack(Path(directory), sms_rate_limit=args.sms_rate) as stack:
            stack.healthy()
            assert stack.worker is not None
            return asyncio.run(
                open_cases(
                    stack.base_url,
                    stack.database_path,
                    stack.settings.data_dir / "temporal.db",
                    stack.worker.pid,
                    args.open_cases,
                    args.concurrency,
                    headers=stack.headers,
                )
            )


def _priority_section(args: argparse.Namespace) -> dict[str, Any]:
    """A fresh stack whose SMS queue sends `--priority-sms-rate` a second (a long code)."""
    with tempfile.TemporaryDirectory(prefix="jansamvad-bench-priority-") as directory:
        with EmbeddedStack(Path(directory), sms_rate_limit=args.priority_sms_rate) as stack:
            stack.healthy()
            return asyncio.run(
                priority_under_load(
                    stack.base_url,
                    stack.database_path,
                    routine=args.priority_routine,
                    headers=stack.headers,
                )
            )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _rows(result: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    base, bare = result.get("baseline"), result.get("baseline_bare_engine")
    if base and bare:
        rows += [
            ("baseline starts/s", f"{base['starts_per_s']:.1f}", ""),
            ("baseline completions/s", f"{base['completions_per_s']:.1f}", ""),
            ("bare engine starts/s", f"{bare['starts_per_s']:.1f}", "(no sandbox)"),
            ("bare engine completions/s", f"{bare['completions_per_s']:.1f}", "(no sandbox)"),
        ]
    took, paced = result.get("intake"), result.get("intake_paced")
    if took and paced:
        rows += [
            ("intake complaints/s", f"{took['complaints_per_s']:.1f}", ">= 20"),
        ]
        if base and bare:
            rows += [
                ("intake / baseline starts", f"{took['ratio_to_baseline_starts']:.2f}", ">= 0.8"),
                ("intake / bare engine starts", f"{took['ratio_to_bare_engine_starts']:.2f}", ""),
            ]
        rows += [
            ("POST p50 ms", f"{took['post_p50_ms']:.0f}", ""),
            ("POST p95 ms", f"{took['post_p95_ms']:.0f}", ""),
            ("POST p99 ms", f"{took['post_p99_ms']:.0f}", "<= 300"),
            ("POST -> ack SMS p50 ms", f"{took['ack_p50_ms']:.0f}", ""),
            ("POST -> ack SMS p99 ms", f"{took['ack_p99_ms']:.0f}", "<= 2000"),
            (f"paced {args.rate:g}/s: achieved/s", f"{paced['complaints_per_s']:.1f}", ">= 20"),
            ("paced: POST p50 ms", f"{paced['post_p50_ms']:.0f}", ""),
            ("paced: POST p99 ms", f"{paced['post_p99_ms']:.0f}", "<= 300"),
            ("paced: ack SMS p50 ms", f"{paced['ack_p50_ms']:.0f}", ""),
            ("paced: ack SMS p99 ms", f"{paced['ack_p99_ms']:.0f}", "<= 2000"),
        ]
    life = result.get("lifecycle")
    if life:
        rows += [
            ("lifecycle closed/s", f"{life['closed_per_s']:.1f}", f"({life['closed']} closed)"),
            ("lifecycle transitions/s", f"{life['transitions_per_s']:.1f}", ""),
            (
                "lifecycle update p50/p99 ms",
                f"{life['update_p50_ms']:.0f}/{life['update_p99_ms']:.0f}",
                "",
            ),
        ]
        if base:
            rows.append(
                (
                    "transitions / baseline compl.",
                    f"{life['ratio_to_baseline_completions']:.2f}",
                    ">= 0.7",
                )
            )
    scale = result.get("scale")
    if scale:
        rows += [
            (
                f"{scale['open_cases']} open: RSS KB/case 1st half",
                f"{scale['worker_rss_growth_kb_per_case_first_half']:.1f}",
                "",
            ),
            (
                "open: RSS KB/case 2nd half",
                f"{scale['worker_rss_growth_kb_per_case_second_half']:.1f}",
                "~0 (bounded)",
            ),
            ("open: dev server DB KB/case", f"{scale['server_db_kb_per_case']:.1f}", ""),
            ("open: read model KB/case", f"{scale['read_model_kb_per_case']:.1f}", ""),
        ]
    model = result.get("readmodel")
    if isinstance(model, dict):
        for database, by_size in model.items():
            if not isinstance(by_size, dict):
                rows.append((f"readmodel {database}", "skipped", str(by_size)[:60]))
                continue
            for size, measured in by_size.items():
                for name, read in measured["reads"].items():
                    index = "index" if read["uses_index"] else "SCAN"
                    short = "pg" if database == "postgresql" else database
                    rows.append(
                        (
                            f"{short} {int(size):,} {name}"[:40],
                            f"{read['p50_ms']:.0f}/{read['p99_ms']:.0f}",
                            f"p99 <= {read['target_p99_ms']} ({index})",
                        )
                    )
                for name, read in measured.get("dashboard", {}).items():
                    rows.append(
                        (
                            f"{short} {int(size):,} {name}"[:40],
                            f"{read['p50_ms']:.0f}/{read['p99_ms']:.0f}",
                            "p99 <= 500",
                        )
                    )
                collections = measured.get("full_collections")
                if collections:
                    rows.append(
                        (
                            f"{short} {int(size):,} full GCs in the section"[:40],
                            f"{collections['count']}, longest {collections['longest_ms']:.0f} ms",
                            "",
                        )
                    )
    elif model:
        rows.append(("readmodel", "skipped", str(model)[:60]))
    prio = result.get("priority")
    if prio:
        ratio = prio["action_burst_over_idle"]
        rows += [
            (
                f"priority: {prio['routine']} routine + {prio['urgent']} urgent, SMS 1/s",
                f"{prio['burst_s']:.1f} s",
                f"({prio['urgent_measured']} urgent measured)",
            ),
            (
                "urgent -> forwarded p50/p99 ms",
                f"{_ms(prio['urgent_forwarded_p50_ms'])}/{_ms(prio['urgent_forwarded_p99_ms'])}",
                "",
            ),
            (
                "urgent -> officer SMS p50/p99 ms",
                f"{_ms(prio['urgent_officer_sms_p50_ms'])}/"
                f"{_ms(prio['urgent_officer_sms_p99_ms'])}",
                "",
            ),
            (
                "urgent officer SMS worst position",
                str(prio["urgent_officer_sms_worst_position"]),
                "<= 3",
            ),
            (
                "report p50 ms idle / burst",
                f"{prio['action_idle_p50_ms']:.0f}/{prio['action_burst_p50_ms']:.0f}",
                "",
            ),
            ("report burst / idle", "-" if ratio is None else f"{ratio:.2f}", "<= 2"),
        ]
    review = result.get("review")
    if review:
        storm, session, base = review["storm"], review["session"], review["baseline"]
        rows += [
            ("review: read model", str(review.get("read_model", "sqlite")), ""),
            ("storm: timer spread (s)", f"{review.get('timer_spread_s', 0):.0f}", ""),
            (
                "storm: deadlines fell within (s)",
                _seconds(review.get("deadlines_within_s")),
                "",
            ),
            ("review: cases on the agenda", f"{session['agenda']}", f"{review['cases']}"),
            ("baseline: bare updates/s", f"{base['updates_per_s']:.0f}", ""),
            ("baseline: bare timer completions/s", f"{base['timer_completions_per_s']:.0f}", ""),
            ("storm: last case moved after (s)", f"{storm['last_moved_after_s']:.0f}", "<= 3600"),
            ("storm: escalations/s", f"{storm['escalations_per_s']:.1f}", ""),
            (
                "storm: ratio to baseline completions",
                f"{storm['ratio_to_baseline_completions']:.2f}",
                ">= 0.3",
            ),
            ("storm: officer's report p99 (ms)", _ms(storm["report_p99_ms"]), ""),
            (
                "storm: reports asked again past the RPC deadline",
                str(storm.get("report_rpc_timeouts", 0)),
                "",
            ),
            ("review: freeze (s)", f"{session['freeze_s']:.1f}", ""),
            ("review: agenda page p99 (ms)", _ms(session["agenda_page_p99_ms"]), "<= 100"),
            ("review: bulk directive cases/s", f"{session['bulk_cases_per_s']:.1f}", ""),
            (
                "review: bulk ratio to baseline updates",
                f"{session['bulk_ratio_to_baseline_updates']:.2f}",
                ">= 0.3",
            ),
            ("review: single decision p99 (ms)", _ms(session["single_p99_ms"]), ""),
            (
                f"review: close, {session['rolled_over']} rollovers (s)",
                f"{session['close_s']:.1f}",
                "",
            ),
            (
                "review: largest payload (bytes)",
                f"{session['largest_payload_bytes']}",
                "< 262144",
            ),
            (
                f"review: events/run max ({session['runs']} runs)",
                f"{session['events_per_run_max']}",
                "< 25600",
            ),
            (
                "review: every case open, with a deadline",
                str(session["every_case_open_with_a_deadline"]),
                "True",
            ),
        ]
    files = result.get("attachments")
    if files:
        rows += [
            (
                f"attachments: {files['photo_mb']} MB upload p50 (ms)",
                _ms(files["p50_ms"]),
                "",
            ),
            ("attachments: upload p99 (ms)", _ms(files["p99_ms"]), ""),
            (
                "attachments: p50 ratio to small photos",
                f"{files['p50_ratio_to_baseline']:.1f}",
                "",
            ),
            ("attachments: uploads/s", f"{files['uploads_per_s']:.2f}", ""),
            ("attachments: API RSS growth (MB)", str(files["api_rss_growth_mb"]), "bounded"),
        ]
    return rows


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (`make bench ARGS="--only attachments"`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=list(DEFAULT_SECTIONS),
        help="sections to run",
    )
    parser.add_argument("--workflows", type=int, default=300, help="baseline workflows")
    parser.add_argument("--complaints", type=int, default=300, help="complaints POSTed")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="paced run's complaints/s (the target)"
    )
    parser.add_argument(
        "--sms-rate", type=float, default=100.0, help="SMS queue rate limit per second"
    )
    parser.add_argument("--lifecycle-cases", type=int, default=100, help="cases to closure")
    parser.add_argument("--open-cases", type=int, default=2000, help="open cases (scale)")
    parser.add_argument(
        "--readmodel-sizes",
        default="100000,1000000",
        help="complaint counts for the read-model section (comma-separated)",
    )
    parser.add_argument(
        "--readmodel-sqlite-sizes",
        default=None,
        help="complaint counts for SQLite (default: --readmodel-sizes; 0 or empty: none)",
    )
    parser.add_argument("--readmodel-repeats", type=int, default=20, help="reads per query")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="for the readmodel section")
    parser.add_argument(
        "--priority-routine", type=int, default=200, help="routine complaints in the burst"
    )
    parser.add_argument(
        "--priority-sms-rate", type=float, default=1.0, help="SMS/s in the priority section"
    )
    parser.add_argument(
        "--review-cases", type=int, default=10_000, help="cases on the review's agenda (storm)"
    )
    parser.add_argument("--review-bulk", type=int, default=2000, help="cases of the bulk directive")
    parser.add_argument("--review-singles", type=int, default=200, help="single decisions")
    parser.add_argument(
        "--review-spread-s",
        type=float,
        default=0.0,
        help="the storm's cases move within this many seconds of their deadline (timer_spread)",
    )
    parser.add_argument(
        "--review-postgres",
        action="store_true",
        help="the review section's read model in PostgreSQL (--postgres-url), not SQLite",
    )
    parser.add_argument("--attachment-photos", type=int, default=100, help="photos uploaded")
    parser.add_argument("--attachment-clients", type=int, default=10, help="uploading at once")
    parser.add_argument(
        "--attachment-megabytes", type=float, default=3.0, help="size of the large photos"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)

    result: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": cpu_model(),
            "platform": platform.platform(),
        },
        "sms_rate_limit_per_second": args.sms_rate,
        "targets": {
            "complaints_per_s": ">= 20",
            "post_p99_ms": "<= 300",
            "ack_p99_ms": "<= 2000",
            "ratio_to_baseline_starts": ">= 0.8",
            "lifecycle_transitions_ratio_to_baseline_completions": ">= 0.7",
            "worker_rss_growth_second_half": "about 0 (bounded cache)",
            "read_model_p99_ms_at_1m": "<= 100",
            "urgent_officer_sms_worst_position": "<= 3",
            "action_burst_over_idle": "<= 2",
            "review_largest_payload_bytes": "< 262144",
            "review_bulk_ratio_to_baseline_updates": ">= 0.3",
            "storm_ratio_to_baseline_completions": ">= 0.3",
            "storm_last_moved_after_s": "<= 3600",
        },
    }
    if {"baseline", "intake", "lifecycle"} & set(args.only):
        _stack_sections(args, result)
    if "scale" in args.only:
        result["scale"] = _scale_section(args)
    if "priority" in args.only:
        result["priority"] = _priority_section(args)
    if "review" in args.only:
        result["review"] = asyncio.run(
            review_at_scale(
                args.review_cases,
                args.review_bulk,
                args.review_singles,
                args.postgres_url if args.review_postgres else None,
                timedelta(seconds=args.review_spread_s),
            )
        )
    if "attachments" in args.only:
        result["attachments"] = attachments_bench(
            args.attachment_photos, args.attachment_clients, args.attachment_megabytes
        )
    if "readmodel" in args.only:
        problem = _postgres_reachable(args.postgres_url)
        sizes = _sizes(args.readmodel_sizes)
        sqlite_sizes = (
            _sizes(args.readmodel_sqlite_sizes)
            if args.readmodel_sqlite_sizes is not None
            else sizes
        )
        result["readmodel"] = read_model(
            None if problem else args.postgres_url,
            sizes,
            args.readmodel_repeats,
            sqlite_sizes=sqlite_sizes,
        )
        if problem:
            result["readmodel"]["postgresql"] = f"PostgreSQL unreachable: {problem}"
    base, bare = result.get("baseline"), result.get("baseline_bare_engine")
    if base and bare and "intake" in result:
        took = result["intake"]
        took["ratio_to_baseline_starts"] = took["complaints_per_s"] / base["starts_per_s"]
        took["ratio_to_bare_engine_starts"] = took["complaints_per_s"] / bare["starts_per_s"]
    if base and "lifecycle" in result:
        life = result["lifecycle"]
        life["ratio_to_baseline_completions"] = (
            life["transitions_per_s"] / base["completions_per_s"]
        )

    machine = result["machine"]
    print(
        f"\nJan Samvad bench, {machine['cpus']} CPUs ({machine['cpu_model']}), SMS queue "
        f"{args.sms_rate:g}/s, statuses {result.get('intake', {}).get('statuses', '-')}"
    )
    print(f"{'measure':<40}{'value':>12}  target")
    for name, value, target in _rows(result, args):
        print(f"{name:<40}{value:>12}  {target}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
