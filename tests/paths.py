"""Where the tests' committed files are, whatever layer folder a test module sits in."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
HISTORIES = TESTS / "histories"
GOLDEN = TESTS / "golden"
