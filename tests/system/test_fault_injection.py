"""Nothing accepted is lost: the embedded stack's processes killed and restarted under load,
Twilio failing and the read-model database unreachable for a while.

While client threads register complaints over HTTP (each retrying with its own
Idempotency-Key until it is told "accepted"):

1. the worker is `kill -9`'d and restarted three times, the file-backed Temporal dev server is
   restarted (a POST meanwhile must answer 202), and the API is `kill -9`'d and restarted;
2. (PostgreSQL read model, worker sending through Twilio's real library to tests/fake_twilio)
   Twilio answers 500 and 429 for a few seconds, then the worker's database connections are
   dropped and refused for a few seconds.

Then every complaint a client was told was accepted must exist exactly once in the read model,
have exactly one workflow, reach `awaiting_report`, and have exactly one acknowledgement SMS
recorded (and, with Twilio, exactly one created at the provider: duplicates are counted and
reported). Bounded in time: clients and waits all have deadlines.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from temporalio.client import Client

from core.settings import PROJECT_ROOT
from harness.factories import complaint_body
from harness.processes import EmbeddedStack, TcpProxy
from tests.fake_twilio import FakeTwilio

COMPLAINTS = 24
CLIENTS = 4
ACCEPTED = (200, 201, 202)
PROBE = 999  # the complaint POSTed while the dev server is down
OUTAGE = 3.0  # seconds of each Twilio and database outage
OUTAGE_COMPLAINTS = 20


@pytest.fixture
def live_stack(tmp_path: Path) -> Iterator[EmbeddedStack]:
    with EmbeddedStack(tmp_path) as stack:
        stack.healthy()
        yield stack


def phone(index: int) -> str:
    return f"98{index:08d}"


def register(
    stack: EmbeddedStack, index: int, deadline: float, key: str | None = None
) -> tuple[str, str, int] | None:
    """One client: POST until told accepted (same key every try); (key, number, status)."""
    key = key or f"fault-{index:04d}"
    body = complaint_body(citizen__phone=phone(index), description=f"fault case {index}")
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(
                f"{stack.base_url}/v1/complaints",
                json=body,
                headers={**stack.headers, "Idempotency-Key": key},
                timeout=10,
            )
            if answer.status_code in ACCEPTED:
                return key, answer.json()["registration_number"], answer.status_code
        except httpx.HTTPError:
            pass  # the API is down or restarting: retry, as a real client would
        time.sleep(0.2)
    return None


def inject_crashes(stack: EmbeddedStack, stop: threading.Event) -> list[str]:
    """Kill and restart processes, spaced so complaints are in flight at each fault. While
    the dev server is down, one more complaint is POSTed: it must be accepted with 202."""
    done: list[str] = []
    for _ in range(3):
        time.sleep(1.0)
        stack.kill(stack.worker)
        stack.start_worker()
        done.append("worker kill -9")
    time.sleep(1.0)
    stack.terminate(stack.server, within=15)
    during = register(stack, PROBE, time.monotonic() + 30, key="fault-while-down")
    stack.start_server()
    done.append(f"dev server restart (POST meanwhile: {during[2] if during else None})")
    time.sleep(1.0)
    stack.kill(stack.api)
    stack.start_api()
    done.append("api kill -9")
    stop.set()
    return done


Row = tuple[str, str, str, str, int, str | None, str]
READ_MODEL = sa.text(
    "SELECT c.idempotency_key, c.registration_number, c.workflow_id, c.status,"
    " (SELECT count(*) FROM message m WHERE m.complaint_id = c.id"
    "  AND m.template = 'acknowledgement' AND m.recipient_kind = 'citizen'),"
    " (SELECT min(m.text) FROM message m WHERE m.complaint_id = c.id"
    "  AND m.template = 'acknowledgement' AND m.recipient_kind = 'citizen'),"
    " c.citizen_phone"
    " FROM complaint c"
)


def read_model(engine: sa.Engine) -> list[Row]:
    """(key, registration number, workflow id, status, acknowledgement SMS rows, its text,
    citizen phone) of every complaint."""
    with engine.connect() as connection:
        # Keys are stored as the caller's own (`<owner digest>:<key>`): the client's key back.
        return [
            (row[0].split(":", 1)[1] if row[0] else row[0], *row[1:])
            for row in connection.execute(READ_MODEL)
        ]


async def workflow_runs(address: str, workflow_ids: set[str]) -> Counter[str]:
    """How many executions the server knows for each of `workflow_ids`."""
    client = await Client.connect(address)
    runs: Counter[str] = Counter()
    async for execution in client.list_workflows():
        if execution.id in workflow_ids:
            runs[execution.id] += 1
    return runs


def run_load(
    stack: EmbeddedStack,
    faults: Callable[[EmbeddedStack, threading.Event], list[str]],
    count: int,
    spacing: float,
) -> tuple[dict[str, str], Counter[int], list[str]]:
    """`count` clients registering while `faults` runs: (key -> number, statuses, faults)."""
    deadline = time.monotonic() + 60
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=CLIENTS + 1) as pool:
        injected = pool.submit(faults, stack, stop)
        # Spread the complaints over the faults: a client waits a little between its cases.
        outcomes = []
        for index in range(count):
            outcomes.append(pool.submit(register, stack, index, deadline))
            if not stop.is_set():
                time.sleep(spacing)
        results = [o for f in outcomes if (o := f.result()) is not None]
        done = injected.result()
    assert len(results) == count, stack.logs()
    return {k: n for k, n, _ in results}, Counter(s for _, _, s in results), done


def settle(stack: EmbeddedStack, engine: sa.Engine, accepted: dict[str, str]) -> list[Row]:
    """Bounded wait for the asynchronous part: workflows started (some by reconciliation),
    acknowledgements sent and recorded. Never waits for a workflow timer."""
    settle_by = time.monotonic() + 60
    while True:
        rows = read_model(engine)
        ours = [row for row in rows if row[0] in accepted]
        if len(ours) == len(accepted) and all(r[3] == "awaiting_report" and r[4] for r in ours):
            return rows
        if time.monotonic() > settle_by:
            pending = [r[:5] for r in ours if r[3] != "awaiting_report" or not r[4]]
            raise AssertionError(f"not settled: {pending}\n{stack.logs()}")
        time.sleep(0.5)


def assert_nothing_lost(stack: EmbeddedStack, rows: list[Row], accepted: dict[str, str]) -> None:
    """Exactly once in the read model with the number told, one workflow, one ack row."""
    ours = [row for row in rows if row[0] in accepted]
    keys = Counter(row[0] for row in rows)
    assert all(keys[key] == 1 for key in accepted), keys  # exactly once in the read model
    assert {row[0]: row[1] for row in ours} == accepted  # the number the client was told
    duplicates = {row[1]: row[4] for row in ours if row[4] != 1}
    assert not duplicates, f"acknowledgement SMS recorded more than once: {duplicates}"
    workflow_ids = {row[2] for row in ours}
    assert len(workflow_ids) == len(accepted)
    runs = asyncio.run(workflow_runs(stack.settings.temporal_address, workflow_ids))
    assert runs == Counter(dict.fromkeys(workflow_ids, 1)), runs


def test_every_accepted_complaint_survives_worker_server_and_api_crashes(
    live_stack: EmbeddedStack,
) -> None:
    stack = live_stack
    accepted, statuses, faults = run_load(stack, inject_crashes, COMPLAINTS, spacing=0.25)
    assert faults == ["worker kill -9"] * 3 + [
        "dev server restart (POST meanwhile: 202)",  # recorded, numbered, workflow pending
        "api kill -9",
    ]
    probe = register(stack, PROBE, time.monotonic() + 10, key="fault-while-down")
    assert probe is not None and probe[2] == 201  # the same number, now started
    accepted[probe[0]] = probe[1]
    engine = sa.create_engine(stack.database_url)
    try:
        rows = settle(stack, engine, accepted)
    finally:
        engine.dispose()
    assert_nothing_lost(stack, rows, accepted)
    print(f"crashes: {len(accepted)} accepted, statuses {dict(statuses)}, duplicates: 0")


def inject_outages(
    twilio: FakeTwilio, database: TcpProxy
) -> Callable[[EmbeddedStack, threading.Event], list[str]]:
    def inject(stack: EmbeddedStack, stop: threading.Event) -> list[str]:
        time.sleep(1.0)
        twilio.outage(OUTAGE)  # every send meets a 500 or a 429 meanwhile
        time.sleep(OUTAGE + 1.0)
        database.cut(OUTAGE)  # the worker's connections dropped, new ones refused
        time.sleep(OUTAGE + 0.5)
        stop.set()
        return ["twilio 500/429", "database unreachable"]

    return inject


@pytest.mark.postgres
def test_twilio_errors_and_a_database_outage_lose_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    schema = f"fault_{uuid.uuid4().hex[:10]}"
    url = sa.make_url(postgres_url)
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    engine = sa.create_engine(scoped)
    assert url.host and url.port
    try:
        with (
            FakeTwilio() as twilio,
            TcpProxy(url.host, url.port) as database,
            EmbeddedStack(
                tmp_path,
                database_url=scoped.render_as_string(hide_password=False),
                env={
                    "TWILIO_ACCOUNT_SID": twilio.account_sid,
                    "TWILIO_AUTH_TOKEN": twilio.auth_token,
                    "TWILIO_FROM_NUMBER": "+15005550006",
                    "FAKE_TWILIO_URL": twilio.base_url,
                    "PYTHONPATH": str(PROJECT_ROOT),
                },
                # The worker reaches the database through the proxy (the API directly).
                worker_env={
                    "DATABASE_URL": scoped.set(
                        host="127.0.0.1", port=database.port
                    ).render_as_string(hide_password=False),
                },
                worker_module="tests.fake_twilio worker",
            ) as stack,
        ):
            stack.healthy()
            accepted, statuses, faults = run_load(
                stack, inject_outages(twilio, database), OUTAGE_COMPLAINTS, spacing=0.4
            )
            assert faults == ["twilio 500/429", "database unreachable"]
            rows = settle(stack, engine, accepted)
            assert_nothing_lost(stack, rows, accepted)
            # The faults really met the system: Twilio refused sends, the worker was refused
            # by the database (an activity retried).
            errors = twilio.errors_answered
            assert errors[500] >= 1 and errors[429] >= 1, errors
            assert database.refused >= 1, stack.logs()
            # At the provider: each acknowledgement created exactly once.
            created = Counter((m.to, m.body) for m in twilio.created)
            ours = [row for row in rows if row[0] in accepted]
            provider = {row[1]: created[(row[6], row[5] or "")] for row in ours}
            duplicates = {number: n for number, n in provider.items() if n != 1}
            print(
                f"twilio/database outages: {len(accepted)} accepted, statuses "
                f"{dict(statuses)}, twilio errors {dict(errors)}, database connections refused "
                f"{database.refused}, acknowledgements at the provider not exactly once: "
                f"{duplicates or 0}"
            )
            assert not duplicates, f"acknowledgements created at Twilio != once: {duplicates}"
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
