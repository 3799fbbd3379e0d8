"""Production mode without containers: the same processes and steps as docker-compose.yml.

A Temporal dev server on random ports (no search attributes, no namespace of ours: the deploy
command registers them), a fresh PostgreSQL database, the one-shot `core.db upgrade` and
`core.admin setup`, then the worker and the API as separate OS processes with
ENVIRONMENT=production and JSON logs. One complaint goes through over HTTP until its
acknowledgement SMS is recorded; /metrics of both processes are read; SIGTERM stops both
cleanly (exit 0) in time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from core.codec import generate_key
from harness.factories import complaint_body

pytestmark = pytest.mark.postgres

BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(probe: Callable[[], T | None], *, within: float, what: str) -> T:
    """Poll `probe` until it returns something other than None (bounded)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (httpx.HTTPError, OSError):
            value = None
        if value is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {within}s")


@pytest.fixture
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A database of its own on the test PostgreSQL server (dropped afterwards)."""
    name = f"jansamvad_prod_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def temporal_server(tmp_path: Path) -> Iterator[str]:
    """A bare Temporal dev server (in memory) on a random port; its address."""
    port = free_port()
    log = (tmp_path / "temporal.log").open("wb")
    server = subprocess.Popen(
        [
            str(BIN / "temporal"),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True

        wait_until(listening, within=60, what="Temporal dev server")
        yield f"127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def production_env(tmp_path: Path, database_url: str, temporal_address: str) -> dict[str, str]:
    """Configuration by environment only, as in docker-compose.yml."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        # Nothing of a developer's own configuration leaks in.
        if not key.startswith(("TWILIO_", "TEMPORAL_", "DATABASE_", "API_", "LOG_", "SMS_"))
    }
    return {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "ENVIRONMENT": "production",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_NAMESPACE": f"jan-samvad-{uuid.uuid4().hex[:6]}",
        "TEMPORAL_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:10]}",
        "SMS_TASK_QUEUE": f"sms-{uuid.uuid4().hex[:10]}",
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        # Production encrypts citizen data in Temporal (the compose file mounts a key file).
        "PAYLOAD_ENCRYPTION_KEYS": generate_key("prod1"),
    }


def run_once(module: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *module],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


POST_201 = (("method", "POST"), ("route", "/v1/complaints"), ("status", "201"))
RANCHI_LEVEL_0 = (("district", "Ranchi"), ("escalation_level", "0"), ("status", "awaiting_report"))
CITIZEN_OUTBOX = (("recipient_kind", "citizen"), ("status", "outbox"))


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text → {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSON log; fails on a line that is not one JSON object."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_api_and_worker_processes_on_postgresql_handle_a_complaint_and_stop_cleanly(
    tmp_path: Path, fresh_database: str, temporal_server: str
) -> None:
    env = production_env(tmp_path, fresh_database, temporal_server)
    # cwd without a .env: configuration comes from the environment alone.
    cwd = tmp_path

    # Deploy steps (docker-compose's one-shot services), each idempotent: run twice.
    for _ in range(2):
        migrated = run_once(["core.db", "upgrade"], env, cwd)
        assert migrated.returncode == 0, migrated.stderr
    first = run_once(["core.admin", "setup", "--wait", "60"], env, cwd)
    assert first.returncode == 0, first.stderr
    assert "registered" in first.stderr and "added" in first.stderr
    second = run_once(["core.admin", "setup", "--wait", "60"], env, cwd)
    assert second.returncode == 0, second.stderr
    assert "already exists" in second.stderr and "all present" in second.stderr

    # An administrator creates the channel system's client and an operator (tokens printed once).
    def create_user(name: str, *roles: str) -> dict[str, str]:
        args = ["core.admin", "user", "create", name]
        created = run_once([*args, *(f"--role={role}" for role in roles)], env, cwd)
        assert created.returncode == 0, created.stderr
        # stdout: "user NAME: ROLES", then the token alone on the last line.
        return {"Authorization": f"Bearer {created.stdout.splitlines()[-1].strip()}"}

    headers = create_user("web-portal", "integration")
    operator = create_user("operator", "reviewer", "monitoring")

    api_port, sdk_metrics_port = free_port(), free_port()
    worker_log, api_log = tmp_path / "worker.log", tmp_path / "api.log"
    worker_env = {**env, "TEMPORAL_METRICS_BIND_ADDRESS": f"127.0.0.1:{sdk_metrics_port}"}
    api_env = {**env, "API_HOST": "127.0.0.1", "API_PORT": str(api_port)}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with worker_log.open("wb") as wlog, api_log.open("wb") as alog:
            worker = subprocess.Popen(
                [sys.executable, "-m", "workers.main"],
                env=worker_env,
                cwd=cwd,
                stdout=wlog,
                stderr=subprocess.STDOUT,
            )
            processes.append(worker)
            api = subprocess.Popen(
                [sys.executable, "-m", "api.main"],
                env=api_env,
                cwd=cwd,
                stdout=alog,
                stderr=subprocess.STDOUT,
            )
            processes.append(api)
            base = f"http://127.0.0.1:{api_port}"
            with httpx.Client(base_url=base, timeout=10) as http:
                wait_until(
                    lambda: http.get("/healthz").status_code == 200 or None,
                    within=90,
                    what="API healthy",
                )
                response = http.post("/v1/complaints", json=complaint_body(), headers=headers)
                assert response.status_code == 201, response.text
                created = response.json()
                self_link = created["links"]["self"]

                def acknowledged() -> dict[str, Any] | None:
                    case = http.get(self_link, headers=operator).json()
                    ack = [m for m in case["messages"] if m["template"] == "acknowledgement"]
                    return case if ack and ack[0]["status"] == "outbox" else None

                case = wait_until(acknowledged, within=60, what="acknowledgement SMS recorded")
                assert case["workflow_started"] is True
                assert case["status"] == "awaiting_report"

                metrics = http.get("/metrics", headers=operator)
                assert metrics.status_code == 200
                samples = parse_metrics(metrics.text)
                assert samples[("jansamvad_http_requests_total", POST_201)] == 1.0
                assert samples[("jansamvad_open_cases", RANCHI_LEVEL_0)] == 1.0
                assert samples[("jansamvad_sms_messages", CITIZEN_OUTBOX)] >= 1.0

                trail = http.get("/v1/audit", params={"subject": "web-portal"}, headers=operator)
                assert [
                    (e["route"], e["registration_number"], e["outcome"])
                    for e in trail.json()["data"]
                ] == [("/v1/complaints", created["registration_number"], "succeeded")]

            sdk = httpx.get(f"http://127.0.0.1:{sdk_metrics_port}/metrics", timeout=5)
            assert sdk.status_code == 200
            assert f'namespace="{env["TEMPORAL_NAMESPACE"]}"' in sdk.text
            assert "temporal_workflow_task" in sdk.text or "temporal_request" in sdk.text

            # Graceful shutdown, as `docker compose stop` does it.
            for process in processes:
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=30) for process in processes]
            assert codes == [0, 0], (worker_log.read_text(), api_log.read_text())
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    # Structured logs: every line JSON; the case's lines carry its number and workflow ID.
    worker_lines = json_lines(worker_log)
    about_case = [
        line
        for line in worker_lines
        if line.get("registration_number") == created["registration_number"]
    ]
    assert about_case, worker_log.read_text()
    assert all(line["workflow_id"] == created["workflow_id"] for line in about_case)
    api_lines = json_lines(api_log)
    assert any("Uvicorn running" in line["message"] for line in api_lines)
