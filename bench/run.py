"""`make bench`: intake throughput and latency beside a bare-engine baseline, same run.

Starts its own embedded stack on random free ports (file-backed dev server with WAL pragmas,
worker, API, SQLite read model; tests/processes.py), then measures:

1. baseline: a bare workflow with one no-op activity, on the same server: starts/s and
   completions/s;
2. intake: complaints POSTed over HTTP by concurrent clients: complaints/s, p50/p95/p99
   latency, ratio to the baseline's start rate, and POST -> acknowledgement SMS recorded.

Prints a table and writes bench/results/<time>.json. Absolute figures drift on a shared
machine; the ratios are what to compare between runs.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from tests.factories import complaint_body
from tests.processes import EmbeddedStack

RESULTS = Path(__file__).parent / "results"


@activity.defn
async def noop() -> None:
    """The baseline's one activity: does nothing, so only the engine is measured."""


@workflow.defn(sandboxed=False)
class BareWorkflow:
    """The baseline: one no-op activity, then done."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile of `values` (nearest rank), in the same unit."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def baseline(address: str, count: int, concurrency: int) -> dict[str, float]:
    """Bare workflows on the stack's server: starts/s and completions/s."""
    client = await Client.connect(address)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    gate = asyncio.Semaphore(concurrency)
    async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop]):

        async def start(index: int) -> Any:
            async with gate:
                return await client.start_workflow(
                    BareWorkflow.run, id=f"bare-{queue}-{index}", task_queue=queue
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


async def intake(
    base_url: str, database: Path, count: int, concurrency: int, rate: float | None = None
) -> dict[str, float]:
    """Concurrent POSTs (as fast as possible, or paced at `rate` per second: an open loop
    like callers arriving); latency per POST; time until each acknowledgement is recorded."""
    posted_at: dict[str, float] = {}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)
    run = uuid.uuid4().hex[:8]  # fresh Idempotency-Keys per run
    posting = asyncio.Event()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=300, help="baseline workflows")
    parser.add_argument("--complaints", type=int, default=300, help="complaints POSTed")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="paced run's complaints/s (the target)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jansamvad-bench-") as directory:
        with EmbeddedStack(Path(directory)) as stack:
            stack.healthy()
            base = asyncio.run(
                baseline(stack.settings.temporal_address, args.workflows, args.concurrency)
            )
            took = asyncio.run(
                intake(stack.base_url, stack.database_path, args.complaints, args.concurrency)
            )
            # Then the target load, paced: latency at 20/s rather than under a burst.
            paced = asyncio.run(
                intake(
                    stack.base_url,
                    stack.database_path,
                    args.complaints,
                    args.concurrency,
                    rate=args.rate,
                )
            )
    took["ratio_to_baseline_starts"] = took["complaints_per_s"] / base["starts_per_s"]
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "baseline": base,
        "intake": took,
        "intake_paced": paced,
        "targets": {
            "complaints_per_s": ">= 20",
            "post_p99_ms": "<= 300",
            "ack_p99_ms": "<= 2000",
            "ratio_to_baseline_starts": ">= 0.8",
        },
    }
    rows = [
        ("baseline starts/s", f"{base['starts_per_s']:.1f}", ""),
        ("baseline completions/s", f"{base['completions_per_s']:.1f}", ""),
        ("intake complaints/s", f"{took['complaints_per_s']:.1f}", ">= 20"),
        ("intake / baseline starts", f"{took['ratio_to_baseline_starts']:.2f}", ">= 0.8"),
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
    print(f"\nJan Samvad bench, {os.cpu_count()} CPUs, statuses {took['statuses']}")
    print(f"{'measure':<28}{'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<28}{value:>10}  {target}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
