"""The case's read-model projection: what a transition writes to the read model (a timeline
entry and the case's row, `RecordTransitionInput`) and to the search attributes, as pure
functions of the case's live state.

No Temporal calls, no I/O, no clock (the moment is an argument): `Journal.record`
calls them and does the effects (upsert, local activity); `tests/unit/test_projection.py` checks
them in milliseconds. Search attributes carry no name, phone, address or message text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeUpdate

from schemas import search_attributes as sa
from schemas.enums import ComplaintStatus, on_agenda
from schemas.workflow import CaseSnapshot, ComplaintState, RecordTransitionInput


def snapshot(state: ComplaintState) -> CaseSnapshot:
    """The case's row in the read model after a transition: its status, deadline, officer,
    session, the latest report's reply and reason, the citizen's remark, counts, rating."""
    report = state.last_report
    return CaseSnapshot(
        status=state.status,
        escalation_level=state.escalation_level,
        next_deadline=state.next_deadline,
        officer=state.officer,
        review=state.review,
        closure_reason=state.closure_reason,
        closed_at=state.closed_at,
        last_reply=report.reply if report else None,
        citizen_remark=state.citizen_remark,
        callback_due_at=(
            state.callback_due_at if state.status is ComplaintStatus.AWAITING_CALLBACK else None
        ),
        callback_attempts=state.callback_attempts,
        undecided_times=state.rollovers if on_agenda(state.status) else 0,
        repeat_contacts=state.repeat_contacts,
        interim_replies=state.interim_replies,
        interim_reason=state.interim_reason,
        interim_expected_by=state.interim_expected_by,
        extension_requested_until=state.extension_requested_until,
        report_reason=report.reason if report else None,
        rating=state.rating,
        appeals=state.appeals,
    )


def search_attributes(state: ComplaintState) -> list[SearchAttributeUpdate[Any]]:
    """The case's search attributes after a transition: status, level, next deadline (unset
    when none), and the officer's department and district (a transfer to another district
    moves the case there)."""
    officer = state.officer
    updates: list[SearchAttributeUpdate[Any]] = [
        sa.COMPLAINT_STATUS.value_set(str(state.status)),
        sa.ESCALATION_LEVEL.value_set(int(state.escalation_level)),
        (
            sa.NEXT_DEADLINE.value_set(state.next_deadline)
            if state.next_deadline
            else sa.NEXT_DEADLINE.value_unset()
        ),
    ]
    if officer and officer.department:
        updates.append(sa.DEPARTMENT.value_set(officer.department))
    if officer and officer.district:
        updates.append(sa.DISTRICT.value_set(officer.district))
    return updates


def transition(
    state: ComplaintState,
    *,
    registration_number: str,
    at: datetime,
    event: str,
    actor: str,
    note: str | None,
    channel: str | None,
    for_citizen: bool,
) -> RecordTransitionInput:
    """The read model's record of the transition numbered `state.event_seq` (the timeline
    entry is written once per number): who acted (`actor`), how it came in (`channel`),
    whether for the citizen, and the case's row after it."""
    return RecordTransitionInput(
        registration_number=registration_number,
        seq=state.event_seq,
        at=at,
        event=event,
        actor=actor,
        note=note,
        snapshot=snapshot(state),
        channel=channel,
        for_citizen=for_citizen,
        follow_district=True,
    )
