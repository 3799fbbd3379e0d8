"""docker-compose.yml runs ClamAV's clamd as a service the API and the worker scan with
(`CLAMD_ADDRESS`), built on the project's base image with Debian's clamav-daemon, and keeps
the attachment store in a volume they share. The service's clamd.conf is run by the real
clamd here: it answers on TCP, finds the EICAR file and gives a verdict on the largest upload."""

from __future__ import annotations

import io
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from core.scanner import ClamdScanner, ScannerUnavailable, clamd_binary
from core.settings import PROJECT_ROOT, Settings
from harness.attachments import EICAR
from tests.helpers import IN_CI
from tests.unit.test_deploy import load_compose, schema_errors

CLAMAV = PROJECT_ROOT / "deploy" / "clamav"
SCANNING = ("api", "worker")  # uploads (API) and media_url fetches (worker) are scanned


def _directives(path: Path) -> dict[str, str]:
    pairs = (
        line.split(None, 1)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {key: value.strip() for key, value in pairs}


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KM]?)", size).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "K": 1024, "M": 1024 * 1024}[unit]


def test_the_api_and_the_worker_scan_with_the_clamav_service() -> None:
    compose = load_compose()
    assert schema_errors(compose) == []
    services = compose["services"]
    clamav = services["clamav"]
    assert clamav["build"]["context"] == "./deploy/clamav"
    assert clamav["restart"] == "unless-stopped" and clamav["healthcheck"]["test"]
    assert "ports" not in clamav, "clamd has no authentication: never publish it"
    port = _directives(CLAMAV / "clamd.conf")["TCPSocket"]
    for name in SCANNING:
        service = services[name]
        host, _, answered = service["environment"]["CLAMD_ADDRESS"].partition(":")
        assert (host, answered) == ("clamav", port), name
        assert service["depends_on"]["clamav"]["condition"] == "service_healthy", name
    # The signatures are kept current by freshclam into the volume clamd reads.
    freshclam = services["freshclam"]
    assert freshclam["command"][0] == "freshclam"
    assert {v.split(":")[0] for v in freshclam["volumes"]} == {
        v.split(":")[0] for v in clamav["volumes"]
    }


def test_the_clamav_image_is_the_projects_base_with_debians_clamd() -> None:
    ours = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    theirs = (CLAMAV / "Dockerfile").read_text(encoding="utf-8")
    base = re.compile(r"^FROM (\S+)", re.MULTILINE)
    assert base.findall(theirs)[-1] in base.findall(ours)
    assert re.search(r"apt-get install .*clamav-daemon", theirs)
    for copied in re.findall(r"^COPY (\S+) ", theirs, re.MULTILINE):
        assert (CLAMAV / copied).is_file(), copied
    assert "USER clamav" in theirs


def test_the_files_live_in_a_volume_the_api_and_the_worker_share() -> None:
    compose = load_compose()
    services = compose["services"]
    mounts = []
    for name in SCANNING:
        store = services[name]["environment"]["ATTACHMENT_STORE"]
        Settings(_env_file=None, attachment_store=store)  # a valid setting
        volume = next(
            v.split(":")[0] for v in services[name]["volumes"] if v.split(":")[1] == store
        )
        assert volume in compose["volumes"], name
        mounts.append((volume, store))
    assert len(set(mounts)) == 1
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"install -d -o 10001 -g 10001 {mounts[0][1]}" in dockerfile


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_services_clamd_conf_runs_and_gives_a_verdict_on_the_largest_upload() -> None:
    """The service's own clamd.conf (only the address, the database folder and the log
    moved onto this machine) run by the real clamd."""
    binary = clamd_binary()
    if binary is None:
        if IN_CI:
            pytest.fail("clamd is required in CI: `make test` installs Debian's clamav-daemon")
        pytest.skip("NOTICE: clamd not installed (make test installs clamav-daemon)")
    directives = _directives(CLAMAV / "clamd.conf")
    largest = Settings(_env_file=None).attachment_max_bytes
    assert _bytes(directives["StreamMaxLength"]) > largest
    assert _bytes(directives["MaxFileSize"]) > largest
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="jan-samvad-clamav-") as work:
        text = (CLAMAV / "clamd.conf").read_text(encoding="utf-8")
        moved = {
            "TCPAddr": "127.0.0.1",
            "TCPSocket": str(port),
            "DatabaseDirectory": str(CLAMAV),
            "LogFile": str(Path(work) / "clamd.log"),
        }
        for key, value in moved.items():
            text = re.sub(rf"^{key} .*$", f"{key} {value}", text, flags=re.MULTILINE)
        config = Path(work) / "clamd.conf"
        config.write_text(text, encoding="utf-8")
        process = subprocess.Popen(
            [binary, "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            scanner = ClamdScanner(f"127.0.0.1:{port}")
            deadline = time.monotonic() + 60
            while not scanner.ping():
                assert process.poll() is None, (Path(work) / "clamd.log").read_text()
                assert time.monotonic() < deadline, "clamd did not answer"
                time.sleep(0.2)  # waiting for a process to start, not for a timer
            found = scanner.scan(io.BytesIO(EICAR))
            assert not found.clean and found.signature and "Eicar" in found.signature
            try:
                assert scanner.scan(io.BytesIO(b"\0" * largest)).clean
            except ScannerUnavailable as unavailable:
                pytest.fail(f"no verdict on a file of ATTACHMENT_MAX_BYTES: {unavailable}")
        finally:
            process.terminate()
            process.wait(timeout=10)
