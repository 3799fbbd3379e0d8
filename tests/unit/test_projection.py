"""The read-model projection (`workflows/projection.py`) as plain functions of the case's state:
no Temporal server, no database, milliseconds each. The workflow tests check that the read model
shows what it says."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas import search_attributes as sa
from schemas.calendar import IST, SessionKind
from schemas.enums import ComplaintStatus, EscalationLevel
from schemas.workflow import (
    ComplaintState,
    DepartmentReport,
    ReportOutcome,
    ReviewSlot,
)
from tests.unit.test_outbox import officer
from workflows import projection

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=IST)
OFFICER = officer("dumka-nodal")


def test_the_snapshot_shows_the_latest_report_and_a_callback_only_while_awaited() -> None:
    report = DepartmentReport(
        outcome=ReportOutcome.NOT_ACTIONABLE, reply="sub judice", reason="sub_judice"
    )
    state = ComplaintState(
        status=ComplaintStatus.AWAITING_CALLBACK,
        officer=OFFICER,
        last_report=report,
        callback_due_at=NOW,
        callback_attempts=1,
        rollovers=2,
        citizen_remark="still waiting",
    )
    shown = projection.snapshot(state)
    assert (shown.last_reply, shown.report_reason) == ("sub judice", "sub_judice")
    assert (shown.callback_due_at, shown.callback_attempts) == (NOW, 1)
    # Rollovers count only on an agenda.
    assert shown.undecided_times == 0 and shown.citizen_remark == "still waiting"
    state.status = ComplaintStatus.AWAITING_REPORT
    later = projection.snapshot(state)
    assert later.callback_due_at is None


def test_on_an_agenda_the_snapshot_counts_the_sessions_undecided() -> None:
    slot = ReviewSlot(
        kind=SessionKind.WEEKLY_REVIEW, session_id="weekly-review-2026-12-01", starts_at=NOW
    )
    state = ComplaintState(
        status=ComplaintStatus.WEEKLY_REVIEW,
        escalation_level=EscalationLevel.WEEKLY_REVIEW,
        review=slot,
        rollovers=2,
        next_deadline=NOW + timedelta(days=2),
    )
    shown = projection.snapshot(state)
    assert shown.undecided_times == 2 and shown.review == slot
    assert shown.last_reply is None and shown.report_reason is None


def test_search_attributes_follow_the_officers_district_and_unset_a_missing_deadline() -> None:
    state = ComplaintState(status=ComplaintStatus.AWAITING_REPORT, officer=OFFICER)
    updates = {u.key.name: u.value for u in projection.search_attributes(state)}
    assert updates == {
        sa.COMPLAINT_STATUS.name: "awaiting_report",
        sa.ESCALATION_LEVEL.name: 0,
        sa.NEXT_DEADLINE.name: None,
        sa.DEPARTMENT.name: "Food",
        sa.DISTRICT.name: "Ranchi",
    }
    registered = ComplaintState(next_deadline=NOW)
    updates = {u.key.name: u.value for u in projection.search_attributes(registered)}
    assert updates == {
        sa.COMPLAINT_STATUS.name: "registered",
        sa.ESCALATION_LEVEL.name: 0,
        sa.NEXT_DEADLINE.name: NOW,
    }


def test_a_transition_is_numbered_by_the_cases_event_sequence() -> None:
    state = ComplaintState(status=ComplaintStatus.AWAITING_REPORT, officer=OFFICER, event_seq=7)
    record = projection.transition(
        state,
        registration_number="12/2026",
        at=NOW,
        event="forwarded",
        actor="system",
        note=None,
        channel="ivr",
        for_citizen=False,
    )
    assert (record.registration_number, record.seq, record.at) == ("12/2026", 7, NOW)
    assert (record.event, record.actor, record.channel) == ("forwarded", "system", "ivr")
    assert record.follow_district and record.snapshot == projection.snapshot(state)
