"""The embedded stack as separate OS processes, for tests that kill and restart them.

`EmbeddedStack` runs the file-backed Temporal dev server (WAL, as `make run`), the worker and
the API on random free 127.0.0.1 ports, with a SQLite read model in a temporary directory (or
the PostgreSQL database it is given). Each process can be killed (`SIGKILL`) or stopped and
started again on the same ports and files, which is what the fault-injection tests and the
benchmarks need. `TcpProxy` stands between a process and a server (PostgreSQL) so that a test
can make the server unreachable for a while.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from core.auth import create_user
from core.db import make_engine
from core.settings import Settings
from core.stack import dev_server_command
from schemas.auth import Role

STAFF_ROLES = (
    Role.TELECALLER,
    Role.NODAL_OFFICER,
    Role.REVIEWER,
    Role.ADMINISTRATOR,
    Role.ENGINEER,
)


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

    def __init__(
        self,
        directory: Path,
        *,
        sms_rate_limit: float = 1000.0,
        database_url: str | None = None,
        env: Mapping[str, str] = {},
        worker_env: Mapping[str, str] = {},
        api_env: Mapping[str, str] = {},
        worker_module: str = "workers.main",
    ) -> None:
        """`database_url`: the read model (default: a SQLite file in `directory`); `env` is
        added to every process's environment, `worker_env` / `api_env` to one's only (e.g.
        a DATABASE_URL through a `TcpProxy`); `worker_module` is run as the worker."""
        self.directory = directory
        self.temporal_port = free_port()
        self.api_port = free_port()
        self.database_path = directory / "read-model.db"
        # The UI's port (no UI is started) on a free port too, and the codec's origins with
        # it (as the README says to move them together): the pages link to it, and a test
        # answering for it must not meet a real UI of the machine's own on 8233.
        ui_port = free_port()
        self.settings = Settings(
            data_dir=directory / "data",
            temporal_address=f"127.0.0.1:{self.temporal_port}",
            temporal_ui_port=ui_port,
            codec_cors_origins=f"http://localhost:{ui_port},http://127.0.0.1:{ui_port}",
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
            "DATABASE_URL": database_url or f"sqlite:///{self.database_path}",
            "TEMPORAL_ADDRESS": self.settings.temporal_address,
            "TEMPORAL_UI_PORT": str(self.settings.temporal_ui_port),
            "CODEC_CORS_ORIGINS": self.settings.codec_cors_origins,
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
            **env,
        }
        self.database_url = self.env["DATABASE_URL"]
        self.worker_env = {**self.env, **worker_env}
        self.api_env = {**self.env, **api_env}
        self.worker_module = worker_module
        # `Authorization` of a user holding every staff role, issued after the migration.
        self.headers: dict[str, str] = {}
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{self.api_port}"

    # ---- processes ---------------------------------------------------------------------

    def _spawn(
        self, name: str, command: list[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        # Appending: a restarted process keeps the earlier runs' lines for a failure report.
        log = (self.directory / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(
                command,
                env=dict(env or self.env),
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
        command = [sys.executable, "-m", *self.worker_module.split()]
        self.worker = self._spawn("worker", command, self.worker_env)

    def start_api(self) -> None:
        self.api = self._spawn("api", [sys.executable, "-m", "api.main"], self.api_env)
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

    def issue_token(self, *roles: Role) -> dict[str, str]:
        """`Authorization` for a new state-wide user holding `roles` (default: every staff
        role: registering, reporting, calling back, reviewing, reading, live state)."""
        engine = make_engine(self.database_url)
        try:
            _user, token = create_user(
                engine,
                name=f"stack-{uuid.uuid4().hex[:8]}",
                roles=list(roles or STAFF_ROLES),
                created_by="harness.processes",
            )
        finally:
            engine.dispose()
        return {"Authorization": f"Bearer {token}"}

    def start(self) -> None:
        self.start_server()
        self.migrate()
        self.headers = self.issue_token()
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


class TcpProxy:
    """A TCP forwarder on a free 127.0.0.1 port to `target`, run in a thread.

    `cut(seconds)` makes the target unreachable through it for a while: open connections are
    dropped and new ones refused (counted in `refused`), as when a database server goes away.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._drop = False
        self._pairs: dict[socket.socket, socket.socket] = {}  # only the thread touches it
        self.refused = 0
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    def cut(self, seconds: float) -> None:
        with self._lock:
            self._down_until = time.monotonic() + seconds
            self._drop = True  # the proxy's thread closes the open connections

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        while not self._stop.is_set():
            with self._lock:
                drop, self._drop = self._drop, False
            if drop:
                for open_socket in list(self._pairs):
                    selector.unregister(open_socket)
                    open_socket.close()
                self._pairs.clear()
            for key, _ in selector.select(timeout=0.05):
                sock = key.fileobj
                if not isinstance(sock, socket.socket):
                    continue
                if sock is self._listener:
                    self._accept(selector)
                    continue
                peer = self._pairs.get(sock)
                if peer is None:
                    continue
                try:
                    data = sock.recv(65536)
                    if data:
                        peer.sendall(data)
                        continue
                except OSError:
                    pass
                for end in (sock, peer):
                    self._pairs.pop(end, None)
                    selector.unregister(end)
                    end.close()
        for open_socket in self._pairs:
            open_socket.close()
        selector.close()

    def _accept(self, selector: selectors.BaseSelector) -> None:
        client, _ = self._listener.accept()
        if self.down:
            self.refused += 1
            client.close()
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        self.accepted += 1
        self._pairs[client] = server
        self._pairs[server] = client
        selector.register(client, selectors.EVENT_READ)
        selector.register(server, selectors.EVENT_READ)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
