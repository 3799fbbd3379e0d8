"""The SMS outbox's queue rules (`workflows/outbox.py`) as plain functions: no Temporal server,
no database, milliseconds each. tests/api/test_sms_queue.py checks the workflow sends by them."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.calendar import IST
from schemas.enums import ComplaintStatus, OfficerRole, RecipientKind
from schemas.policy import Policy
from schemas.workflow import ComplaintState, OfficerAssignment, QueuedSms, SmsTemplate
from workflows import outbox
from workflows.outbox import (
    CITIZEN_URGENT_PRIORITY,
    OFFICER_URGENT_PRIORITY,
    ROUTINE_PRIORITY,
)

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=IST)
POLICY = Policy()


def sms(
    template: SmsTemplate = SmsTemplate.FORWARDED,
    recipient: RecipientKind = RecipientKind.CITIZEN,
    officer_id: str | None = None,
    **fields: object,
) -> QueuedSms:
    return QueuedSms(
        key=f"1/2026:1:{template.value}:{recipient.value}:{officer_id}",
        template=template,
        recipient=recipient,
        officer_id=officer_id,
        queued_at=NOW,
        **fields,
    )


def officer(officer_id: str = "ranchi-nodal") -> OfficerAssignment:
    return OfficerAssignment(
        officer_id=officer_id,
        name="Nodal",
        designation="District Supply Officer",
        role=OfficerRole.NODAL,
        department="Food",
        district="Ranchi",
    )


def test_a_transition_owes_a_keyed_message_and_none_to_a_missing_officer() -> None:
    state = ComplaintState(event_seq=4, assignments=2, officer=officer())
    owed = outbox.owed(
        state,
        SmsTemplate.OFFICER_ASSIGNED,
        RecipientKind.OFFICER,
        {"due": "15 Dec"},
        registration_number="7/2026",
        urgent=True,
        now=NOW,
        assignment_bound=True,
    )
    assert owed is not None
    assert owed.key == "7/2026:4:officer_assigned:officer"
    assert (owed.officer_id, owed.assignment, owed.urgent) == ("ranchi-nodal", 2, True)
    citizen = outbox.owed(
        state,
        SmsTemplate.CLOSED,
        RecipientKind.CITIZEN,
        {},
        registration_number="7/2026",
        urgent=False,
        now=NOW,
    )
    assert citizen is not None and citizen.officer_id is None and citizen.assignment is None
    nobody = ComplaintState(event_seq=1)
    assert (
        outbox.owed(
            nobody,
            SmsTemplate.OFFICER_REMINDER,
            RecipientKind.OFFICER,
            {},
            registration_number="7/2026",
            urgent=False,
            now=NOW,
        )
        is None
    )


def test_oldest_first_but_a_deferred_message_holds_back_only_its_recipient() -> None:
    deferred = sms(
        SmsTemplate.OFFICER_ASSIGNED,
        RecipientKind.OFFICER,
        "o1",
        not_before=NOW + timedelta(hours=1),
    )
    queue = [
        deferred,
        sms(SmsTemplate.OFFICER_REMINDER, RecipientKind.OFFICER, "o1"),
        sms(SmsTemplate.ACKNOWLEDGEMENT),
    ]
    # The officer's later message waits behind the deferred one; the citizen's goes.
    assert outbox.next_sendable(queue, NOW) == (2, None)
    assert outbox.next_sendable(queue[:2], NOW) == (None, NOW + timedelta(hours=1))
    # Another officer is not held back by the first one's outage.
    other = sms(SmsTemplate.OFFICER_ASSIGNED, RecipientKind.OFFICER, "o2")
    assert outbox.next_sendable([deferred, other], NOW) == (1, None)
    # Once due, the deferred message is first again.
    assert outbox.next_sendable(queue, NOW + timedelta(hours=1)) == (0, None)
    assert outbox.next_sendable([], NOW) == (None, None)


def test_a_message_goes_stale_with_its_assignment_its_moment_or_the_cases_end() -> None:
    open_case = {"status": ComplaintStatus.AWAITING_REPORT, "now": NOW}
    bound = sms(SmsTemplate.FORWARDED, assignment=1)
    assert outbox.stale(bound, assignments=1, **open_case) is None  # type: ignore[arg-type]
    moved = outbox.stale(bound, assignments=2, **open_case)  # type: ignore[arg-type]
    assert moved == "the case has moved to another officer since"
    reminder = sms(SmsTemplate.OFFICER_REMINDER, valid_until=NOW)
    late = outbox.stale(reminder, assignments=0, **open_case)  # type: ignore[arg-type]
    assert late is not None and late.startswith("its deadline")
    assigned = sms(SmsTemplate.OFFICER_ASSIGNED, RecipientKind.OFFICER, "o1")
    assert outbox.stale(assigned, assignments=0, status=ComplaintStatus.CLOSED, now=NOW) == (
        "the case is closed"
    )
    # The citizen's closure message is sent late rather than never.
    closed = sms(SmsTemplate.CLOSED)
    assert outbox.stale(closed, assignments=9, status=ComplaintStatus.CLOSED, now=NOW) is None


def test_an_urgent_cases_officer_goes_first_then_its_citizen() -> None:
    officer_sms = sms(SmsTemplate.OFFICER_URGENT, RecipientKind.OFFICER, "o1", urgent=True)
    assert outbox.sms_priority(officer_sms) == OFFICER_URGENT_PRIORITY
    assert outbox.sms_priority(sms(urgent=True)) == CITIZEN_URGENT_PRIORITY
    assert outbox.sms_priority(sms()) == ROUTINE_PRIORITY
    keys = [p.priority_key for p in (OFFICER_URGENT_PRIORITY, CITIZEN_URGENT_PRIORITY)]
    assert keys == [1, 2] and ROUTINE_PRIORITY.priority_key == 3


def test_a_failed_round_defers_the_message_until_its_window_ends() -> None:
    first = outbox.after_failed_round(sms(), NOW, POLICY)
    assert first.retry_at == NOW + POLICY.sms_redelivery_after
    assert first.reason == f"the gateway did not accept it in {POLICY.sms_attempts} attempts"
    assert first.retry is not None
    assert (first.retry.rounds, first.retry.not_before) == (1, first.retry_at)
    assert first.retry.key == sms().key  # the same message: sent at most once
    second = outbox.after_failed_round(first.retry, first.retry_at, POLICY)
    assert second.reason.endswith(f"in {2 * POLICY.sms_attempts} attempts")
    # The last round that still fits the window defers; past it, given up.
    edge = NOW + POLICY.sms_redelivery_window - POLICY.sms_redelivery_after
    assert outbox.after_failed_round(sms(), edge, POLICY).retry is not None
    gone = outbox.after_failed_round(sms(), edge + timedelta(seconds=1), POLICY)
    assert gone.retry is None
