"""Reading the audit trail: administrators and reviewers, per complaint and per
user. There is no route that writes, changes or deletes an entry: only `core.audit`'s
middleware appends, and the database refuses updates and deletes."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from api.auth import require
from api.deps import AppStateDep, SessionDep
from api.services.scope import get_case
from core import audit
from core.permissions import AUDIT_READERS
from schemas.audit import AuditEntryPublic, AuditPage
from schemas.auth import Principal
from schemas.calendar import IST, IstDateTime

router = APIRouter(prefix="/v1", tags=["audit"])

Limit = Annotated[int, Query(ge=1, le=500, description="Entries per page (newest first).")]
BeforeId = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="next_before_id of the previous page.")
]


def _page(rows: list[audit.AuditEntry], total: int, limit: int) -> AuditPage:
    data = [
        AuditEntryPublic(
            id=row.id or 0,
            at=row.at.astimezone(IST),
            subject=row.subject,
            roles=[role for role in row.roles.split(",") if role],
            token_id=row.token_id,
            client_address=row.client_address,
            method=row.method,
            route=row.route,
            registration_number=row.registration_number,
            summary=row.summary,
            status_code=row.status_code,
            outcome=row.outcome,
        )
        for row in rows
    ]
    more = len(data) == limit and data[-1].id > 1
    return AuditPage(data=data, count=total, next_before_id=data[-1].id if more else None)


@router.get("/audit", response_model=AuditPage)
async def audit_trail(
    app: AppStateDep,
    _principal: Annotated[Principal, Depends(require(*AUDIT_READERS))],
    subject: Annotated[str | None, Query(max_length=200, description="A user or client.")] = None,
    outcome: Annotated[list[audit.Outcome] | None, Query()] = None,
    since: Annotated[
        IstDateTime | None,
        Query(description="From this time (inclusive); without an offset, or a date alone: IST."),
    ] = None,
    until: Annotated[
        IstDateTime | None,
        Query(description="Before this time; without an offset, or a date alone: IST."),
    ] = None,
    before_id: BeforeId = None,
    limit: Limit = 100,
) -> AuditPage:
    """Every recorded state-changing request, newest first; filter by user or client
    (`subject`), outcome (repeatable, e.g. `outcome=refused`) and time."""
    filters: dict[str, Any] = {
        "subject": subject,
        "outcomes": [o.value for o in outcome or ()],
        "since": since,
        "until": until,
    }
    rows = await run_in_threadpool(
        partial(audit.entries, app.engine, before_id=before_id, limit=limit, **filters)
    )
    total = await run_in_threadpool(partial(audit.count, app.engine, **filters))
    return _page(rows, total, limit)


@router.get("/complaints/{year}/{sequence}/audit", response_model=AuditPage)
async def complaint_audit_trail(
    year: int,
    sequence: int,
    session: SessionDep,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*AUDIT_READERS))],
    before_id: BeforeId = None,
    limit: Limit = 100,
) -> AuditPage:
    """Everything done to one complaint through the API, newest first."""
    get_case(session, year, sequence, principal, AUDIT_READERS)
    rows = await run_in_threadpool(
        audit.entries, app.engine, complaint=(year, sequence), before_id=before_id, limit=limit
    )
    total = await run_in_threadpool(audit.count, app.engine, complaint=(year, sequence))
    return _page(rows, total, limit)
