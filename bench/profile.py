"""`python -m bench.profile`: where an intake burst spends its CPU, and on what.

Starts the embedded stack, POSTs a burst of complaints (bench.run's intake), and reports the CPU
seconds each process used meanwhile (dev server, worker, API, this load generator) per
complaint. With `--py-spy` it also samples the API and the worker with py-spy (collapsed
stacks written to bench/results/, and the hottest frames printed): how the intake path is
profiled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.run import RESULTS, intake
from harness.processes import EmbeddedStack

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def hottest(collapsed: Path, *, top: int, ours: tuple[str, ...]) -> list[tuple[str, float]]:
    """The frames (of our packages, when `ours` is given) most often on the stack: inclusive
    share of samples, each frame counted once per sample."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = set(stack.split(";"))
        for frame in frames:
            if not ours or any(f"({name}" in frame or f"/{name}" in frame for name in ours):
                inclusive[frame] += samples
    return [(frame, n / max(total, 1)) for frame, n in inclusive.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=None, help="paced instead of a burst")
    parser.add_argument("--py-spy", action="store_true", help="sample API and worker")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jansamvad-profile-") as directory:
        with EmbeddedStack(Path(directory)) as stack:
            stack.healthy()
            assert stack.server and stack.worker and stack.api
            pids = {
                "dev server": stack.server.pid,
                "worker": stack.worker.pid,
                "api": stack.api.pid,
                "load generator": os.getpid(),
            }
            samplers: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
            if args.py_spy:
                for name in ("api", "worker"):
                    out = RESULTS / f"profile-{stamp}-{name}.txt"
                    command = [spy, "record", "--pid", str(pids[name]), "--rate", "200"]
                    command += ["--format", "raw", "--output", str(out), "--nonblocking"]
                    samplers[name] = (
                        subprocess.Popen(
                            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                        ),
                        out,
                    )
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            result = asyncio.run(
                intake(
                    stack.base_url,
                    stack.database_path,
                    args.complaints,
                    args.concurrency,
                    rate=args.rate,
                    headers=stack.headers,
                )
            )
            used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            for process, _ in samplers.values():
                process.send_signal(2)  # SIGINT: py-spy writes its output and exits
                process.wait(timeout=60)
    n = args.complaints
    print(
        f"\n{n} complaints: {result['complaints_per_s']:.1f}/s, POST p50/p99 "
        f"{result['post_p50_ms']:.0f}/{result['post_p99_ms']:.0f} ms, ack p50/p99 "
        f"{result['ack_p50_ms']:.0f}/{result['ack_p99_ms']:.0f} ms"
    )
    print(f"{'process':<16}{'CPU s':>8}{'ms/complaint':>14}")
    for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]):
        print(f"{name:<16}{seconds:>8.1f}{1000 * seconds / n:>14.1f}")
    for name, (_, out) in samplers.items():
        if not out.exists():
            print(f"\n(py-spy wrote nothing for {name})")
            continue
        print(f"\n{name}: hottest frames of ours (share of samples, inclusive) [{out}]")
        ours = ("api/", "activities/", "core/", "workflows/", "workers/")
        for frame, share in hottest(out, top=args.top, ours=ours):
            print(f"{100 * share:5.1f}%  {frame}")
        print(f"\n{name}: hottest frames overall")
        for frame, share in hottest(out, top=args.top, ours=()):
            print(f"{100 * share:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
