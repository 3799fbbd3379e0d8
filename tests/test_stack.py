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

from tests.test_production import free_port, wait_until


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


def test_make_run_comes_up_and_a_double_stop_leaves_no_process_behind(tmp_path: Path) -> None:
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
    }
    stack = subprocess.Popen(
        [sys.executable, "-m", "core.stack"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
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
        assert len(started) == 3  # dev server, worker, API
        # The Web UI decodes payloads through the API's codec endpoint (issue 6).
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
