"""`/v1/reviews`: the sessions of the ladder's forums (weekly review, Sidhi Baat, a District
Collector's review...) — list, agenda, decisions, close, minutes (JSON and CSV). The session
kind in the path is one of the configured ladder's forums; a forum each district holds takes
`?district=`. Reads come from the read model; actions are updates of the session's workflow,
which delivers each decision to its complaint."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from api.auth import require
from api.deps import AppStateDep, SessionDep
from api.services import reviews
from api.updates import ActionKey
from core.permissions import REVIEW_READERS, REVIEW_WRITERS
from schemas.actions import BulkDecisionBody, CloseSessionBody, SessionDecisionBody
from schemas.auth import Principal
from schemas.calendar import CalendarDay
from schemas.review import (
    BulkProgress,
    BulkSelection,
    DecisionRecord,
    Minutes,
    SessionAgenda,
    SessionList,
    SessionSummary,
)

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])


@router.get("", response_model=SessionList, dependencies=[Depends(require(*REVIEW_READERS))])
def list_sessions(
    session: SessionDep,
    app: AppStateDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    when: Annotated[Literal["upcoming", "past", "all"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SessionList:
    """Upcoming and past sessions with their counts (soonest upcoming first, then the past,
    newest first); `count` is all of them, `data` the page from `offset` (a District
    Collector's ladder opens one session per district per sitting: 24 a week)."""
    return reviews.list_sessions(
        session=session, app=app, kind=kind, when=when, limit=limit, offset=offset
    )


AgendaFilters = Annotated[BulkSelection, Depends(reviews.selection)]


@router.get(
    "/{kind}/{day}", response_model=SessionAgenda, dependencies=[Depends(require(*REVIEW_READERS))]
)
def get_agenda(
    kind: str,
    day: CalendarDay,
    session: SessionDep,
    app: AppStateDep,
    filters: AgendaFilters,
    district: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SessionAgenda:
    """The agenda: first its summary (district x department: cases, undecided, oldest, most
    times undecided, urgent, wishes to meet the CM), then a page of its cases worst first
    (for decision before awaiting Sidhi Baat, the most times undecided, the oldest), grouped
    by district, each with its complaint, escalation history, the department's last reply,
    the citizen's remark and who answers for it. Filters (`in_district`, `department`,
    `category`, `level`, `min_age_days`, `min_undecided_times`, `urgent`,
    `wishes_to_meet_cm`, `number`) select as a bulk decision would; `count` is all they
    select. Before the cutoff it is provisional (`frozen: false`). `district`: the session's,
    for a forum each district holds."""
    return reviews.get_agenda(
        kind=kind,
        day=day,
        session=session,
        app=app,
        filters=filters,
        district=district,
        limit=limit,
        offset=offset,
    )


_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such session, or it is not open yet."},
    409: {"description": "Not on the agenda, already decided, or the session is closed."},
}


@router.post("/{kind}/{day}/decisions", responses=_ACTION_RESPONSES)
async def record_decision(
    kind: str,
    day: CalendarDay,
    body: SessionDecisionBody,
    session: SessionDep,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*REVIEW_WRITERS))],
    idempotency_key: ActionKey = None,
    district: str | None = None,
) -> DecisionRecord:
    """Record a decision on a case of the agenda: a directive (text, responsible officer, new
    deadline) or a closure (with a reason, only once the citizen was informed), as the
    caller's. The decision reaches the case at once."""
    return await reviews.record_decision(
        kind, day, body, session, app, principal, idempotency_key, district
    )


@router.post("/{kind}/{day}/bulk-decisions", status_code=202, responses=_ACTION_RESPONSES)
async def record_bulk_decision(
    kind: str,
    day: CalendarDay,
    body: BulkDecisionBody,
    session: SessionDep,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*REVIEW_WRITERS))],
    idempotency_key: ActionKey = None,
    district: str | None = None,
) -> BulkProgress:
    """One directive (text, responsible officer, deadline) or one closure at review (the
    citizen informed) for every undecided case the selection names, as the caller's: by
    district, department, subject (category), level, age, times undecided, urgent, wish to
    meet the CM, and/or a list of numbers ("this page"). Answers 202 at once with M (the
    cases selected) and the numbers refused with their reasons; each case then receives it
    as its own decision (timeline, SMS, a line of the minutes), N of M shown at
    `links.progress`. Sent again with its Idempotency-Key, it is recorded and applied once."""
    return await reviews.record_bulk_decision(
        kind, day, body, session, app, principal, idempotency_key, district
    )


@router.get(
    "/{kind}/{day}/bulk-decisions/{bulk_id}",
    response_model=BulkProgress,
    dependencies=[Depends(require(*REVIEW_READERS))],
)
def get_bulk_decision(
    kind: str,
    day: CalendarDay,
    bulk_id: str,
    session: SessionDep,
    app: AppStateDep,
    district: str | None = None,
) -> BulkProgress:
    """A bulk decision's progress: N of M applied, done or not, and its refusals with their
    reasons (the first 200; `refused` counts them all)."""
    return reviews.get_bulk_decision(
        kind=kind, day=day, bulk_id=bulk_id, session=session, app=app, district=district
    )


@router.post("/{kind}/{day}/close", responses=_ACTION_RESPONSES)
async def close_session(
    kind: str,
    day: CalendarDay,
    body: CloseSessionBody,
    session: SessionDep,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*REVIEW_WRITERS))],
    idempotency_key: ActionKey = None,
    district: str | None = None,
) -> SessionSummary:
    """Close the session, as the caller: undecided cases roll over to the next session of
    the same kind and the minutes become final. Answered at once with phase `closing` (the
    rollovers go in batches: thousands of cases take minutes); the session reads `closed`,
    with its counts, once they are done."""
    return await reviews.close_session(
        kind, day, body, session, app, principal, idempotency_key, district
    )


@router.get(
    "/{kind}/{day}/minutes",
    response_model=Minutes,
    dependencies=[Depends(require(*REVIEW_READERS))],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def get_minutes(
    kind: str,
    day: CalendarDay,
    session: SessionDep,
    app: AppStateDep,
    format: Literal["json", "csv"] = "json",
    district: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=5000)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """The decisions taken (and the cases rolled over), as JSON or as CSV for circulation to
    the districts: a row per case (a bulk decision's cases each with its own, naming the
    bulk), and each bulk decision as one line (`bulk_decisions`). `final` is true once the
    session is closed. `limit`/`offset` page the entries (`count`: all of them); the CSV
    carries them all."""
    return reviews.get_minutes(
        kind=kind,
        day=day,
        session=session,
        app=app,
        format=format,
        district=district,
        limit=limit,
        offset=offset,
    )
