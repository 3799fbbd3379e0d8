"""`make bench` runs the attachments bench as a section of its own (`--only attachments`),
kept out of the default run (several minutes of 3 MB uploads); here a tiny run of it, on its
own embedded stack and clamd, reports its rows and writes them to the run's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run as bench_run
from core.scanner import clamd_binary
from tests.helpers import IN_CI


def test_attachments_is_a_section_out_of_the_default_run() -> None:
    assert "attachments" not in bench_run.arguments([]).only
    assert bench_run.arguments(["--only", "attachments"]).only == ["attachments"]


def test_the_attachments_section_runs_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if clamd_binary() is None:
        if IN_CI:
            pytest.fail("clamd is required in CI: `make test` installs Debian's clamav-daemon")
        pytest.skip("NOTICE: clamd not installed (make test installs clamav-daemon)")
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path)
    bench_run.main(
        [
            "--only",
            "attachments",
            "--attachment-photos",
            "4",
            "--attachment-clients",
            "2",
            "--attachment-megabytes",
            "0.3",
        ]
    )
    printed = capsys.readouterr().out
    assert "attachments: upload p99 (ms)" in printed
    assert "attachments: p50 ratio to small photos" in printed
    [written] = tmp_path.glob("*.json")
    result = json.loads(written.read_text(encoding="utf-8"))
    files = result["attachments"]
    assert files["photos"] == 4 and files["clients"] == 2
    assert files["p99_ms"] >= files["p50_ms"] > 0
    assert "intake" not in result and "baseline" not in result  # only the chosen section
