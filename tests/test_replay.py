"""Committed histories of every lifecycle path replay against today's workflow code.

A change that would break running cases (non-determinism) fails here. Record new histories
with `JANSAMVAD_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/test_lifecycle.py
tests/test_review_sessions.py`; keep
the old ones: cases started under old code are still running in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.complaint import ComplaintWorkflow
from workflows.review import ReviewPlannerWorkflow, ReviewSessionWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_histories_to_replay() -> None:
    names = {p.stem for p in HISTORIES}
    assert {
        "happy_path",
        "overdue_review_directive",
        "unsatisfied_twice_sidhi_baat",
        "review_session_closed_by_reviewer",
        "review_session_closed_by_timer",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(
        workflows=[ComplaintWorkflow, ReviewSessionWorkflow, ReviewPlannerWorkflow],
        data_converter=pydantic_data_converter,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
