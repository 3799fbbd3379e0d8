"""Committed histories of every lifecycle path replay against today's workflow code.

A change that would break running cases (non-determinism) fails here. Record new histories
with `JANSAMVAD_RECORD_HISTORIES=1 .venv/bin/python -m pytest
tests/workflows/test_lifecycle.py tests/workflows/test_review_sessions.py`; keep the old ones:
cases started under old code are still running in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.paths import HISTORIES as HISTORIES_DIR
from workers.main import WORKFLOW_RUNNER
from workflows.complaint import ComplaintWorkflow
from workflows.media import MediaFetchWorkflow
from workflows.review import ReviewPlannerWorkflow, ReviewSessionWorkflow

HISTORIES = sorted(HISTORIES_DIR.glob("*.json"))


def test_there_are_histories_to_replay() -> None:
    names = {p.stem for p in HISTORIES}
    assert {
        "happy_path",
        "overdue_review_directive",
        "unsatisfied_twice_sidhi_baat",
        "review_session_closed_by_reviewer",
        "review_session_closed_by_timer",
        # Recorded after LOCAL_READ_MODEL_PATCH: read-model work as local activities.
        "happy_path.local_read_model",
        "transferred.local_read_model",
        "unsatisfied_twice_sidhi_baat.local_read_model",
        # Recorded after SMS_QUEUE_PATCH: SMS queued in the case, sent by its own coroutine.
        "happy_path.sms_queue",
        "transferred.sms_queue",
        "urgent_during_sms_outage.sms_queue",
        "escalated_during_sms_outage.sms_queue",
        # Recorded after CITIZEN_CLOCK_PATCH: transfers and directives keep the citizen's clock.
        "transferred.citizen_clock",
        "transferred_three_times.citizen_clock",
        "directive_then_review_request.citizen_clock",
        "happy_path.citizen_clock",
        # Recorded after SUGGESTION_NOTICE_PATCH: "under consideration" has its own SMS.
        "suggestion_answered.suggestion_notice",
        # Recorded after WORKING_CALENDAR_PATCH: deadlines at the end of a working day, a
        # Sidhi Baat due on Republic Day held the next working day.
        "sidhi_baat_after_republic_day.working_calendar",
        # Recorded after LADDER_PATCH: the case climbs its own ladder (the District
        # Collector's: four rungs; the seed's: officer to weekly review).
        "district_collector_four_rungs.escalation_ladder",
        "seed_ladder_weekly_review.escalation_ladder",
        # An Open311 request's media_url fetched by its own workflow (workflows/media.py).
        "media_fetch_round_trip",
        # Recorded after REPEAT_CONTACT_PATCH: a repeat call linked to the case.
        "repeat_contact_linked.repeat_contact",
        # Recorded after ATTACHMENT_TIMELINE_PATCH: a file's events signalled to the case;
        # after MEDIA_TIMELINE_PATCH: a refused media_url's outcome signalled to its case.
        "attachment_events.attachment_timeline",
        "media_fetch_refused.media_timeline",
        # Recorded after INTERIM_REPLY_PATCH: an interim reply asking the review for more time.
        "interim_reply_extension.interim_reply",
        # Recorded after CLOSURE_RATING_PATCH: rated, appealed, closed again, appealed again.
        "rated_and_appealed.closure_rating",
    } <= names


@pytest.mark.parametrize(
    "path",
    [p for p in HISTORIES if not p.stem.startswith(("review_session", "media_fetch"))],
    ids=lambda p: p.stem,
)
def test_the_patch_decides_how_the_read_model_is_written(path: Path) -> None:
    """Both kinds of history stay: cases started before the patch (projection scheduled on a
    task queue) and after it (a patch marker, then local activities)."""
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    if path.stem.endswith(
        (
            ".local_read_model",
            ".sms_queue",
            ".citizen_clock",
            ".suggestion_notice",
            ".working_calendar",
            ".escalation_ladder",
            ".repeat_contact",
            ".ivr_verification_call",
            ".attachment_timeline",
            ".interim_reply",
            ".closure_rating",
        )
    ):
        assert markers and "record_transition" not in scheduled
    else:
        assert not markers and "record_transition" in scheduled


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in HISTORIES
        if p.stem.endswith(
            (
                ".sms_queue",
                ".citizen_clock",
                ".suggestion_notice",
                ".working_calendar",
                ".escalation_ladder",
                ".ivr_verification_call",
                ".interim_reply",
                ".closure_rating",
            )
        )
        and "session" not in p.stem
    ],
    ids=lambda p: p.stem,
)
def test_under_the_sms_patch_the_officer_is_told_before_the_citizen(path: Path) -> None:
    """New histories: the first SMS scheduled is the officer's (an urgent case's says so);
    older ones began with the citizen's acknowledgement, awaited before forwarding."""
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
    replayer = Replayer(
        workflows=[
            ComplaintWorkflow,
            ReviewSessionWorkflow,
            ReviewPlannerWorkflow,
            MediaFetchWorkflow,
        ],
        data_converter=pydantic_data_converter,
        workflow_runner=runner,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
