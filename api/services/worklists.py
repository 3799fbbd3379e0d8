"""The staff's work lists and the directory: the verification calls due, the citizens SMS does
not reach, the officers. Read by `/v1/callbacks`, `/v1/sms/unreachable`, `/v1/officers` and by
the telecaller's desk and the review room's pickers.
"""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from api.services.lists import CaseFilters, count_of, page_of
from api.services.scope import case_filter, scope_parts
from api.services.views import ist, summary
from core.ivr_calls import ivr_summaries
from core.models import Complaint, Message, Officer, utcnow
from core.permissions import CALLBACK_WORKERS, UNREACHABLE_READERS
from core.readmodel import open_cases
from schemas.auth import Principal
from schemas.enums import ComplaintStatus, MessageStatus, RecipientKind
from schemas.staff import (
    CallbackItem,
    CallbackWorklist,
    OfficerEntry,
    OfficerList,
    UnreachableItem,
    UnreachableList,
)


def callback_worklist(
    session: Session,
    principal: Principal,
    filters: CaseFilters,
    *,
    due_only: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> CallbackWorklist:
    """A page of the cases awaiting the verification call that `principal` may work on and
    `filters` select (urgent first, then the oldest due); `count` is all of them."""
    now = utcnow()
    query = filters.apply(
        select(Complaint).where(Complaint.status == ComplaintStatus.AWAITING_CALLBACK),
        now=now,
        session=session,
    )
    if due_only:
        query = query.where(col(Complaint.callback_due_at) <= now)
    order = (
        col(Complaint.urgent).desc(),
        col(Complaint.callback_due_at).asc().nulls_last(),
        col(Complaint.year).asc(),
        col(Complaint.sequence).asc(),
    )
    rows, count = page_of(
        session,
        query,
        order,
        limit=limit,
        offset=offset,
        parts=scope_parts(principal, CALLBACK_WORKERS),
    )
    calls = ivr_summaries(session, [r.registration_number for r in rows])
    items = [
        CallbackItem(
            complaint=summary(r, now),
            citizen_name=r.citizen_name,
            citizen_phone=r.citizen_phone,
            callback_due_at=ist(r.callback_due_at),
            attempts_so_far=r.callback_attempts,
            last_reply=r.last_reply,
            due=bool(r.callback_due_at and r.callback_due_at <= now),
            ivr=calls.get(r.registration_number),
        )
        for r in rows
    ]
    return CallbackWorklist(data=items, count=count, limit=limit, offset=offset)


def directory(session: Session, district: str | None = None) -> list[OfficerEntry]:
    """The whole directory (of a district), by id: reference data of a bounded size (an
    entry per district and department office), for the pages' officer pickers."""
    query = select(Officer).order_by(col(Officer.id))
    if district:
        query = query.where(Officer.district == district)
    return [OfficerEntry.model_validate(o, from_attributes=True) for o in session.exec(query)]


def citizens_unreachable_by_sms(
    session: Session, principal: Principal, *, limit: int = 100, offset: int = 0
) -> UnreachableList:
    """A page of the open cases whose citizen the latest SMS did not reach, as `principal` may
    see them (urgent first, then the latest failure); `count` is all of them."""
    latest = (
        select(func.max(Message.id).label("id"))
        .where(Message.recipient_kind == RecipientKind.CITIZEN)
        .group_by(col(Message.complaint_id))
        .subquery()
    )
    query = (
        select(Complaint, Message)
        .join(Message, col(Message.complaint_id) == col(Complaint.id))
        .join(latest, col(Message.id) == latest.c.id)
        .where(
            col(Message.status).in_([MessageStatus.FAILED, MessageStatus.UNDELIVERED]),
            open_cases(),
            case_filter(principal, UNREACHABLE_READERS),
        )
    )
    count = count_of(session, query)
    rows = session.exec(
        query.order_by(
            col(Complaint.urgent).desc(),
            col(Message.updated_at).desc(),
            col(Complaint.year).asc(),
            col(Complaint.sequence).asc(),
        )
        .offset(offset)
        .limit(limit)
    ).all()
    now = utcnow()
    items = [
        UnreachableItem(
            complaint=summary(complaint, now),
            citizen_name=complaint.citizen_name,
            citizen_phone=complaint.citizen_phone,
            template=message.template,
            status=message.status,
            error=message.error,
            at=(ist(message.updated_at) or message.updated_at).isoformat(),
        )
        for complaint, message in rows
    ]
    return UnreachableList(data=items, count=count, limit=limit, offset=offset)


def officers_page(
    session: Session, district: str | None = None, *, limit: int = 100, offset: int = 0
) -> OfficerList:
    """A page of the directory (of `district`), by id; `count` all the entries that match."""
    query = select(Officer)
    if district:
        query = query.where(Officer.district == district)
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Officer.id)).offset(offset).limit(limit)).all()
    return OfficerList(
        data=[OfficerEntry.model_validate(o, from_attributes=True) for o in rows], count=count
    )
