"""Read-model queries that the API and the activities share: the directory's officers, a review
session's agenda as it stands, and a gateway's delivery receipt recorded on its message.

Plain functions of a database session or engine (no Temporal here): the activities call them
inside their own transactions, the API to answer reads and webhooks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.models import Complaint, Message, Officer, ReviewSession, TimelineEvent, utcnow
from schemas.calendar import SessionKind
from schemas.delivery import STATUS_RANK
from schemas.enums import MessageStatus, OfficerRole, RecipientKind
from schemas.escalation import REVIEW_STATUSES, prepared_at
from schemas.reference import CATEGORY_BY_CODE
from schemas.review import AgendaItem, AgendaSection, HistoryEntry


def active_officer(
    session: Session, role: OfficerRole, *, district: str | None, department: str | None
) -> Officer | None:
    """The directory's active officer of `role` for a district and/or department."""
    query = select(Officer).where(Officer.role == role, col(Officer.active).is_(True))
    if department is not None:
        query = query.where(Officer.department == department)
    if district is not None:
        query = query.where(Officer.district == district)
    return session.exec(query.order_by(Officer.id)).first()


# A case's escalation to each forum (the ladder's session kinds).
ESCALATION_EVENTS = tuple(f"escalated_to_{kind.value}" for kind in SessionKind)
# Timeline events that make up a case's escalation history on the agenda.
HISTORY_EVENTS = (
    *ESCALATION_EVENTS,
    "review_rolled_over",
    "directive_given",
    "citizen_not_satisfied",
    "review_requested",
    "reopened",
)


def subject_of(row: Complaint) -> str:
    """A short subject line: the category's label, else the start of the description."""
    if row.category and row.category in CATEGORY_BY_CODE:
        return CATEGORY_BY_CODE[row.category].label
    text = " ".join(row.description.split())
    return text if len(text) <= 80 else text[:77] + "..."


def district_nodal_officer(session: Session, district: str) -> Officer | None:
    """The district's nodal officer, or the state fallback when none is on record."""
    return active_officer(
        session, OfficerRole.NODAL, district=district, department=None
    ) or active_officer(session, OfficerRole.STATE_FALLBACK, district=None, department=None)


# Ids per IN (...) list: well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_BATCH = 500


# A case's round at the reviews starts again at these events; rollovers after it are counted.
_ROUND_STARTS = (*ESCALATION_EVENTS, "directive_given")


def _undecided_times(events: list[TimelineEvent]) -> int:
    count = 0
    for event in events:
        if event.event in _ROUND_STARTS:
            count = 0
        elif event.event == "review_rolled_over":
            count += 1
    return count


def agenda_items(session: Session, session_id: str, now: datetime) -> list[AgendaItem]:
    """The cases of `session_id`'s agenda: those escalated to it that still await it, the
    longest-undecided first within each district; for a weekly review, then every case bound
    for a later Sidhi Baat ("awaiting Sidhi Baat", prepared here).

    Frozen at the cutoff by the session's activity; before it, the API's provisional agenda.
    """
    rows: list[tuple[Complaint, AgendaSection]] = [
        (row, AgendaSection.FOR_DECISION)
        for row in session.exec(
            select(Complaint).where(
                Complaint.review_session_id == session_id,
                col(Complaint.status).in_(REVIEW_STATUSES),
            )
        ).all()
    ]
    meeting = session.get(ReviewSession, session_id)
    prepared = prepared_at(meeting.kind) if meeting is not None else ()
    if meeting is not None and prepared:
        rows += [
            (row, AgendaSection.AWAITING_SIDHI_BAAT)
            for row in session.exec(
                select(Complaint).where(
                    col(Complaint.status).in_(prepared),
                    col(Complaint.review_date) > meeting.starts_at,
                )
            ).all()
        ]
    # The escalation histories of all the agenda's cases in one query (not one per case).
    history: defaultdict[int, list[TimelineEvent]] = defaultdict(list)
    ids = [row.id for row, _ in rows]
    for start in range(0, len(ids), _IN_BATCH):
        for event in session.exec(
            select(TimelineEvent)
            .where(
                col(TimelineEvent.complaint_id).in_(ids[start : start + _IN_BATCH]),
                col(TimelineEvent.event).in_(HISTORY_EVENTS),
            )
            .order_by(col(TimelineEvent.complaint_id), col(TimelineEvent.seq))
        ):
            history[event.complaint_id].append(event)
    officers: dict[str, str | None] = {}
    items = []
    for row, section in rows:
        assert row.id is not None
        if row.district not in officers:
            officer = district_nodal_officer(session, row.district)
            officers[row.district] = officer.id if officer else None
        events = history[row.id]
        items.append(
            AgendaItem(
                registration_number=row.registration_number,
                workflow_id=row.workflow_id,
                kind=row.kind,
                district=row.district,
                department=row.department,
                category=row.category,
                subject=subject_of(row),
                registered_at=row.created_at,
                age_days=max(0, (now - row.created_at).days),
                status=row.status,
                escalation_level=row.escalation_level,
                escalation_history=[
                    HistoryEntry(at=e.at, event=e.event, note=e.note) for e in events
                ],
                last_reply=row.last_reply,
                citizen_remark=row.citizen_remark,
                wishes_to_meet_cm=row.wishes_to_meet_cm,
                assigned_officer_id=row.assigned_officer_id,
                nodal_officer_id=officers[row.district],
                section=section,
                undecided_times=_undecided_times(events),
                sidhi_baat_at=row.review_date
                if section is AgendaSection.AWAITING_SIDHI_BAAT
                else None,
                extension_requested_until=row.extension_requested_until,
                report_reason=row.report_reason,
            )
        )
    # Decisions first; within a section by district, the longest-undecided, then the oldest.
    items.sort(
        key=lambda i: (
            i.section is AgendaSection.AWAITING_SIDHI_BAAT,
            i.district,
            -i.undecided_times,
            i.registered_at,
        )
    )
    return items


@dataclass(frozen=True)
class AppliedReceipt:
    """A delivery receipt that changed a message (None is returned when it changed nothing)."""

    key: str
    registration_number: str | None
    workflow_id: str | None
    template: str
    recipient_kind: RecipientKind
    status: MessageStatus
    error: str | None


def apply_receipt(
    engine: Engine,
    *,
    key: str | None,
    provider_sid: str,
    status: MessageStatus,
    error_code: str | None = None,
) -> AppliedReceipt | None:
    """Record a gateway's delivery receipt on its message, once.

    The message is found by its key (from the status-callback URL) or else by the gateway's
    SID, and only a message handed to the gateway under that SID takes it (a receipt for a
    message never sent, or with another SID, is ignored). Duplicate, late and out-of-order
    receipts change nothing (None).
    """
    with Session(engine, expire_on_commit=False) as session:
        query = select(Message).where(
            Message.key == key if key else Message.provider_sid == provider_sid
        )
        message = session.exec(query.with_for_update()).first()
        if message is None:
            return None
        # Only for a message this provider took under that very SID: a receipt for a message
        # never handed over (the outbox, a pending one) or for another SID changes nothing.
        if message.provider_sid != provider_sid:
            return None
        if STATUS_RANK[status] <= STATUS_RANK[message.status]:
            return None
        now = utcnow()
        message.status = status
        message.provider_sid = provider_sid
        message.updated_at = now
        if status is MessageStatus.DELIVERED:
            message.delivered_at = now
        if status in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
            message.error = f"Twilio error {error_code}" if error_code else status.value
        session.add(message)
        complaint = session.get(Complaint, message.complaint_id) if message.complaint_id else None
        session.commit()
        return AppliedReceipt(
            key=message.key,
            registration_number=complaint.registration_number if complaint else None,
            workflow_id=complaint.workflow_id if complaint else None,
            template=message.template,
            recipient_kind=message.recipient_kind,
            status=status,
            error=message.error,
        )
