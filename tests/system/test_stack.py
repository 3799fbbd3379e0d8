"""`make run` (`python -m core.stack`): the whole system comes up on embedded defaults, with a
development token per role and the Web UI wired to the codec endpoint, and stops with every
process it started, even when the stop signal comes twice (a second Ctrl-C while stopping)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.scanner import clamd_binary
from tests.system.test_production import free_port, wait_until


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # the field after the state is the parent's pid
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_stack(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m core.stack` on free ports with its state under `tmp_path`."""
    api_port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": "",
        "API_HOST": "127.0.0.1",
        "API_PORT": str(api_port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "TEMPORAL_UI_PORT": str(free_port()),
        **extra,
    }
    stack = subprocess.Popen(
        [sys.executable, "-m", "core.stack"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return stack, api_port


def test_make_run_comes_up_and_a_double_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    stack, api_port = _start_stack(tmp_path)
    started: set[int] = set()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=5) as http:
            wait_until(
                lambda: http.get("/healthz").json().get("status") == "ok" or None,
                within=120,
                what="the stack healthy",
            )
            tokens = json.loads((tmp_path / "data" / "dev-tokens.json").read_text())
            reviewer = {"Authorization": f"Bearer {tokens['reviewer']['token']}"}
            assert http.get("/v1/complaints", headers=reviewer).status_code == 200
            assert http.get("/v1/complaints").status_code == 401
        started = children_of(stack.pid)
        # dev server, worker, API, and the clamd that scans attachments (core/scanner.py)
        assert len(started) == (4 if clamd_binary() else 3)
        # The Web UI decodes payloads through the API's codec endpoint.
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in started]
        server = next(c for c in commands if b"start-dev" in c)
        codec = f"http://127.0.0.1:{api_port}/v1/codec".encode()
        assert server[server.index(b"--ui-codec-endpoint") + 1] == codec

        stack.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        stack.send_signal(signal.SIGTERM)  # impatient: a second stop while stopping
        assert stack.wait(timeout=60) is not None
        wait_until(
            lambda: not any(alive(pid) for pid in started) or None,
            within=10,
            what="every process of the stack stopped",
        )
    finally:
        for pid in {stack.pid, *started}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def _pids_by_role(pid: int) -> dict[str, int]:
    roles = {}
    for child in children_of(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"start-dev" in command:
            roles["server"] = child
        elif b"workers.main" in command:
            roles["worker"] = child
        elif b"api.main" in command:
            roles["api"] = child
    return roles


def test_the_api_outlives_a_crashed_worker_and_dev_server_which_are_restarted(
    tmp_path: Path,
) -> None:
    """Under `make run`, killing the worker or the Temporal dev server leaves the API
    answering (a registration meanwhile: 202, started later) and the supervisor restarts
    them with back-off."""
    stack, api_port = _start_stack(tmp_path, TEMPORAL_RPC_TIMEOUT_SECONDS="2")
    seen: set[int] = set()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10) as http:
            wait_until(
                lambda: http.get("/healthz").json().get("status") == "ok" or None,
                within=120,
                what="the stack healthy",
            )
            tokens = json.loads((tmp_path / "data" / "dev-tokens.json").read_text())
            caller = {"Authorization": f"Bearer {tokens['telecaller']['token']}"}
            first = _pids_by_role(stack.pid)
            seen |= set(first.values())
            api = first["api"]

            os.kill(first["worker"], signal.SIGKILL)
            worker = wait_until(
                lambda: (
                    (
                        (_pids_by_role(stack.pid).get("worker") or 0) not in (0, first["worker"])
                        and _pids_by_role(stack.pid)["worker"]
                    )
                    or None
                ),
                within=30,
                what="the worker restarted",
            )
            seen.add(int(worker))

            os.kill(first["server"], signal.SIGKILL)
            time.sleep(0.3)
            answer = http.post(
                "/v1/complaints",
                json={
                    "kind": "complaint",
                    "channel": "call_centre",
                    "citizen": {
                        "name": "Ramesh Mahto",
                        "phone": "9876543210",
                        "address": "Village Barwadih",
                        "district": "Ranchi",
                        "language": "hi",
                    },
                    "description": "no toilet yet",
                },
                headers={**caller, "Idempotency-Key": "while-down"},
            )
            assert answer.status_code in (201, 202), answer.text  # answered, never refused
            server = wait_until(
                lambda: (
                    (
                        (_pids_by_role(stack.pid).get("server") or 0) not in (0, first["server"])
                        and _pids_by_role(stack.pid)["server"]
                    )
                    or None
                ),
                within=30,
                what="the dev server restarted",
            )
            seen.add(int(server))
            wait_until(
                lambda: http.get("/healthz").json().get("status") == "ok" or None,
                within=60,
                what="the stack healthy again",
            )
            assert _pids_by_role(stack.pid)["api"] == api  # the API never went down
    finally:
        stack.send_signal(signal.SIGTERM)
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        for pid in {stack.pid, *seen, *children_of(stack.pid)}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
