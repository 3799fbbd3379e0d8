"""Work lists and the directory: what telecallers and reviewers look at."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import require
from api.deps import SessionDep
from api.services import worklists
from api.services.lists import CaseFilters, Offset, SearchText
from core.permissions import CALLBACK_WORKERS, DIRECTORY_READERS
from schemas.auth import Principal
from schemas.reference import DistrictName
from schemas.staff import CallbackWorklist, OfficerList

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
    return worklists.callback_worklist(
        session,
        principal,
        CaseFilters(district=district, urgent=urgent, q=q),
        due_only=due_only,
        limit=limit,
        offset=offset,
    )


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
    return worklists.officers_page(session, district, limit=limit, offset=offset)
