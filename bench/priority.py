"""Priority under load: urgent cases and officers' actions while the SMS queue is backed up.

On a stack whose SMS queue sends 1 message a second (a Twilio long code): officers' reports
on idle cases first (the idle action latency), then a burst of routine complaints with urgent
ones spread over it and reports on older cases during it. Measured from the read model (server
clocks): urgent registered -> forwarded, urgent registered -> its officer SMS handed to the
gateway (the message row is written just before the hand-over; rows are numbered in hand-over
order) and that SMS's position among those handed over after the urgent case was registered;
report latency during the burst divided by report latency on the idle stack.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.stats import percentile
from harness.factories import complaint_body

REPORT = {"outcome": "resolved", "reply": "Work completed and verified on site"}


def _forwarded(database: Path, numbers: list[str]) -> set[str]:
    marks = ",".join("?" * len(numbers))
    with sqlite3.connect(database, timeout=10) as connection:
        rows = connection.execute(
            f"SELECT registration_number FROM complaint WHERE status != 'registered'"
            f" AND registration_number IN ({marks})",
            numbers,
        ).fetchall()
    return {row[0] for row in rows}


async def _all_forwarded(database: Path, numbers: list[str], within: float = 120) -> None:
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if len(await asyncio.to_thread(_forwarded, database, numbers)) == len(numbers):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("older cases not forwarded in time")


def _moment(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _urgent_figures(database: Path, number: str) -> dict[str, float] | None:
    """Seconds to forwarding and to the officer SMS, and that SMS's position, or None yet."""
    with sqlite3.connect(database, timeout=10) as connection:
        case = connection.execute(
            "SELECT id, created_at FROM complaint WHERE registration_number = ?", (number,)
        ).fetchone()
        if case is None:
            return None
        forwarded = connection.execute(
            "SELECT at FROM timelineevent WHERE complaint_id = ? AND event = 'forwarded'",
            (case[0],),
        ).fetchone()
        sms = connection.execute(
            "SELECT id, created_at FROM message WHERE complaint_id = ? AND recipient_kind ="
            " 'officer' ORDER BY id LIMIT 1",
            (case[0],),
        ).fetchone()
        if forwarded is None or sms is None:
            return None
        position = connection.execute(
            "SELECT count(*) FROM message WHERE id <= ? AND created_at >= ?", (sms[0], case[1])
        ).fetchone()[0]
    registered = _moment(case[1])
    return {
        "forwarded_s": _moment(forwarded[0]) - registered,
        "officer_sms_s": _moment(sms[1]) - registered,
        "position": float(position),
    }


async def priority_under_load(
    base_url: str,
    database: Path,
    *,
    routine: int = 200,
    urgent: int = 10,
    reports: int = 10,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The section's figures (see the module's docstring)."""
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=base_url, timeout=120, headers=headers) as http:

        async def register(index: int, **overrides: Any) -> tuple[str, str]:
            body = complaint_body(
                citizen__phone=f"96{index:08d}", description=f"priority {index}", **overrides
            )
            answer = await http.post(
                "/v1/complaints", json=body, headers={"Idempotency-Key": f"{run}-{index}"}
            )
            answer.raise_for_status()
            data = answer.json()
            return data["registration_number"], data["links"]["self"]

        async def report(path: str, key: str) -> float:
            sent = time.perf_counter()
            answer = await http.post(
                f"{path}/report", json=REPORT, headers={"Idempotency-Key": key}
            )
            answer.raise_for_status()
            return time.perf_counter() - sent

        # Older cases for the officers, forwarded before anything else starts.
        older = [await register(i) for i in range(2 * reports)]
        numbers = [n for n, _ in older]
        await _all_forwarded(database, numbers)
        idle = [
            await report(path, f"{run}-idle-{i}") for i, (_, path) in enumerate(older[:reports])
        ]

        # The burst, with urgent cases and officers' reports spread over it (one urgent case
        # after every `routine // urgent` routine ones, in the order the clients take them).
        urgent_numbers: list[str] = []
        busy: list[float] = []
        every = max(1, routine // urgent)
        gate = asyncio.Semaphore(20)

        async def one(index: int) -> None:
            async with gate:
                await register(1000 + index)
                turn = index // every
                if index % every == every - 1 and turn < urgent:
                    number, _ = await register(5000 + turn, urgent=True, category="police")
                    urgent_numbers.append(number)
                    if turn < reports:
                        _, path = older[reports + turn]
                        busy.append(await report(path, f"{run}-busy-{turn}"))

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(routine)))
        burst_s = time.perf_counter() - began

        # Each urgent case's figures once its officer SMS has been handed over.
        figures: dict[str, dict[str, float]] = {}
        deadline = time.perf_counter() + 300
        while len(figures) < len(urgent_numbers) and time.perf_counter() < deadline:
            for number in urgent_numbers:
                if number not in figures:
                    found = await asyncio.to_thread(_urgent_figures, database, number)
                    if found is not None:
                        figures[number] = found
            await asyncio.sleep(0.2)

    forwarded = [f["forwarded_s"] for f in figures.values()]
    to_sms = [f["officer_sms_s"] for f in figures.values()]
    positions = [int(f["position"]) for f in figures.values()]
    idle_p50, busy_p50 = percentile(idle, 0.5), percentile(busy, 0.5)
    return {
        "routine": routine,
        "urgent": urgent,
        "burst_s": burst_s,
        "urgent_measured": len(figures),
        "urgent_forwarded_p50_ms": 1000 * percentile(forwarded, 0.5) if forwarded else None,
        "urgent_forwarded_p99_ms": 1000 * percentile(forwarded, 0.99) if forwarded else None,
        "urgent_officer_sms_p50_ms": 1000 * percentile(to_sms, 0.5) if to_sms else None,
        "urgent_officer_sms_p99_ms": 1000 * percentile(to_sms, 0.99) if to_sms else None,
        "urgent_officer_sms_positions": positions,
        "urgent_officer_sms_worst_position": max(positions) if positions else None,
        "action_idle_p50_ms": 1000 * idle_p50,
        "action_burst_p50_ms": 1000 * busy_p50,
        "action_burst_p99_ms": 1000 * percentile(busy, 0.99),
        "action_burst_over_idle": busy_p50 / idle_p50 if idle_p50 else None,
    }
