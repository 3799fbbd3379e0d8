"""The embedded stack as separate OS processes, for tests that kill and restart them.

`EmbeddedStack` runs the file-backed Temporal dev server (WAL, as `make run`), the worker and
the API on random free 127.0.0.1 ports, with a SQLite read model in a temporary directory.
Each process can be killed (`SIGKILL`) or stopped and started again on the same ports and
files, which is what the fault-injection tests and the benchmarks need.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType

import httpx

from core.settings import Settings
from core.stack import dev_server_command


def free_port() -> int:
    """A TCP port nothing listens on right now (never the fixed ones `make run` uses)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class EmbeddedStack:
    """Dev server + worker + API as child processes; every one restartable."""

    def __init__(self, directory: Path, *, sms_rate_limit: float = 1000.0) -> None:
        self.directory = directory
        self.temporal_port = free_port()
        self.api_port = free_port()
        self.database_path = directory / "read-model.db"
        self.settings = Settings(
            data_dir=directory / "data",
            temporal_address=f"127.0.0.1:{self.temporal_port}",
        )
        inherited = {
            key: value
            for key, value in os.environ.items()
            # Nothing of a developer's own configuration (or of `make run`) leaks in.
            if not key.startswith(("TWILIO_", "TEMPORAL_", "DATABASE_", "API_", "LOG_", "SMS_"))
        }
        self.env = {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            "ENVIRONMENT": "development",
            "DATA_DIR": str(self.settings.data_dir),
            "DATABASE_URL": f"sqlite:///{self.database_path}",
            "TEMPORAL_ADDRESS": self.settings.temporal_address,
            "TEMPORAL_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:10]}",
            "SMS_TASK_QUEUE": f"sms-{uuid.uuid4().hex[:10]}",
            "SMS_RATE_LIMIT_PER_SECOND": str(sms_rate_limit),
            "WORKFLOW_ID_PREFIX": f"f{uuid.uuid4().hex[:6]}-",
            "RECONCILE_INTERVAL_SECONDS": "5",
            "API_HOST": "127.0.0.1",
            "API_PORT": str(self.api_port),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "METRICS_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
        }
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{self.api_port}"

    # ---- processes ---------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        # Appending: a restarted process keeps the earlier runs' lines for a failure report.
        log = (self.directory / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(
                command,
                env=self.env,
                cwd=self.directory,  # no .env of the repository is read
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    def _wait_port(self, port: int, process: subprocess.Popen[bytes], within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{process.args!r} exited with {process.returncode}")
            if _listening(port):
                return
            time.sleep(0.1)
        raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {within:.0f}s")

    def start_server(self) -> None:
        """The dev server on its file (the same file after a restart)."""
        command = dev_server_command(self.settings, port=self.temporal_port, ui_port=None)
        self.server = self._spawn("temporal", command)
        self._wait_port(self.temporal_port, self.server, 60)

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", [sys.executable, "-m", "workers.main"])

    def start_api(self) -> None:
        self.api = self._spawn("api", [sys.executable, "-m", "api.main"])
        self._wait_port(self.api_port, self.api, 60)

    def migrate(self) -> None:
        """Migrate once before worker and API start, so they never race on the schema."""
        subprocess.run(
            [sys.executable, "-m", "core.db", "upgrade"],
            env=self.env,
            cwd=self.directory,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        self.start_server()
        self.migrate()
        self.start_worker()
        self.start_api()

    @staticmethod
    def kill(process: subprocess.Popen[bytes] | None) -> None:
        """`kill -9`: no chance to finish anything."""
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    @staticmethod
    def terminate(process: subprocess.Popen[bytes] | None, *, within: float = 20) -> None:
        """`SIGTERM`, then `SIGKILL` if it does not exit in time."""
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        self.terminate(self.api, within=15)
        self.terminate(self.worker, within=15)
        self.terminate(self.server, within=15)

    def __enter__(self) -> EmbeddedStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def logs(self) -> str:
        """The tail of every process's log, for an assertion message."""
        parts = []
        for name in ("temporal", "worker", "api"):
            path = self.directory / f"{name}.log"
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace")
                parts.append(f"--- {name}.log (tail) ---\n{text[-3000:]}")
        return "\n".join(parts)

    def healthy(self, within: float = 60) -> None:
        """Wait until the API answers /healthz with 200 (database and Temporal reachable)."""
        deadline = time.monotonic() + within
        last = ""
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{self.base_url}/healthz", timeout=2)
                if answer.status_code == 200:
                    return
                last = answer.text
            except httpx.HTTPError as err:
                last = repr(err)
            time.sleep(0.2)
        raise AssertionError(f"API not healthy within {within}s: {last}\n{self.logs()}")
