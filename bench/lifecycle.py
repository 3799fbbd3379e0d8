"""Lifecycle benchmark: cases driven from registration to closure over HTTP.

Simulated staff work concurrently, each taking one case at a time: the call centre registers it
(POST), the nodal officer reports it resolved as soon as it is forwarded (POST .../report; a
409 means "not forwarded yet": try again shortly), and the telecaller records a satisfied
verification call (POST .../callback), which closes it. Every update returns once the workflow
has recorded it (its projection included; its SMS are sent after), so the closed count is read
back from the read model. Transitions are the timeline entries the cases gained (registered,
forwarded, report received, closed).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.stats import percentile
from harness.factories import complaint_body


def _closed_and_transitions(database: Path, numbers: list[str]) -> tuple[int, int]:
    marks = ",".join("?" * len(numbers))
    with sqlite3.connect(database, timeout=10) as connection:
        closed = connection.execute(
            f"SELECT count(*) FROM complaint WHERE status = 'closed'"
            f" AND registration_number IN ({marks})",
            numbers,
        ).fetchone()[0]
        transitions = connection.execute(
            f"SELECT count(*) FROM timelineevent t JOIN complaint c ON c.id = t.complaint_id"
            f" WHERE c.registration_number IN ({marks})",
            numbers,
        ).fetchone()[0]
    return int(closed), int(transitions)


async def lifecycle(
    base_url: str,
    database: Path,
    cases: int,
    concurrency: int,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`cases` cases through report and callback to closure by `concurrency` simulated staff."""
    run = uuid.uuid4().hex[:8]
    numbers: list[str] = []
    update_latencies: list[float] = []
    failures: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)

    async def act(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
        """POST an action until the case accepts it (409: not in that state yet)."""
        deadline = time.perf_counter() + 60
        while True:
            sent = time.perf_counter()
            answer = await http.post(path, json=body)
            if answer.status_code == 200:
                update_latencies.append(time.perf_counter() - sent)
                return
            if answer.status_code != 409 or time.perf_counter() > deadline:
                key = f"{path.rsplit('/', 1)[-1]} {answer.status_code}"
                failures[key] = failures.get(key, 0) + 1
                return
            await asyncio.sleep(0.05)

    async def one(http: httpx.AsyncClient, index: int) -> None:
        async with gate:
            body = complaint_body(citizen__phone=f"96{index:08d}", description=f"life {index}")
            answer = await http.post(
                "/v1/complaints", json=body, headers={"Idempotency-Key": f"life-{run}-{index}"}
            )
            if answer.status_code not in (201, 202):
                key = f"register {answer.status_code}"
                failures[key] = failures.get(key, 0) + 1
                return
            number = answer.json()["registration_number"]
            numbers.append(number)
            sequence, year = number.split("/")
            case = f"/v1/complaints/{year}/{sequence}"
            report = {"outcome": "resolved", "reply": "Toilet built"}
            await act(http, f"{case}/report", report)
            callback = {"outcome": "satisfied", "remark": "done"}
            await act(http, f"{case}/callback", callback)

    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=headers) as http:
        began = time.perf_counter()
        await asyncio.gather(*(one(http, i) for i in range(cases)))
        elapsed = time.perf_counter() - began
    closed, transitions = await asyncio.to_thread(_closed_and_transitions, database, numbers)
    return {
        "cases": cases,
        "concurrency": concurrency,
        "seconds": elapsed,
        "closed": closed,
        "closed_per_s": closed / elapsed,
        "transitions": transitions,
        "transitions_per_s": transitions / elapsed,
        "update_p50_ms": 1000 * percentile(update_latencies, 0.50),
        "update_p99_ms": 1000 * percentile(update_latencies, 0.99),
        "failures": failures,
    }
