"""A case never waits for its messages.

Transitions are recorded at once whatever the SMS gateway does; the messages they cause are
queued in the case's state and sent after, in order, once each; urgent cases' messages go
ahead of routine ones; actions answer when the transition is recorded, retried actions are
applied once, and an unreachable Temporal gives 503 rather than a hang or a 500.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from activities.case import UNSENT
from activities.sms import OutgoingSms, SentSms, SmsGateway
from api.main import create_app
from core.models import Complaint, Officer, ReviewItem, TimelineEvent
from core.settings import Settings
from harness.factories import complaint_body, eventually
from schemas.calendar import SessionKind
from schemas.enums import ComplaintStatus, MessageStatus
from schemas.policy import Policy
from schemas.review import SessionPhase
from schemas.workflow import DepartmentReport, ReportOutcome
from tests.helpers import api_client, running_worker, to_monday_noon
from tests.lifecycle_helpers import (
    DAY,
    CaseHandle,
    keep_history,
    messages,
    open_case,
    row_of,
    settled,
    state_of,
    timeline,
)
from workflows.complaint import ComplaintWorkflow


class SwitchableGateway(SmsGateway):
    """The SMS provider as seen from here: up (records what it was handed, in order) or down
    (refuses every send with a transient error, as an unreachable Twilio does)."""

    name = "switchable"

    def __init__(self) -> None:
        self.down = False
        self.refused = 0
        self.sent: list[OutgoingSms] = []
        self._lock = threading.Lock()

    def send(self, sms: OutgoingSms) -> SentSms:
        with self._lock:
            if self.down:
                self.refused += 1
                raise ConnectionError("SMS gateway unreachable")
            self.sent.append(sms)
            return SentSms(status=MessageStatus.SENT, provider_sid=f"SM{uuid.uuid4().hex}")

    def keys_for(self, registration_number: str) -> list[str]:
        return [s.key for s in self.sent if s.key.startswith(f"{registration_number}:")]


def _template(key: str) -> str:
    return key.split(":")[2]


# Short report window so the deadline falls inside the outage; few attempts per round so the
# time-skipped outage stays quick (the rounds, not the attempts, are under test).
OUTAGE_POLICY = Policy(
    working_day_ends=None,  # exact: the outage is counted in hours from registration
    report_deadline_complaint=DAY,
    reminder_fractions=(0.5,),
    sms_attempts=3,
)


@pytest.fixture
def gateway() -> SwitchableGateway:
    return SwitchableGateway()


@pytest.fixture
async def ts(
    ts_env: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> AsyncIterator[WorkflowEnvironment]:
    async with running_worker(ts_env.client, engine, settings, gateway=gateway):
        yield ts_env


async def _opened(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, **kw: Any
) -> CaseHandle:
    handle = await open_case(env.client, engine, settings, policy=OUTAGE_POLICY, **kw)
    await eventually(
        lambda: state_of(handle), lambda s: s.status is ComplaintStatus.AWAITING_REPORT
    )
    return handle


def _event_time(engine: Engine, handle: CaseHandle, event: str) -> Any:
    return next(iter(_events(engine, handle, event)), (None, None))[0]


async def test_two_days_without_sms_gateway_nothing_waits_and_nothing_is_lost(
    ts: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> None:
    # Before the outage: a case that will miss its deadline, one whose officer reports.
    ignored = await _opened(ts, engine, settings)
    reported = await _opened(ts, engine, settings)
    await settled(ignored)
    await settled(reported)
    deadline = (await state_of(ignored)).next_deadline
    assert deadline is not None

    gateway.down = True
    # A complaint registered during the outage is forwarded at once, with an officer and a
    # deadline, although not one of its SMS can be sent.
    urgent = await _opened(ts, engine, settings, urgent=True, category="police")
    state = await state_of(urgent)
    assert state.officer is not None and state.next_deadline is not None
    assert [q.template.value for q in state.outbox] == [
        "officer_urgent",
        "acknowledgement",
        "forwarded",
    ]

    # An officer's report during the outage completes at once (the SMS still failing).
    result = await reported.execute_update(
        ComplaintWorkflow.submit_report,
        DepartmentReport(outcome=ReportOutcome.RESOLVED, reply="Toilet built", submitted_by="x"),
    )
    assert result.status is ComplaintStatus.AWAITING_CALLBACK
    assert gateway.down and gateway.refused > 0
    assert [q.template.value for q in (await state_of(reported)).outbox] == ["report_received"]

    # The report deadline escalates the ignored case on time, SMS or no SMS.
    await ts.sleep(DAY + timedelta(hours=1))
    assert (await state_of(ignored)).status is ComplaintStatus.WEEKLY_REVIEW
    escalated_at = _event_time(engine, ignored, "escalated_to_weekly_review")
    assert escalated_at is not None
    if escalated_at.tzinfo is None:  # SQLite gives back UTC without its zone
        escalated_at = escalated_at.replace(tzinfo=UTC)
    assert abs((escalated_at - deadline).total_seconds()) < 60

    # A round of attempts spent: the acknowledgement is marked failed (the citizen shows on
    # the "not reachable by SMS" list) but stays owed.
    ack = next(m for m in messages(engine, urgent) if m.template == "acknowledgement")
    assert ack.status is MessageStatus.FAILED and (ack.error or "").startswith(UNSENT)
    assert "acknowledgement" in [q.template.value for q in (await state_of(urgent)).outbox]

    await ts.sleep(DAY)  # two days down in all
    gateway.down = False
    await ts.sleep(timedelta(hours=2))  # the next redelivery round
    for handle in (ignored, reported, urgent):
        await settled(handle)

    # Owed SMS went out in order, once each; the reminder for the passed deadline never did.
    sent = {
        h.id: gateway.keys_for(row_of(engine, h).registration_number)
        for h in (ignored, reported, urgent)
    }
    assert all(len(keys) == len(set(keys)) for keys in sent.values())
    after = {h: [_template(k) for k in sent[h.id]] for h in (ignored, reported, urgent)}
    # (Its 12-hour window ended during the outage: escalated, and told so after the rest.)
    assert after[urgent] == ["officer_urgent", "acknowledgement", "forwarded", "escalated"]
    assert after[reported][-1] == "report_received"
    assert "officer_reminder" not in after[ignored]
    assert after[ignored][-1] == "escalated"
    assert "sms_dropped" in timeline(engine, ignored)
    ack = next(m for m in messages(engine, urgent) if m.template == "acknowledgement")
    assert ack.status is MessageStatus.SENT  # the registration number reached the citizen
    # The first runs: registration, forwarding and escalation during the outage.
    for handle, name in (
        (urgent, "urgent_during_sms_outage"),
        (ignored, "escalated_during_sms_outage"),
    ):
        first_run = ts.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
        await keep_history(first_run, name)


async def test_an_undeliverable_message_is_given_up_after_its_window_and_says_so(
    ts: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> None:
    handle = await _opened(ts, engine, settings)
    await settled(handle)
    gateway.down = True
    await handle.execute_update(
        ComplaintWorkflow.submit_report,
        DepartmentReport(outcome=ReportOutcome.RESOLVED, reply="done", submitted_by="x"),
    )
    await ts.sleep(OUTAGE_POLICY.sms_redelivery_window + DAY)
    # (The case meanwhile moved on by itself: callback overdue, weekly review.)
    state = await state_of(handle)
    assert state.status is ComplaintStatus.WEEKLY_REVIEW
    assert "report_received" not in [q.template.value for q in state.outbox]
    owed = next(m for m in messages(engine, handle) if m.template == "report_received")
    assert owed.status is MessageStatus.FAILED  # never left pending
    assert (owed.error or "").startswith(UNSENT)
    notes = _notes(engine, handle, "sms_failed")
    assert any(n and n.startswith("report_received") and "given up" in n for n in notes), notes


async def test_messages_about_an_assignment_the_case_has_left_are_dropped(
    ts: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> None:
    gateway.down = True
    handle = await _opened(ts, engine, settings)
    transfer = DepartmentReport(
        outcome=ReportOutcome.TRANSFERRED,
        reply="Belongs to Dhanbad",
        submitted_by="x",
        transfer_to_district="Dhanbad",
    )
    await handle.execute_update(ComplaintWorkflow.submit_report, transfer)
    await ts.sleep(timedelta(hours=2))  # the round in flight at the transfer ends unsent
    gateway.down = False
    await ts.sleep(timedelta(hours=2))
    await settled(handle)
    reg = row_of(engine, handle).registration_number
    handed = [s for s in gateway.sent if s.key.startswith(f"{reg}:")]
    officers = [s.to for s in handed if _template(s.key) == "officer_assigned"]
    # Only the officer who holds the case now hears of it; the citizen gets the number and
    # the one "forwarded" that is still true.
    assert len(officers) == 1
    assert [_template(s.key) for s in handed if "citizen" in s.key] == [
        "acknowledgement",
        "forwarded",
    ]
    current = (await state_of(handle)).officer
    assert current is not None and current.district == "Dhanbad"
    with Session(engine) as session:
        officer = session.get(Officer, current.officer_id)
        assert officer is not None and officers == [officer.phone]
    dropped = _notes(engine, handle, "sms_dropped")
    assert len(dropped) == 2 and all("another officer" in (n or "") for n in dropped), dropped


def _events(engine: Engine, handle: CaseHandle, event: str) -> list[tuple[Any, str | None]]:
    """(time, note) of each `event` on the case's timeline, in order."""
    with Session(engine) as session:
        row = session.exec(select(Complaint).where(Complaint.workflow_id == handle.id)).one()
        return [
            (e.at, e.note)
            for e in session.exec(
                select(TimelineEvent)
                .where(TimelineEvent.complaint_id == row.id, TimelineEvent.event == event)
                .order_by(col(TimelineEvent.seq))
            )
        ]


def _notes(engine: Engine, handle: CaseHandle, event: str) -> list[str | None]:
    return [note for _at, note in _events(engine, handle, event)]


# ---- urgent first (dev server: task priority) ----------------------------------------------


async def test_urgent_officer_sms_overtakes_routine_ones_already_queued(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> None:
    slow = settings.model_copy(update={"sms_rate_limit_per_second": 4.0})
    async with running_worker(dev_env.client, engine, slow, gateway=gateway):
        routine = [
            await open_case(dev_env.client, engine, slow, citizen__phone=f"98765{i:05d}")
            for i in range(50)
        ]
        await eventually(lambda: _count(gateway), lambda n: n >= 4)
        before = len(gateway.sent)
        urgent = await open_case(
            dev_env.client, engine, slow, urgent=True, category="police", department="police"
        )
        reg = row_of(engine, urgent).registration_number
        await eventually(
            lambda: _count(gateway),
            lambda _: any(k.startswith(f"{reg}:") for k in gateway.keys_for(reg)),
            within=60,
        )
        position = next(
            i for i, s in enumerate(gateway.sent[before:], 1) if s.key.startswith(f"{reg}:")
        )
        assert _template(gateway.sent[before + position - 1].key) == "officer_urgent"
        assert "URGENT" in gateway.sent[before + position - 1].body
        # Near the front of what is handed over after its registration, not behind ~100
        # routine SMS: on a quiet machine among the first three (one or two routine ones may
        # already be on their way to the worker); under load (other suites on the same two
        # cores) the worker has fetched a few more before it, seen up to 5.
        assert position <= 8, position
        assert len(routine) == 50


async def _count(gateway: SwitchableGateway) -> int:
    return len(gateway.sent)


# ---- actions over HTTP ---------------------------------------------------------------------

REPORT = {"outcome": "resolved", "reply": "Toilet constructed under SBM-G on 2 December"}


async def _case(http: httpx.AsyncClient) -> str:
    created = await http.post("/v1/complaints", json=complaint_body())
    assert created.status_code == 201, created.text
    path: str = created.json()["links"]["self"]

    async def probe() -> dict[str, Any]:
        return (await http.get(path)).json()

    await eventually(probe, lambda c: c["status"] == "awaiting_report")
    return path


async def test_same_idempotency_key_applies_an_action_once_with_the_same_answer(
    stack: httpx.AsyncClient,
) -> None:
    path = await _case(stack)
    key = {"Idempotency-Key": "report-7f3a"}
    first = await stack.post(f"{path}/report", json=REPORT, headers=key)
    retry = await stack.post(f"{path}/report", json=REPORT, headers=key)
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    other = await stack.post(f"{path}/report", json=REPORT, headers={"Idempotency-Key": "x-2"})
    assert other.status_code == 409  # a new action on a case no longer awaiting a report
    case = (await stack.get(path)).json()
    assert [e["event"] for e in case["timeline"]].count("report_received") == 1

    # Two "unreachable" taps: the same key is one attempt, another key is refused.
    tap = {"outcome": "unreachable"}
    one = await stack.post(f"{path}/callback", json=tap, headers={"Idempotency-Key": "tap-1"})
    same = await stack.post(f"{path}/callback", json=tap, headers={"Idempotency-Key": "tap-1"})
    assert one.status_code == same.status_code == 200 and one.json() == same.json()
    again = await stack.post(f"{path}/callback", json=tap, headers={"Idempotency-Key": "tap-2"})
    assert again.status_code == 409
    assert again.json()["reason"] == "attempt_just_recorded"
    assert "the next is due at" in again.json()["detail"]
    case = (await stack.get(path)).json()
    assert [e["event"] for e in case["timeline"]].count("citizen_unreachable") == 1


@pytest.mark.parametrize("bad", ["", "a" * 101, "key with spaces", "ключ"])
async def test_an_action_refuses_a_malformed_idempotency_key(
    stack: httpx.AsyncClient, bad: str
) -> None:
    path = await _case(stack)
    answer = await stack.post(
        f"{path}/report", json=REPORT, headers={b"Idempotency-Key": bad.encode()}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "Idempotency-Key"
    assert (await stack.get(path)).json()["status"] == "awaiting_report"


async def test_temporal_unreachable_answers_503_not_applied(
    dev_env: WorkflowEnvironment, any_engine: Engine, settings: Settings
) -> None:
    from core.temporal import connect
    from tests.api.test_temporal_down import _closed_port

    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with running_worker(dev_env.client, any_engine, settings), api_client(app) as http:
        path = await _case(http)
    down = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{_closed_port()}",
            "temporal_rpc_timeout_seconds": 1,
            "action_timeout_seconds": 2,
        }
    )
    unreachable = await connect(down, lazy=True)
    async with api_client(create_app(down, engine=any_engine, client=unreachable)) as http:
        answer = await http.post(f"{path}/report", json=REPORT, headers={"Idempotency-Key": "k1"})
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"]
    detail = answer.json()["detail"]
    assert "not applied" in detail or "may have been applied" in detail


async def test_no_worker_answers_503_within_the_budget_instead_of_hanging(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """The SDK polls an update's outcome with no deadline: the API bounds it."""
    impatient = settings.model_copy(update={"action_timeout_seconds": 1.5})
    app = create_app(impatient, engine=engine, client=dev_env.client)
    async with running_worker(dev_env.client, engine, settings), api_client(app) as http:
        path = await _case(http)
    # The worker is gone: the update is sent but nobody answers it.
    async with api_client(app) as http:
        answer = await asyncio.wait_for(
            http.post(f"{path}/report", json=REPORT, headers={"Idempotency-Key": "k2"}), 30
        )
        case = (await http.get(path)).json()
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"]
    assert "may have been applied" in answer.json()["detail"]
    assert "Idempotency-Key" in answer.json()["detail"]
    assert case["status"] == "awaiting_report"


async def test_a_review_decision_during_an_sms_outage_is_taken_by_case_and_minutes_at_once(
    ts: WorkflowEnvironment, engine: Engine, settings: Settings, gateway: SwitchableGateway
) -> None:
    """The session delivers its decision to the case (an update): with Twilio down it still
    completes at once, and the minutes and the case agree — never "failed here, applied
    there"."""
    await to_monday_noon(ts)
    from schemas.review import ItemOutcome
    from tests.api.test_review_reach import _next_weekly
    from tests.workflows.test_review_sessions import (
        directive,
        escalated,
        phase,
        plan,
        session_handle,
        sleep_until,
    )
    from workflows.review import ReviewSessionWorkflow

    case = await escalated(ts, engine, settings)
    weekly = await _next_weekly(ts)
    await plan(ts, settings, SessionKind.WEEKLY_REVIEW)
    session = session_handle(ts, settings, weekly.session_id)
    await sleep_until(ts, weekly.cutoff_at + timedelta(minutes=1))
    await phase(session, SessionPhase.AGENDA_FROZEN)
    gateway.down = True
    reg = row_of(engine, case).registration_number
    record = await session.execute_update(ReviewSessionWorkflow.record_decision, directive(reg))
    assert record.case_status is ComplaintStatus.AWAITING_REPORT
    state = await state_of(case)
    assert state.status is ComplaintStatus.AWAITING_REPORT
    assert "directive" in [q.template.value for q in state.outbox]  # owed, not yet sent
    with Session(engine) as db:
        outcome = db.exec(
            select(ReviewItem.outcome).where(
                ReviewItem.session_id == weekly.session_id, ReviewItem.registration_number == reg
            )
        ).one()
    assert outcome == ItemOutcome.DIRECTIVE
