"""Review sessions sized by design, on the dev server (which enforces Temporal's limits): an
agenda larger than one batch of every kind (freeze, notices, bulk decisions, rollovers, updates
per run) freezes, decides in bulk and singly, closes and completes; its workflow holds ids and
counts, continues as new, and no payload comes near Temporal's limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from core.models import Message, ReviewBulk, ReviewItem, ReviewSession
from core.settings import Settings
from harness.factories import eventually
from harness.histories import largest_payload, runs_of
from schemas.calendar import SessionKind
from schemas.enums import ComplaintStatus
from schemas.review import (
    BulkDecisionRequest,
    BulkSelection,
    CloseSessionRequest,
    ItemOutcome,
    ReviewSessionInput,
    SessionBatches,
    SessionPhase,
    SessionSummary,
    bulk_notice_key,
)
from schemas.workflow import DecisionKind, ReviewDecision
from tests.helpers import running_worker
from tests.lifecycle_helpers import CaseHandle, keep_history, row_of, state_of, timeline
from tests.paths import HISTORIES
from tests.workflows.test_review_sessions import (
    RESOLVED,
    UNSATISFIED,
    directive,
    escalated,
    session_handle,
)
from workflows.complaint import ComplaintWorkflow
from workflows.review import ReviewSessionWorkflow, session_workflow_id

# Smaller than the agenda at every stage: 3 freeze pages, 2 notice pages (3 officers), bulk and
# rollover batches of 2, and a run that continues as new after 3 updates.
SMALL = SessionBatches(freeze=2, notices=2, decisions=2, concurrency=2, updates_per_run=3)
DISTRICTS = ("Ranchi", "Ranchi", "Dhanbad", "Dhanbad", "Dumka", "Dumka")
# Temporal's warning size for one payload: nothing a session sends or answers comes near it.
WARN_BYTES = 256 * 1024

SessionHandle = WorkflowHandle[ReviewSessionWorkflow, SessionSummary]


@pytest.fixture
async def env(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> AsyncIterator[WorkflowEnvironment]:
    async with running_worker(dev_env.client, engine, settings):
        yield dev_env


async def _agenda(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> list[CaseHandle]:
    return list(
        await asyncio.gather(
            *(
                escalated(
                    env, engine, settings, citizen__district=d, citizen__phone=f"98765{i:05d}"
                )
                for i, d in enumerate(DISTRICTS)
            )
        )
    )


async def _start(client: Client, settings: Settings, case: CaseHandle) -> SessionHandle:
    """The case's own session, started now with its cutoff passed (as its planner would at
    the cutoff), batched small."""
    state = await state_of(case)
    assert state.review is not None
    slot = state.review
    return await client.start_workflow(
        ReviewSessionWorkflow.run,
        ReviewSessionInput(
            kind=SessionKind.WEEKLY_REVIEW,
            session_id=slot.session_id,
            starts_at=slot.starts_at,
            cutoff_at=slot.starts_at - timedelta(days=30),
            close_after=timedelta(days=1),
            sms_task_queue=settings.sms_task_queue,
            batches=SMALL,
        ),
        id=session_workflow_id(settings.workflow_id_prefix, slot.session_id),
        task_queue=settings.temporal_task_queue,
    )


async def _phase(handle: SessionHandle, wanted: SessionPhase) -> SessionSummary:
    return await eventually(
        lambda: handle.query(ReviewSessionWorkflow.get_summary),
        lambda s: s.phase is wanted,
        within=60,
    )


def _rows(engine: Engine, sid: str) -> dict[str, ReviewItem]:
    with Session(engine) as db:
        return {
            r.registration_number: r
            for r in db.exec(select(ReviewItem).where(ReviewItem.session_id == sid))
        }


async def _messages(engine: Engine, template: str) -> list[Message]:
    with Session(engine) as db:
        return list(db.exec(select(Message).where(Message.template == template)))


def _scheduled(events: list[object]) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name  # type: ignore[attr-defined]
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")  # type: ignore[attr-defined]
    ]


async def test_a_session_larger_than_every_batch_freezes_decides_in_bulk_and_singly_closes(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    cases = await _agenda(env, engine, settings)
    regs = [row_of(engine, c).registration_number for c in cases]
    session = await _start(env.client, settings, cases[0])
    sid = session.id.removeprefix(settings.workflow_id_prefix)

    await _phase(session, SessionPhase.AGENDA_FROZEN)
    frozen = await eventually(
        lambda: session.query(ReviewSessionWorkflow.get_summary), lambda s: s.agenda_count == 6
    )
    assert frozen.agenda == []  # counts, never the agenda
    rows = _rows(engine, sid)
    assert set(rows) == set(regs)
    assert rows[regs[2]].nodal_officer_id == "nodal-district-dhanbad"
    assert rows[regs[2]].district == "Dhanbad" and rows[regs[2]].registered_at is not None
    # One notice per district nodal officer (three officers: two pages of two).
    await eventually(
        lambda: session.query(ReviewSessionWorkflow.get_summary),
        lambda s: s.notices_sent == 3,
        within=60,
    )

    # A bulk directive for Ranchi and Dhanbad (four cases: two batches), sent twice with
    # its key: recorded and applied once.
    bulk = BulkDecisionRequest(
        selection=BulkSelection(districts=["Ranchi", "Dhanbad"]),
        decision=DecisionKind.DIRECTIVE,
        text="Executive engineer reports by Friday",
        decided_by="cm-secretary",
    )
    first = await session.execute_update(
        ReviewSessionWorkflow.record_bulk_decision, bulk, id="bulk-key-1"
    )
    assert (first.total, first.refused) == (4, 0)
    again = await session.execute_update(
        ReviewSessionWorkflow.record_bulk_decision, bulk, id="bulk-key-1"
    )
    assert again.bulk_id == first.bulk_id and again.total == 4

    def bulk_row() -> ReviewBulk | None:
        with Session(engine) as db:
            return db.get(ReviewBulk, first.bulk_id)

    async def applied() -> int:
        row = bulk_row()
        return row.applied if row and row.done_at else -1

    await eventually(applied, lambda n: n == 4, within=60)
    # Each officer is told once for all their cases of the bulk (the two district nodal
    # officers: one SMS each, not one per case); each citizen is told of the directive.
    bulk_cases = {row_of(engine, c).id for c in cases[:4]}
    told = await eventually(
        partial(_messages, engine, "review_bulk_directive"), lambda m: len(m) == 2, within=60
    )
    officers = {"nodal-district-ranchi", "nodal-district-dhanbad"}
    assert {m.key for m in told} == {bulk_notice_key(sid, first.bulk_id, o) for o in officers}
    assert all("2 case(s) of" in m.text and "act on" in m.text for m in told)
    officer_sms = await _messages(engine, "officer_directive")
    assert not [m for m in officer_sms if m.complaint_id in bulk_cases]
    citizens = await eventually(
        partial(_messages, engine, "directive"),
        lambda m: bulk_cases <= {x.complaint_id for x in m},
        within=60,
    )
    assert len([m for m in citizens if m.complaint_id in bulk_cases]) == 4
    rows = _rows(engine, sid)
    assert {rows[r].responsible_officer_id for r in regs[:4]} == officers  # the minutes say who
    # A numbered bulk names a case already decided and one not on the agenda: both refused,
    # with reasons.
    named = await session.execute_update(
        ReviewSessionWorkflow.record_bulk_decision,
        BulkDecisionRequest(
            selection=BulkSelection(registration_numbers=[regs[0], "99999/2001"]),
            decision=DecisionKind.DIRECTIVE,
            text="again",
            decided_by="cm-secretary",
        ),
        id="bulk-key-2",
    )
    assert named.total == 0 and named.done
    assert {(r.registration_number, r.key) for r in named.refusals} == {
        (regs[0], "already_decided"),
        ("99999/2001", "not_on_agenda"),
    }
    # A single decision on a Dumka case: the run's third update, so it continues as new.
    record = await session.execute_update(ReviewSessionWorkflow.record_decision, directive(regs[4]))
    assert record.case_status is ComplaintStatus.AWAITING_REPORT
    # A single decision: the case tells its officer itself.
    single = row_of(engine, cases[4]).id
    await eventually(
        partial(_messages, engine, "officer_directive"),
        lambda m: [x.complaint_id for x in m] == [single],
        within=60,
    )

    async def run_id() -> str:
        return (await env.client.get_workflow_handle(session.id).describe()).run_id or ""

    await eventually(run_id, lambda r: r != session.first_execution_run_id, within=30)
    # The first bulk, sent again to the new run (Temporal's own deduplication is per run):
    # the same bulk, already applied, applied once.
    latest = session_handle(env, settings, sid)
    third = await latest.execute_update(
        ReviewSessionWorkflow.record_bulk_decision, bulk, id="bulk-key-1"
    )
    assert third.bulk_id == first.bulk_id and third.applied == 4 and third.done

    for case in cases[:5]:
        assert timeline(engine, case).count("directive_given") == 1
    rows = _rows(engine, sid)
    assert {rows[r].bulk_id for r in regs[:4]} == {first.bulk_id}
    assert rows[regs[4]].bulk_id is None and rows[regs[4]].outcome == ItemOutcome.DIRECTIVE

    # Closed: the one undecided case rolls over; the session completes.
    closing = await latest.execute_update(
        ReviewSessionWorkflow.close, CloseSessionRequest(closed_by="cm-secretary")
    )
    assert closing.phase in (SessionPhase.CLOSING, SessionPhase.CLOSED)
    result = await session_handle(env, settings, sid).result()
    assert result.phase is SessionPhase.CLOSED and result.closed_by == "cm-secretary"
    assert (result.agenda_count, result.decided_count, result.rolled_over_count) == (6, 5, 1)
    # (Rolled over to the next sitting after now: closed on the dev server before its day,
    # that is this sitting again; the time-skipping tests see it move a week on.)
    moved = await state_of(cases[5])
    assert moved.rollovers == 1 and "review_rolled_over" in timeline(engine, cases[5])
    with Session(engine) as db:
        info = db.get(ReviewSession, sid)
        assert info is not None and info.phase == "closed"
        assert (info.agenda_count, info.decided_count, info.rolled_over_count) == (6, 5, 1)
        assert info.notices_sent == 5  # three meeting notices, two of the bulk directive
    # The bulk sent again told no one again.
    assert len(await _messages(engine, "review_bulk_directive")) == 2

    # Bounded by design: every stage went in batches, across runs, nothing large.
    runs = await runs_of(env.client, session.id)
    assert len(runs) >= 2
    scheduled = [name for events in runs for name in _scheduled(events)]
    assert scheduled.count("freeze_agenda_page") >= 4  # 3 pages of cases, 1 of awaiting
    assert scheduled.count("notice_recipients") >= 2
    assert scheduled.count("apply_bulk_batch") >= 2
    assert "freeze_agenda" not in scheduled and "roll_over_case" not in scheduled
    assert max(largest_payload(events) for events in runs) < WARN_BYTES // 16
    assert max(len(events) for events in runs) < 200
    assert "send_bulk_directive_notice" in scheduled
    await keep_history(
        env.client.get_workflow_handle(session.id, run_id=session.first_execution_run_id),
        "review_session_bulk_officers_told_continued_as_new",
    )
    await keep_history(
        env.client.get_workflow_handle(session.id), "review_session_bulk_officers_told_closed"
    )
    await keep_history(cases[0], "bulk_directive_officer_told_by_session")


def test_session_histories_are_kept_for_the_replay_suite() -> None:
    """The committed session histories (replayed in tests/workflows/test_replay.py) freeze their
    agenda page by page and roll cases over in batches, never one by one."""
    histories = HISTORIES
    for path in sorted(histories.glob("review_session*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
        names = _scheduled(list(history.events))
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            assert "freeze_agenda_page" in names, path.stem
        assert "freeze_agenda" not in names and "roll_over_case" not in names
    assert {
        "review_session_closed_by_reviewer",
        "review_session_closed_by_timer",
        "review_session_bulk_continued_as_new",
        "review_session_bulk_closed",
        "review_session_bulk_officers_told_continued_as_new",
        "review_session_bulk_officers_told_closed",
    } <= {p.stem for p in histories.glob("*.json")}


async def test_sidhi_baat_hears_those_who_asked_to_meet_the_cm_and_the_worst_n(
    env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """Sidhi Baat stays a meeting: with `heard_max` 1 it hears the citizen who asked to meet
    the CM and the one worst other case; the third is deferred (not selectable in bulk) and
    rolls over at the close, one more time undecided, ahead of newer cases next time."""
    cases = [await _at_sidhi_baat(env, engine, settings, i, wishes=(i == 2)) for i in range(3)]
    regs = [row_of(engine, c).registration_number for c in cases]
    slot = (await state_of(cases[0])).review
    assert slot is not None and slot.kind is SessionKind.SIDHI_BAAT
    session = await env.client.start_workflow(
        ReviewSessionWorkflow.run,
        ReviewSessionInput(
            kind=SessionKind.SIDHI_BAAT,
            session_id=slot.session_id,
            starts_at=slot.starts_at,
            cutoff_at=slot.starts_at - timedelta(days=60),
            sms_task_queue=settings.sms_task_queue,
            invites_citizens=True,
            batches=SessionBatches(heard_max=1),
        ),
        id=session_workflow_id(settings.workflow_id_prefix, slot.session_id),
        task_queue=settings.temporal_task_queue,
    )
    await _phase(session, SessionPhase.AGENDA_FROZEN)
    rows = _rows(engine, slot.session_id)
    sections = {reg: rows[reg].section for reg in regs}
    # The oldest of the two who did not ask is heard; the newer one deferred.
    assert sections == {
        regs[0]: "for_decision",
        regs[1]: "deferred",
        regs[2]: "for_decision",
    }
    named = await session.execute_update(
        ReviewSessionWorkflow.record_bulk_decision,
        BulkDecisionRequest(
            selection=BulkSelection(registration_numbers=[regs[1]]),
            decision=DecisionKind.DIRECTIVE,
            text="act",
            decided_by="cm",
        ),
    )
    assert named.total == 0 and [r.key for r in named.refusals] == ["deferred"]
    await session.execute_update(ReviewSessionWorkflow.close, CloseSessionRequest(closed_by="cm"))
    result = await session.result()
    assert result.rolled_over_count == 3
    assert (await state_of(cases[1])).rollovers == 1


async def _at_sidhi_baat(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, i: int, *, wishes: bool
) -> CaseHandle:
    """A case on Sidhi Baat: unsatisfied after a weekly review's directive."""
    case = await escalated(
        env, engine, settings, citizen__phone=f"98768{i:05d}", wishes_to_meet_cm=wishes
    )
    await case.execute_update(
        ComplaintWorkflow.record_decision,
        ReviewDecision(decision=DecisionKind.DIRECTIVE, text="Act", decided_by="cm-secretary"),
    )
    await case.execute_update(ComplaintWorkflow.submit_report, RESOLVED)
    result = await case.execute_update(ComplaintWorkflow.record_callback, UNSATISFIED)
    assert result.status is ComplaintStatus.SIDHI_BAAT
    return case
