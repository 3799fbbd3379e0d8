"""Virus scanning of every uploaded file with ClamAV's daemon (`clamd`), before anyone can open it.

`ClamdScanner` speaks clamd's INSTREAM protocol over a Unix socket (`/path/clamd.sock`) or TCP
(`host:port`): the file is sent in chunks, never held whole, and clamd answers `stream: OK` or
`stream: <signature> FOUND`. A scanner that cannot be reached is an error
(`ScannerUnavailable`), never a pass: an unscanned file is not stored.

`make run` (core/stack.py) and the tests start their own clamd (`clamd_command`) on a local
socket with the signature database the project ships in `deploy/clamav/` (signature updates
cannot be downloaded here; it holds a signature for the EICAR test string). In production
CLAMD_ADDRESS names the state's clamd, whose databases `freshclam` keeps current
(docs/attachments.md).
"""

from __future__ import annotations

import shutil
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_SIGNATURES = PROJECT_ROOT / "deploy" / "clamav"
CHUNK = 64 * 1024


class ScannerUnavailable(RuntimeError):
    """clamd could not be reached or gave no verdict: the file is refused for now (503)."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str | None = None  # what clamd found, e.g. "Eicar-Test-Signature.UNOFFICIAL"


class ClamdScanner:
    """A client of clamd at `address`: a Unix socket path, or `host:port`."""

    def __init__(self, address: str, *, timeout: float = 60.0) -> None:
        self.address = address
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        try:
            if self.address.startswith("/") or ":" not in self.address:
                unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                unix.settimeout(self.timeout)
                unix.connect(self.address)
                return unix
            host, _, port = self.address.rpartition(":")
            return socket.create_connection((host, int(port)), timeout=self.timeout)
        except (OSError, ValueError) as err:
            raise ScannerUnavailable(f"clamd unreachable at {self.address}: {err}") from err

    def ping(self) -> bool:
        try:
            with self._connect() as conn:
                conn.sendall(b"zPING\0")
                return _read_reply(conn) == "PONG"
        except (OSError, ScannerUnavailable):
            return False

    def scan(self, stream: BinaryIO) -> Verdict:
        """Scans `stream` from its current position to its end, in chunks."""
        try:
            with self._connect() as conn:
                conn.sendall(b"zINSTREAM\0")
                while chunk := stream.read(CHUNK):
                    conn.sendall(struct.pack("!L", len(chunk)) + chunk)
                conn.sendall(struct.pack("!L", 0))
                reply = _read_reply(conn)
        except OSError as err:
            raise ScannerUnavailable(f"clamd failed while scanning: {err}") from err
        if reply.endswith(" FOUND"):
            signature = reply.removeprefix("stream:").removesuffix(" FOUND").strip()
            return Verdict(clean=False, signature=signature)
        if reply == "stream: OK":
            return Verdict(clean=True)
        # "INSTREAM size limit exceeded", "... ERROR": no verdict is not a pass.
        raise ScannerUnavailable(f"clamd gave no verdict: {reply}")


def _read_reply(conn: socket.socket) -> str:
    data = bytearray()
    while not data.endswith(b"\0"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


# ---- a local clamd (make run, tests) ----------------------------------------------------------


def clamd_binary() -> str | None:
    """Debian's clamd (package clamav-daemon, installed by `make run` / `make test`)."""
    found = shutil.which("clamd") or next(
        (str(p) for p in (Path("/usr/sbin/clamd"),) if p.exists()), None
    )
    return found


def local_socket(data_dir: Path) -> Path:
    """Where the local clamd of `make run` listens (CLAMD_ADDRESS empty)."""
    return data_dir / "clamd" / "clamd.sock"


def clamd_command(
    workdir: Path, *, socket_path: Path, max_bytes: int, databases: Path = SHIPPED_SIGNATURES
) -> list[str]:
    """The command running clamd in the foreground with a config written into `workdir`:
    listening on `socket_path`, loading the signature databases of `databases`."""
    workdir.mkdir(parents=True, exist_ok=True)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    config = workdir / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                "Foreground yes",
                f"LocalSocket {socket_path}",
                "LocalSocketMode 600",
                f"DatabaseDirectory {databases}",
                f"LogFile {workdir / 'clamd.log'}",
                # Room for the largest upload, so that a file is never passed unscanned.
                f"StreamMaxLength {max_bytes + CHUNK}",
                f"MaxFileSize {max_bytes + CHUNK}",
                f"MaxScanSize {4 * max_bytes + CHUNK}",
                "",
            ]
        )
    )
    binary = clamd_binary()
    if binary is None:
        raise SystemExit(
            "clamd is missing: `make run` installs Debian's clamav-daemon (as root with apt-get)"
        )
    return [binary, "-c", str(config)]
