"""Read-model queries of a closure the citizen trusts that pages share: the cases on a
review's agenda whose officer sent interim replies, with the extension each asks for (the
review decides it; the officer never grants it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from core.models import Complaint
from schemas.escalation import REVIEW_STATUSES


@dataclass(frozen=True)
class ExtensionRequest:
    """A case on the agenda with interim replies: its last reason and expected date, the
    extension it asks for (None: the replies stayed within the deadline)."""

    registration_number: str
    district: str
    officer_name: str | None
    interim_replies: int
    interim_reason: str | None
    interim_expected_by: datetime | None
    extension_requested_until: datetime | None


def extension_requests(
    session: Session, session_id: str, *, district: str | None, limit: int, offset: int
) -> tuple[list[ExtensionRequest], int]:
    """One page of the cases on the agenda of `session_id` (of `district` when given) whose
    officer sent an interim reply: extension requests first, the earliest asked-for date
    first, then by registration (year, sequence); and how many there are in all."""
    where: list[ColumnElement[bool]] = [
        col(Complaint.review_session_id) == session_id,
        col(Complaint.status).in_(REVIEW_STATUSES),
        sa.or_(
            col(Complaint.extension_requested_until).is_not(None),
            col(Complaint.interim_replies) > 0,
        ),
    ]
    if district:
        where.append(col(Complaint.district) == district)
    count = int(session.exec(select(func.count()).select_from(Complaint).where(*where)).one())
    rows = session.exec(
        select(Complaint)
        .where(*where)
        .order_by(
            col(Complaint.extension_requested_until).is_(None),
            col(Complaint.extension_requested_until).asc(),
            col(Complaint.year).asc(),
            col(Complaint.sequence).asc(),
        )
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        ExtensionRequest(
            registration_number=row.registration_number,
            district=row.district,
            officer_name=row.assigned_officer_name,
            interim_replies=row.interim_replies,
            interim_reason=row.interim_reason,
            interim_expected_by=row.interim_expected_by,
            extension_requested_until=row.extension_requested_until,
        )
        for row in rows
    ], count
