"""Nothing accepted is lost: the embedded stack's processes killed and restarted under load.

While client threads register complaints over HTTP (each retrying with its own
Idempotency-Key until it is told "accepted"), the worker is `kill -9`'d and restarted three
times, the file-backed Temporal dev server is restarted, and the API is `kill -9`'d and
restarted. Then every complaint a client was told was accepted must exist exactly once in the
read model, have exactly one workflow, reach `awaiting_report`, and have exactly one
acknowledgement SMS recorded. Bounded in time: clients and waits all have deadlines.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from tests.factories import complaint_body
from tests.processes import EmbeddedStack

COMPLAINTS = 24
CLIENTS = 4
ACCEPTED = (200, 201, 202)


@pytest.fixture
def live_stack(tmp_path: Path) -> Iterator[EmbeddedStack]:
    with EmbeddedStack(tmp_path) as stack:
        stack.healthy()
        yield stack


def register(base_url: str, index: int, deadline: float) -> tuple[str, str] | None:
    """One client: POST until told accepted (same key every try); (key, number) or None."""
    key = f"fault-{index:04d}"
    body = complaint_body(citizen__phone=f"98{index:08d}", description=f"fault case {index}")
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(
                f"{base_url}/v1/complaints",
                json=body,
                headers={"Idempotency-Key": key},
                timeout=10,
            )
            if answer.status_code in ACCEPTED:
                return key, answer.json()["registration_number"]
        except httpx.HTTPError:
            pass  # the API is down or restarting: retry, as a real client would
        time.sleep(0.2)
    return None


def inject_faults(stack: EmbeddedStack, stop: threading.Event) -> list[str]:
    """Kill and restart processes, spaced so complaints are in flight at each fault."""
    done: list[str] = []
    for _ in range(3):
        time.sleep(1.0)
        stack.kill(stack.worker)
        stack.start_worker()
        done.append("worker kill -9")
    time.sleep(1.0)
    stack.terminate(stack.server, within=15)
    time.sleep(0.5)  # a short outage: the API answers 202 meanwhile
    stack.start_server()
    done.append("dev server restart")
    time.sleep(1.0)
    stack.kill(stack.api)
    stack.start_api()
    done.append("api kill -9")
    stop.set()
    return done


def read_model(path: Path) -> list[tuple[str, str, str, str, int]]:
    """(idempotency key, registration number, workflow id, status, acknowledgement SMS)."""
    with sqlite3.connect(path, timeout=10) as connection:
        return connection.execute(
            "SELECT c.idempotency_key, c.registration_number, c.workflow_id, c.status,"
            " (SELECT count(*) FROM message m WHERE m.complaint_id = c.id"
            "  AND m.template = 'acknowledgement' AND m.recipient_kind = 'citizen')"
            " FROM complaint c"
        ).fetchall()


async def workflow_runs(address: str, workflow_ids: set[str]) -> Counter[str]:
    """How many executions the server knows for each of `workflow_ids`."""
    client = await Client.connect(address)
    runs: Counter[str] = Counter()
    async for execution in client.list_workflows():
        if execution.id in workflow_ids:
            runs[execution.id] += 1
    return runs


def test_every_accepted_complaint_survives_worker_server_and_api_crashes(
    live_stack: EmbeddedStack,
) -> None:
    stack = live_stack
    deadline = time.monotonic() + 60
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=CLIENTS + 1) as pool:
        faults = pool.submit(inject_faults, stack, stop)
        # Spread the complaints over the faults: a client waits a little between its cases.
        outcomes = []
        for index in range(COMPLAINTS):
            outcomes.append(pool.submit(register, stack.base_url, index, deadline))
            if not stop.is_set():
                time.sleep(0.25)
        accepted = dict(o for f in outcomes if (o := f.result()) is not None)
        assert faults.result() == ["worker kill -9"] * 3 + ["dev server restart", "api kill -9"]
    assert len(accepted) == COMPLAINTS, stack.logs()

    # Bounded wait for the asynchronous part: workflows started (some by reconciliation),
    # acknowledgements sent and recorded. Never waits for a workflow timer.
    settle_by = time.monotonic() + 60
    while True:
        rows = read_model(stack.database_path)
        ours = [row for row in rows if row[0] in accepted]
        if len(ours) == COMPLAINTS and all(r[3] == "awaiting_report" and r[4] for r in ours):
            break
        if time.monotonic() > settle_by:
            pending = [r for r in ours if r[3] != "awaiting_report" or not r[4]]
            raise AssertionError(f"not settled: {pending}\n{stack.logs()}")
        time.sleep(0.5)

    keys = Counter(row[0] for row in rows)
    assert all(keys[key] == 1 for key in accepted), keys  # exactly once in the read model
    assert {row[0]: row[1] for row in ours} == accepted  # the number the client was told
    duplicates = {row[1]: row[4] for row in ours if row[4] != 1}
    assert not duplicates, f"acknowledgement SMS recorded more than once: {duplicates}"
    workflow_ids = {row[2] for row in ours}
    assert len(workflow_ids) == COMPLAINTS
    runs = asyncio.run(workflow_runs(stack.settings.temporal_address, workflow_ids))
    assert runs == Counter(dict.fromkeys(workflow_ids, 1)), runs
