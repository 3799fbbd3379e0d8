"""The parts attachments need, run locally for tests and benchmarks: a clamd on a private
socket with the shipped signatures, an S3-compatible server (moto's standalone server on a
127.0.0.1 port), and sample files (a photo with a GPS position, a PDF with JavaScript, the
EICAR test string)."""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from core.scanner import ClamdScanner, clamd_command

# The EICAR anti-virus test file: harmless, and detected by every scanner (here by the
# signature in deploy/clamav/jansamvad.ndb). Written backwards so that this source file is
# not itself a detection.
EICAR = rb"*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\4[PA@%P!O5X"[::-1]
# A position in Ranchi, as a phone's camera writes it into EXIF.
GPS_LATITUDE = (23.0, 21.0, 0.0)


@contextmanager
def local_clamd(max_bytes: int = 20 * 1024 * 1024) -> Iterator[str]:
    """A clamd with the project's signatures on a socket of its own; its address."""
    with tempfile.TemporaryDirectory(prefix="jan-samvad-clamd-") as work:
        socket_path = Path(work) / "clamd.sock"
        command = clamd_command(Path(work), socket_path=socket_path, max_bytes=max_bytes)
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            scanner = ClamdScanner(str(socket_path))
            deadline = time.monotonic() + 60
            while not scanner.ping():
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (Path(work) / "clamd.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"clamd did not start: {log}")
                time.sleep(0.1)
            yield str(socket_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def local_s3(bucket: str = "jan-samvad-test") -> Iterator[str]:
    """moto's S3-compatible server on a free 127.0.0.1 port, with `bucket`; its endpoint URL.
    Credentials are moto's dummies, given through the usual AWS_* variables."""
    import boto3
    from moto.server import ThreadedMotoServer

    from harness.processes import free_port

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "ap-south-1"),
    ):
        os.environ.setdefault(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
        yield endpoint
    finally:
        server.stop()


def photo(
    media_type: str = "JPEG", *, size: tuple[int, int] = (640, 480), gps: bool = True, seed: int = 0
) -> bytes:
    """A photo as a phone takes it: EXIF with the camera's make, a GPS position and an
    orientation tag (6: rotate 90°)."""
    image = Image.new("RGB", size, (40 + seed % 200, 120, 200))
    for x in range(0, size[0], 16):  # some detail, so that encoders have work to do
        for y in range(0, size[1], 16):
            image.putpixel((x, y), ((x * 7 + seed) % 256, (y * 3) % 256, (x + y) % 256))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = GPS_LATITUDE
        gps_ifd[3] = "E"
        gps_ifd[4] = (85.0, 19.0, 0.0)
    out = io.BytesIO()
    image.save(out, format=media_type, exif=exif.tobytes())
    return out.getvalue()


def large_photo(megabytes: float = 3.0, *, seed: int = 0) -> bytes:
    """A JPEG of about `megabytes` (noise compresses badly), as a phone's photo weighs."""
    side = int((megabytes * 1024 * 1024 / 1.6) ** 0.5)
    noise = os.urandom(side * side * 3) if seed >= 0 else b""
    image = Image.frombytes("RGB", (side, side), noise)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def pdf(*, javascript: bool = False, open_action: bool = False) -> bytes:
    """A one-page PDF; with `javascript`, a document-level script; with `open_action`, a
    script run on opening."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if javascript:  # a document-level script, as /Names /JavaScript holds it
        script = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hello');"),
            }
        )
        tree = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("a"), writer._add_object(script)])}
        )
        writer._root_object[NameObject("/Names")] = DictionaryObject(
            {NameObject("/JavaScript"): writer._add_object(tree)}
        )
    if open_action:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.launchURL('http://example.invalid');"),
            }
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
