"""Helpers for driving complaint workflows on the time-skipping test server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from api.services.intake import register_complaint
from core.models import Complaint, Message, TimelineEvent, utcnow
from core.settings import Settings
from harness.factories import complaint_body, eventually
from schemas.complaint import ComplaintCreate
from schemas.enums import ComplaintStatus
from schemas.policy import Policy
from schemas.workflow import DEFAULT_MAX_HISTORY_EVENTS, ComplaintState, ComplaintWorkflowResult
from workflows.complaint import ComplaintWorkflow
from workflows.start import start_complaint_workflow

HISTORIES = Path(__file__).parent / "histories"

CaseHandle = WorkflowHandle[ComplaintWorkflow, ComplaintWorkflowResult]


# Tests that count days from registration (reminders at 50%, escalation a day after the
# deadline) keep exact deadlines unless they give their own policy: a deadline at the end of a
# working day would move with the weekday the suite runs on. The working-day calendar has its
# own tests (tests/unit/test_calendar.py, tests/api/test_working_calendar.py).
EXACT_DEADLINES = Policy(working_day_ends=None)


async def open_case(
    client: Client,
    engine: Engine,
    settings: Settings,
    *,
    policy: Policy | None = None,
    max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS,
    **overrides: Any,
) -> CaseHandle:
    """Register a complaint in the read model and start its workflow, as the API does."""
    body = ComplaintCreate.model_validate(complaint_body(**overrides))
    row, _ = register_complaint(
        engine,
        body,
        idempotency_key=None,
        now=utcnow(),
        workflow_id_prefix=settings.workflow_id_prefix,
    )
    return await start_complaint_workflow(
        client,
        engine,
        row,
        policy=policy or EXACT_DEADLINES,
        settings=settings,
        max_history_events=max_history_events,
    )


async def state_of(handle: CaseHandle) -> ComplaintState:
    return await handle.query(ComplaintWorkflow.get_state)


async def reach(handle: CaseHandle, status: ComplaintStatus) -> ComplaintState:
    """Wait until the case's workflow stands at `status` (asynchronous work, not timers)."""
    return await eventually(lambda: state_of(handle), lambda s: s.status is status)


async def settled(handle: CaseHandle) -> ComplaintState:
    """Wait until the case has sent (or dropped) every SMS it owes: transitions no longer wait
    for their messages, so a test reading the outbox waits for the case's queue first."""
    return await eventually(lambda: state_of(handle), lambda s: not s.outbox)


def row_of(engine: Engine, handle: CaseHandle) -> Complaint:
    with Session(engine) as session:
        row = session.exec(select(Complaint).where(Complaint.workflow_id == handle.id)).one()
        return row


def timeline(engine: Engine, handle: CaseHandle) -> list[str]:
    with Session(engine) as session:
        row = session.exec(select(Complaint).where(Complaint.workflow_id == handle.id)).one()
        events = session.exec(
            select(TimelineEvent)
            .where(TimelineEvent.complaint_id == row.id)
            .order_by(col(TimelineEvent.seq))
        ).all()
        return [e.event for e in events]


def messages(engine: Engine, handle: CaseHandle) -> list[Message]:
    with Session(engine) as session:
        row = session.exec(select(Complaint).where(Complaint.workflow_id == handle.id)).one()
        return list(
            session.exec(
                select(Message).where(Message.complaint_id == row.id).order_by(col(Message.id))
            ).all()
        )


async def keep_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With JANSAMVAD_RECORD_HISTORIES=1, save the run's history for the replay suite, as
    `tests/histories/NAME.json` (docs/versioning.md)."""
    if os.environ.get("JANSAMVAD_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(
        json.dumps(json.loads(history.to_json()), indent=1) + "\n", encoding="utf-8"
    )


DAY = timedelta(days=1)


@contextmanager
def rejected(reason: str) -> Iterator[None]:
    """Expect an update refused by the workflow: `reason` is the refusal's key
    (`schemas.refusals`) or a part of its message."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        yield
    cause = info.value.cause
    details = cause.details if isinstance(cause, ApplicationError) else ()
    key = details[0].get("key") if details and isinstance(details[0], dict) else None
    assert reason == key or reason in str(cause), (key, str(cause))
