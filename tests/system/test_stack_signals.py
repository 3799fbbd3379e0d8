"""`make run` stops cleanly on any number of stop signals: TERM and INT in a burst, while it
supervises and while it is still starting, end it without a traceback (from `core/stack.py`
or any process it started), with exit status 0 and no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.system.test_production import free_port, wait_until
from tests.system.test_stack import alive, children_of

BURST = [signal.SIGTERM, signal.SIGINT, signal.SIGTERM, signal.SIGTERM, signal.SIGINT] * 4


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
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
    output = tmp_path / "stack.log"
    with output.open("wb") as sink:
        stack = subprocess.Popen(
            [sys.executable, "-m", "core.stack"],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return stack, api_port, output


def _burst_and_wait(stack: subprocess.Popen[bytes], output: Path, *, running: bool) -> None:
    started = children_of(stack.pid)
    try:
        for sig in BURST:
            if stack.poll() is not None:
                break
            stack.send_signal(sig)  # no pause: the next arrives while the first is handled
        assert stack.wait(timeout=90) == 0, output.read_text(errors="replace")
        text = output.read_text(errors="replace")
        assert "Traceback" not in text, text
        if running:
            assert "stopping" in text
        wait_until(
            lambda: not any(alive(pid) for pid in started) or None,
            within=10,
            what="every process of the stack stopped",
        )
    finally:
        for pid in {stack.pid, *started, *children_of(stack.pid)}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_burst_of_stop_signals_while_running_stops_cleanly(tmp_path: Path) -> None:
    stack, api_port, output = _start(tmp_path)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=5) as http:
            wait_until(
                lambda: http.get("/healthz").json().get("status") == "ok" or None,
                within=120,
                what="the stack healthy",
            )
    except BaseException:
        stack.kill()
        raise
    _burst_and_wait(stack, output, running=True)


@pytest.mark.parametrize("after", [0.5, 2.0, 4.0])
def test_a_burst_of_stop_signals_while_starting_stops_cleanly(tmp_path: Path, after: float) -> None:
    stack, _port, output = _start(tmp_path)
    time.sleep(after)  # importing, the dev server coming up, or the tokens being written
    _burst_and_wait(stack, output, running=False)
