"""Small helpers shared by the benchmark sections."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile of `values` (nearest rank), in the same unit; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_model() -> str:
    """The CPU model name (Linux /proc/cpuinfo), for the results' machine line."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.uname().machine


class FullCollections:
    """The garbage collector's full collections (generation 2) while the block runs: `count`
    and the longest, `longest_ms`. A full collection stops the whole process for as long as
    it takes to walk every tracked object, so a single slow read that coincides with one is the
    collector's pause, not the database's."""

    def __init__(self) -> None:
        self.count = 0
        self.longest_ms = 0.0
        self._began = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
            return
        self.count += 1
        self.longest_ms = max(self.longest_ms, 1000 * (time.perf_counter() - self._began))

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        gc.callbacks.remove(self._callback)

    def figures(self) -> dict[str, float]:
        return {"count": self.count, "longest_ms": self.longest_ms}
