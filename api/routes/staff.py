"""Work lists and the directory: what telecallers and reviewers look at."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session, col, func, select

from api.auth import require
from api.deps import SessionDep
from api.lists import CaseFilters, Offset, SearchText, dialect_of, page_of
from api.scope import case_filter
from api.views import ist, summary
from core.ivr_calls import ivr_summaries
from core.models import Complaint, Officer, utcnow
from core.permissions import CALLBACK_WORKERS, DIRECTORY_READERS
from schemas.auth import Principal
from schemas.enums import ComplaintStatus
from schemas.reference import DistrictName
from schemas.staff import CallbackItem, CallbackWorklist, OfficerEntry, OfficerList

router = APIRouter(prefix="/v1", tags=["work lists"])


@router.get("/callbacks", response_model=CallbackWorklist)
def callback_worklist(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*CALLBACK_WORKERS))],
    due_only: bool = True,
    district: DistrictName | None = None,
    urgent: bool | None = None,
    q: SearchText = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> CallbackWorklist:
    """Cases awaiting the verification call: urgent first, then the oldest due first (ties by
    registration year and sequence), with the citizen's name and phone, the department's
    reply and the attempts so far; `count` is every such case, `data` the page."""
    now = utcnow()
    query = CaseFilters(district=district, urgent=urgent, q=q).apply(
        select(Complaint).where(
            Complaint.status == ComplaintStatus.AWAITING_CALLBACK,
            case_filter(principal, CALLBACK_WORKERS),
        ),
        now=now,
        dialect=dialect_of(session),
    )
    if due_only:
        query = query.where(col(Complaint.callback_due_at) <= now)
    order = (
        col(Complaint.urgent).desc(),
        col(Complaint.callback_due_at).asc().nulls_last(),
        col(Complaint.year).asc(),
        col(Complaint.sequence).asc(),
    )
    rows, count = page_of(session, query, order, limit=limit, offset=offset)
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


@router.get(
    "/officers",
    response_model=OfficerList,
    tags=["directory"],
    dependencies=[Depends(require(*DIRECTORY_READERS))],
)
def list_officers(
    session: SessionDep,
    district: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> OfficerList:
    """The nodal-officer directory (ids are used in review directives), by id: `data` a page
    (`limit`, `offset`), `count` all the entries that match."""
    query = select(Officer)
    if district:
        query = query.where(Officer.district == district)
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Officer.id)).offset(offset).limit(limit)).all()
    return OfficerList(
        data=[OfficerEntry.model_validate(o, from_attributes=True) for o in rows], count=count
    )
