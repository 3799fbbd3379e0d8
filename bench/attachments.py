"""Attachments under load: 100 photos of about 3 MB uploaded by 10 clients at once to a real
API process (embedded stack, local clamd), beside a baseline of the same uploads of small
photos in the same run: upload p50/p99, each as a ratio to the baseline's, and the API's
resident memory (idle, peak during each run, sampled every 20 ms): a streamed upload keeps the
peak far below the bytes in flight.

    python -m bench.attachments [--photos 100] [--clients 10] [--megabytes 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bench.stats import percentile, rss_bytes
from harness.attachments import local_clamd
from harness.factories import complaint_body
from harness.processes import EmbeddedStack


def photos(count: int, megabytes: float) -> list[bytes]:
    """`count` distinct JPEGs of about `megabytes` each (noise: a phone photo's weight)."""
    side = max(64, int((megabytes * 1024 * 1024 / 0.9) ** 0.5))  # ~0.9 byte a pixel
    made = []
    for _ in range(count):
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=90)
        made.append(out.getvalue())
    return made


class PeakMemory:
    """The largest resident memory of a process while the block runs (sampled)."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid = pid
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def upload_all(
    base_url: str, headers: dict[str, str], cases: list[str], files: list[bytes], clients: int
) -> list[float]:
    """Each client uploads its share to its own case; seconds per upload."""
    took: list[float] = []
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for index, data in enumerate(files):
        queue.put_nowait((cases[index % len(cases)], data))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as http:
            while not queue.empty():
                case, data = queue.get_nowait()
                started = time.perf_counter()
                answer = await http.post(
                    f"{case}/attachments", files={"file": ("photo.jpg", data, "image/jpeg")}
                )
                took.append(time.perf_counter() - started)
                if answer.status_code != 201:
                    raise RuntimeError(f"upload answered {answer.status_code}: {answer.text}")

    await asyncio.gather(*(client() for _ in range(clients)))
    return took


async def register_cases(base_url: str, headers: dict[str, str], count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        paths = []
        for index in range(count):
            body = complaint_body(citizen__phone=f"98{index:08d}")
            answer = await http.post("/v1/complaints", json=body)
            if answer.status_code not in (201, 202):
                raise RuntimeError(answer.text)
            paths.append(answer.json()["links"]["self"])
        return paths


def run(photos_count: int, clients: int, megabytes: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="jansamvad-bench-attachments-") as directory,
        local_clamd(max_bytes=int(megabytes * 2 * 1024 * 1024)) as clamd,
    ):
        env = {
            "CLAMD_ADDRESS": clamd,
            "ATTACHMENT_MAX_BYTES": str(int(megabytes * 2 * 1024 * 1024)),
            "ATTACHMENT_MAX_PER_CASE": str(2 * photos_count),
            "ATTACHMENT_MAX_CASE_BYTES": str(4 * photos_count * int(megabytes * 1024 * 1024)),
            "COMPLAINTS_PER_PHONE_PER_DAY": "0",
        }
        with EmbeddedStack(Path(directory), env=env) as stack:
            stack.healthy()
            assert stack.api is not None
            pid = stack.api.pid
            cases = asyncio.run(register_cases(stack.base_url, stack.headers, clients))
            small = photos(photos_count, 0.03)
            large = photos(photos_count, megabytes)
            idle = rss_bytes(pid)
            with PeakMemory(pid) as small_peak:
                small_took = asyncio.run(
                    upload_all(stack.base_url, stack.headers, cases, small, clients)
                )
            with PeakMemory(pid) as large_peak:
                started = time.perf_counter()
                large_took = asyncio.run(
                    upload_all(stack.base_url, stack.headers, cases, large, clients)
                )
                wall = time.perf_counter() - started
    mb = 1024 * 1024
    in_flight = clients * sum(len(p) for p in large) / len(large)
    return {
        "photos": photos_count,
        "clients": clients,
        "photo_mb": round(sum(len(p) for p in large) / len(large) / mb, 2),
        "baseline_photo_kb": round(sum(len(p) for p in small) / len(small) / 1024, 1),
        "baseline_p50_ms": round(percentile(small_took, 0.5) * 1000),
        "baseline_p99_ms": round(percentile(small_took, 0.99) * 1000),
        "p50_ms": round(percentile(large_took, 0.5) * 1000),
        "p99_ms": round(percentile(large_took, 0.99) * 1000),
        "p50_ratio_to_baseline": round(
            percentile(large_took, 0.5) / percentile(small_took, 0.5), 1
        ),
        "uploads_per_s": round(len(large) / wall, 2),
        "api_rss_idle_mb": round(idle / mb),
        "api_rss_peak_baseline_mb": round(small_peak.peak / mb),
        "api_rss_peak_mb": round(large_peak.peak / mb),
        "api_rss_growth_mb": round((large_peak.peak - idle) / mb),
        # The bytes of the photos in flight at once (one per client): streamed to disk, the
        # growth is the decoded pixels of the photos being re-encoded (2 at a time), not this.
        "bytes_in_flight_mb": round(in_flight / mb),
        "target": "growth bounded by the re-encodings at once, not by the uploads in flight",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--megabytes", type=float, default=3.0)
    args = parser.parse_args()
    result = run(args.photos, args.clients, args.megabytes)
    print(json.dumps(result, indent=1))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"attachments-{stamp}.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
