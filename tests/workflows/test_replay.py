"""The committed histories of every lifecycle path replay against today's workflow code.

A change that would break running cases (non-determinism) fails here. Histories are those of
release 1.0, one generation; a change to running cases from now on goes behind
`workflow.patched` and keeps these histories (docs/versioning.md). Record with
`JANSAMVAD_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_lifecycle.py ...` (the
files that record: docs/versioning.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from core.settings import PROJECT_ROOT
from harness.histories import replay_with
from tests.paths import HISTORIES as HISTORIES_DIR
from workers.main import WORKFLOW_RUNNER
from workers.replay import replay

HISTORIES = sorted(HISTORIES_DIR.glob("*.json"))
# Every lifecycle path with its history (file stem), by the test that records it.
PATHS = {
    # tests/workflows/test_lifecycle.py
    "happy_path",
    "overdue_review_directive",
    "spread_escalation",
    "reminder_held_before_deadline",
    "unsatisfied_twice_sidhi_baat",
    "urgent_overdue",
    "suggestion_answered",
    "unreachable_escalated",
    "transferred",
    "reopened",
    "withdrawn",
    "review_request_honoured",
    # tests/api/test_citizen_clock.py
    "transferred_three_times",
    "directive_then_review_request",
    # tests/api/test_sms_queue.py: the gateway down through the case's first messages
    "urgent_during_sms_outage",
    "escalated_during_sms_outage",
    # tests/api/test_working_calendar.py
    "sidhi_baat_after_republic_day",
    # tests/workflows/test_ladders.py: the District Collector's four rungs; the seed's
    "district_collector_four_rungs",
    "seed_ladder_weekly_review",
    # tests/workflows/test_review_sessions.py, tests/workflows/test_review_scale.py
    "review_session_closed_by_reviewer",
    "review_session_closed_by_timer",
    "complaint_rolled_over_by_session",
    "review_session_bulk_continued_as_new",
    "review_session_bulk_closed",
    # ... since bulk directives tell each officer once (the patch bulk-officer-notices)
    "review_session_bulk_officers_told_continued_as_new",
    "review_session_bulk_officers_told_closed",
    "bulk_directive_officer_told_by_session",
    # tests/api/test_repeat_calls.py, tests/api/test_ivr.py, tests/workflows/test_interim_reply.py,
    # tests/api/test_closure_rating.py
    "repeat_contact_linked",
    "ivr_verified",
    "interim_reply_extension",
    "rated_and_appealed",
    # tests/api/test_attachments_timeline.py, tests/api/test_attachments_open311.py
    "attachment_events",
    "media_fetch_refused",
    "media_fetch_round_trip",
    # tests/api/test_ivr.py: the spoken remark fetched into the case's files;
    # tests/api/test_whatsapp.py: a failed WhatsApp message sent again by SMS
    "recording_fetch_spoken_remark",
    "whatsapp_fallback_sms",
}


def _workflow_type(path: Path) -> str:
    started = json.loads(path.read_text(encoding="utf-8"))["events"][0]
    return str(started["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


# The complaints' own histories (the others: review sessions, fetches, the SMS fallback).
CASES = [p for p in HISTORIES if _workflow_type(p) == "ComplaintWorkflow"]


def test_every_path_has_one_history() -> None:
    assert {p.stem for p in HISTORIES} == PATHS


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_a_case_writes_its_read_model_by_local_activities_and_has_no_patch(path: Path) -> None:
    """1.0 is one generation: no patch marker; the read model written by local activities
    (nothing scheduled on a task queue for it)."""
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert "core_patch" not in markers and "record_transition" not in scheduled


def _patch_ids(history: WorkflowHistory) -> set[str]:
    ids = set()
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == "core_patch":
                ids.add(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
    return ids


def test_every_gate_is_listed_with_the_histories_of_its_old_branch() -> None:
    """Each patch a committed history passed is in docs/versioning.md's table of gates,
    with the histories of its old branch, which are committed and carry no such marker."""
    page = (PROJECT_ROOT / "docs" / "versioning.md").read_text(encoding="utf-8")
    rows = {
        cells[0].strip("` "): cells[3]
        for line in page.splitlines()
        if line.startswith("| `") and len(cells := line.strip("|").split("|")) == 4
    }
    passed = {
        path.stem: _patch_ids(WorkflowHistory.from_json(path.stem, path.read_text("utf-8")))
        for path in HISTORIES
    }
    gates = set().union(*passed.values())
    assert gates == set(rows), "a gate without its row, or a row without a history passing it"
    for gate in gates:
        old = re.findall(r"`([a-z0-9_]+)`", rows[gate])
        assert old, gate
        for stem in old:
            assert stem in passed and gate not in passed[stem], (gate, stem)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_the_officer_is_told_before_the_citizen(path: Path) -> None:
    """The first SMS scheduled is the officer's (an urgent case's says so), queued by the
    transition and sent by the case's outbox."""
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    started = history.events[0].workflow_execution_started_event_attributes
    if started.continued_execution_run_id:
        return  # a continued run begins with whatever the previous run still owed
    converter = pydantic_data_converter.payload_converter
    sent = [
        converter.from_payloads(e.activity_task_scheduled_event_attributes.input.payloads)[0]
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "send_sms"
    ]
    assert sent[0]["template"] in ("officer_assigned", "officer_urgent"), sent[0]


# The workers' runner (modules passed through), and the default sandbox, which re-imports
# every module per run and so also catches a workflow module with import-time side effects.
RUNNERS = {"worker_runner": WORKFLOW_RUNNER, "default_sandbox": SandboxedWorkflowRunner()}


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path, runner: WorkflowRunner) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    await replay_with(history, runner)


@pytest.mark.parametrize("path", [p for p in HISTORIES if p not in CASES], ids=lambda p: p.stem)
async def test_the_replay_command_replays_every_kind_of_workflow(path: Path) -> None:
    """`python -m workers.replay` knows the worker's workflows, not only the cases'."""
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    assert await replay(history) is None
