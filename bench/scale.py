"""Open-case scale: many open complaints waiting on their timers.

Registers `cases` complaints over HTTP in batches; after each batch waits until every case is
forwarded (`awaiting_report`: its workflow is now only waiting on a 15-day timer), then records
the worker's resident memory and the dev server's database size. Growth per case is reported
for the first and the second half of the run: with the worker's bounded workflow cache
(max_cached_workflows), memory grows while the cache fills and then flattens, whatever the
number of waiting cases; the server's database grows linearly (histories and visibility).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.stats import rss_bytes
from harness.factories import complaint_body


def _forwarded(database: Path) -> int:
    with sqlite3.connect(database, timeout=10) as connection:
        row = connection.execute(
            "SELECT count(*) FROM complaint WHERE status = 'awaiting_report'"
        ).fetchone()
    return int(row[0])


def _size(path: Path) -> int:
    """A SQLite database's bytes, its write-ahead log included."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def open_cases(
    base_url: str,
    database: Path,
    server_database: Path,
    worker_pid: int,
    cases: int,
    concurrency: int,
    batches: int = 4,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    already = await asyncio.to_thread(_forwarded, database)
    samples = [
        {
            "open_cases": 0,
            "worker_rss_mb": rss_bytes(worker_pid) / 2**20,
            "server_db_mb": _size(server_database) / 2**20,
            "read_model_mb": _size(database) / 2**20,
        }
    ]
    gate = asyncio.Semaphore(concurrency)
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=headers) as http:

        async def post(index: int) -> None:
            body = complaint_body(citizen__phone=f"95{index:08d}", description=f"open {index}")
            async with gate:
                for _ in range(5):
                    answer = await http.post(
                        "/v1/complaints",
                        json=body,
                        headers={"Idempotency-Key": f"open-{run}-{index}"},
                    )
                    if answer.status_code in (201, 202):
                        return
                    await asyncio.sleep(1)

        per_batch = max(1, cases // batches)
        for start in range(0, cases, per_batch):
            stop = min(cases, start + per_batch)
            await asyncio.gather(*(post(i) for i in range(start, stop)))
            deadline = time.perf_counter() + 600
            while await asyncio.to_thread(_forwarded, database) < already + stop:
                if time.perf_counter() > deadline:
                    raise AssertionError(f"cases not forwarded within 10 minutes ({stop})")
                await asyncio.sleep(0.5)
            await asyncio.sleep(1)  # let the last workflow tasks settle
            samples.append(
                {
                    "open_cases": stop,
                    "worker_rss_mb": rss_bytes(worker_pid) / 2**20,
                    "server_db_mb": _size(server_database) / 2**20,
                    "read_model_mb": _size(database) / 2**20,
                }
            )
    elapsed = time.perf_counter() - began
    first, middle, last = samples[0], samples[len(samples) // 2], samples[-1]

    def per_case(a: dict[str, float], b: dict[str, float], key: str) -> float:
        return (b[key] - a[key]) * 2**20 / max(1, b["open_cases"] - a["open_cases"])

    return {
        "open_cases": cases,
        "seconds": elapsed,
        "samples": samples,
        "worker_rss_growth_kb_per_case_first_half": per_case(first, middle, "worker_rss_mb") / 1024,
        "worker_rss_growth_kb_per_case_second_half": per_case(middle, last, "worker_rss_mb") / 1024,
        "server_db_kb_per_case": per_case(first, last, "server_db_mb") / 1024,
        "read_model_kb_per_case": per_case(first, last, "read_model_mb") / 1024,
    }
