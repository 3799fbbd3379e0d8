"""Work lists and the directory: what telecallers and reviewers look at."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import col, select

from api.auth import require
from api.deps import SessionDep
from api.scope import case_filter
from api.views import ist, summary
from core.ivr_calls import ivr_summaries
from core.models import Complaint, Officer, utcnow
from schemas.auth import Principal, Role
from schemas.enums import ComplaintStatus
from schemas.staff import CallbackItem, CallbackWorklist, OfficerEntry

router = APIRouter(prefix="/v1", tags=["work lists"])

CALLBACK_WORKERS = (Role.TELECALLER, Role.REVIEWER)
# Every member of staff; not channel systems (integration) nor the metrics scraper.
DIRECTORY_READERS = (
    Role.TELECALLER,
    Role.NODAL_OFFICER,
    Role.DEPARTMENT_OFFICER,
    Role.REVIEWER,
    Role.ADMINISTRATOR,
    Role.ENGINEER,
)


@router.get("/callbacks", response_model=CallbackWorklist)
def callback_worklist(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*CALLBACK_WORKERS))],
    due_only: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CallbackWorklist:
    """Cases awaiting the verification call: urgent first, then the oldest due first."""
    now = utcnow()
    query = select(Complaint).where(
        Complaint.status == ComplaintStatus.AWAITING_CALLBACK,
        case_filter(principal, CALLBACK_WORKERS),
    )
    if due_only:
        query = query.where(col(Complaint.callback_due_at) <= now)
    rows = session.exec(
        query.order_by(col(Complaint.urgent).desc(), col(Complaint.callback_due_at).asc()).limit(
            limit
        )
    ).all()
    calls = ivr_summaries(session, [r.registration_number for r in rows])
    items = [
        CallbackItem(
            complaint=summary(r, now),
            callback_due_at=ist(r.callback_due_at),
            attempts_so_far=r.callback_attempts,
            last_reply=r.last_reply,
            due=bool(r.callback_due_at and r.callback_due_at <= now),
            ivr=calls.get(r.registration_number),
        )
        for r in rows
    ]
    return CallbackWorklist(data=items, count=len(items))


@router.get(
    "/officers",
    response_model=list[OfficerEntry],
    tags=["directory"],
    dependencies=[Depends(require(*DIRECTORY_READERS))],
)
def list_officers(session: SessionDep, district: str | None = None) -> list[OfficerEntry]:
    """The nodal-officer directory (ids are used in review directives)."""
    query = select(Officer)
    if district:
        query = query.where(Officer.district == district)
    return [OfficerEntry.model_validate(o, from_attributes=True) for o in session.exec(query)]
