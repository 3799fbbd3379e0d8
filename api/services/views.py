"""Read-model rows to API models; times are shown in IST."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from core.models import Complaint, Message, TimelineEvent, utcnow
from schemas.calendar import IST
from schemas.complaint import (
    Citizen,
    ComplaintLinks,
    ComplaintPublic,
    ComplaintSummary,
    MessagePublic,
    OfficerPublic,
    TimelineEntry,
)
from schemas.enums import is_open


def ist(moment: datetime | None) -> datetime | None:
    return moment.astimezone(IST) if moment else None


def _is_overdue(row: Complaint, now: datetime) -> bool:
    return bool(is_open(row.status) and row.next_deadline and row.next_deadline < now)


def summary(row: Complaint, now: datetime | None = None) -> ComplaintSummary:
    now = now or utcnow()
    return ComplaintSummary(
        registration_number=row.registration_number,
        kind=row.kind,
        channel=row.channel,
        district=row.district,
        department=row.department,
        category=row.category,
        urgent=row.urgent,
        status=row.status,
        escalation_level=row.escalation_level,
        next_deadline=ist(row.next_deadline),
        overdue=_is_overdue(row, now),
        undecided_times=row.undecided_times,
        repeat_contacts=row.repeat_contacts,
        created_at=ist(row.created_at),
        links=ComplaintLinks(self=f"/v1/complaints/{row.year}/{row.sequence}"),
    )


def public(session: Session, row: Complaint) -> ComplaintPublic:
    timeline = session.exec(
        select(TimelineEvent)
        .where(TimelineEvent.complaint_id == row.id)
        .order_by(col(TimelineEvent.seq))
    ).all()
    messages = session.exec(
        select(Message).where(Message.complaint_id == row.id).order_by(col(Message.id))
    ).all()
    officer = (
        OfficerPublic(
            id=row.assigned_officer_id,
            name=row.assigned_officer_name or "",
            designation=row.assigned_officer_designation or "",
        )
        if row.assigned_officer_id
        else None
    )
    return ComplaintPublic(
        **summary(row).model_dump(),
        year=row.year,
        sequence=row.sequence,
        # Built from the stored case: the language it was filed in stands even if it is no
        # longer offered, so no intake validation here.
        citizen=Citizen.model_construct(
            name=row.citizen_name,
            phone=row.citizen_phone,
            address=row.citizen_address,
            district=row.citizen_district or row.district,
            pincode=row.pincode,
            language=row.language,
        ),
        description=row.description,
        wishes_to_meet_cm=row.wishes_to_meet_cm,
        assigned_officer=officer,
        review_date=ist(row.review_date),
        closure_reason=row.closure_reason,
        closed_at=ist(row.closed_at),
        last_reply=row.last_reply,
        citizen_remark=row.citizen_remark,
        workflow_id=row.workflow_id,
        workflow_started=row.workflow_started_at is not None,
        updated_at=ist(row.updated_at),
        timeline=[
            TimelineEntry(
                at=ist(e.at),
                event=e.event,
                actor=e.actor,
                channel=e.channel,
                on_behalf_of_citizen=e.for_citizen,
                note=e.note,
            )
            for e in timeline
        ],
        messages=[
            MessagePublic(
                key=m.key,
                template=m.template,
                recipient_kind=m.recipient_kind,
                recipient=m.recipient,
                language=m.language,
                text=m.text,
                segments=m.segments,
                status=m.status,
                provider=m.provider,
                channel=m.channel,
                provider_sid=m.provider_sid,
                error=m.error,
                created_at=ist(m.created_at),
                sent_at=ist(m.sent_at),
                delivered_at=ist(m.delivered_at),
                updated_at=ist(m.updated_at),
            )
            for m in messages
        ],
    )
