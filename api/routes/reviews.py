"""`/v1/reviews`: weekly review and Sidhi Baat sessions — list, agenda, decisions, close,
minutes (JSON and CSV). Reads come from the read model; actions are updates of the session's
workflow, which delivers each decision to its complaint."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from activities.review import REVIEW_STATUSES, agenda_items
from api.auth import require
from api.deps import AppStateDep, SessionDep
from api.errors import ApiError, refusal, require_future
from api.updates import ActionKey, execute_within, update_id_for
from api.views import ist
from core import audit
from core.calendar import (
    CalendarDay,
    IstModel,
    SessionKind,
    is_session_day,
    session_id,
    session_start,
)
from core.models import Complaint, Officer, ReviewItem, ReviewSession, utcnow
from schemas.auth import Principal, Role
from schemas.review import (
    AgendaItem,
    CloseSessionRequest,
    DecisionRecord,
    DecisionRequest,
    ItemOutcome,
    SessionPhase,
    SessionSummary,
)
from workflows.review import ReviewSessionWorkflow, session_workflow_id

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])

# The CM secretariat runs the meetings; administrators may read agendas and minutes.
REVIEW_READERS = (Role.REVIEWER, Role.ADMINISTRATOR)
REVIEW_WRITERS = (Role.REVIEWER,)


class SessionInfo(IstModel):
    session_id: str
    kind: SessionKind
    date: date
    starts_at: datetime
    cutoff_at: datetime
    phase: SessionPhase
    # Before the cutoff: the cases escalated to it so far (the agenda is not frozen yet).
    agenda_count: int
    decided_count: int
    rolled_over_count: int
    links: dict[str, str]


class SessionList(BaseModel):
    data: list[SessionInfo]
    count: int


class AgendaCase(AgendaItem):
    outcome: ItemOutcome = ItemOutcome.PENDING
    decision_text: str | None = None
    decided_by: str | None = None
    new_deadline: datetime | None = None


class DistrictAgenda(BaseModel):
    district: str
    nodal_officer_id: str | None
    cases: list[AgendaCase]


class SessionAgenda(BaseModel):
    session: SessionInfo
    frozen: bool
    districts: list[DistrictAgenda]


class MinutesEntry(IstModel):
    registration_number: str
    district: str
    subject: str
    outcome: ItemOutcome
    decision_text: str | None
    decided_by: str | None
    responsible_officer_id: str | None
    new_deadline: datetime | None
    citizen_informed: bool
    decided_at: datetime | None


class Minutes(BaseModel):
    session: SessionInfo
    final: bool
    entries: list[MinutesEntry]


def _slug(kind: SessionKind) -> str:
    return kind.value.replace("_", "-")


def _parse_kind(kind: str) -> SessionKind:
    try:
        return SessionKind(kind.replace("-", "_"))
    except ValueError:
        raise ApiError(404, f"no kind of session {kind!r} (weekly_review or sidhi_baat)") from None


def _links(kind: SessionKind, day: date) -> dict[str, str]:
    base = f"/v1/reviews/{kind.value}/{day.isoformat()}"
    return {"self": base, "decisions": f"{base}/decisions", "minutes": f"{base}/minutes"}


def _info(row: ReviewSession) -> SessionInfo:
    kind = SessionKind(row.kind)
    starts = ist(row.starts_at)
    assert starts is not None
    return SessionInfo(
        session_id=row.session_id,
        kind=kind,
        date=starts.date(),
        starts_at=starts,
        cutoff_at=ist(row.cutoff_at) or row.cutoff_at,
        phase=SessionPhase(row.phase),
        agenda_count=row.agenda_count,
        decided_count=row.decided_count,
        rolled_over_count=row.rolled_over_count,
        links=_links(kind, starts.date()),
    )


def _expected(app: AppStateDep, kind: SessionKind, day: date, cases: int) -> SessionInfo:
    """A session not opened yet (its planner has not run), known from the cases sent to it."""
    policy = app.policy
    at = policy.weekly_review_time if kind is SessionKind.WEEKLY_REVIEW else policy.sidhi_baat_time
    starts = session_start(day, at)
    return SessionInfo(
        session_id=session_id(kind, starts),
        kind=kind,
        date=day,
        starts_at=starts,
        cutoff_at=starts - policy.agenda_cutoff_before,
        phase=SessionPhase.SCHEDULED,
        agenda_count=cases,
        decided_count=0,
        rolled_over_count=0,
        links=_links(kind, day),
    )


def _pending_counts(session: Session, only: str | None = None) -> dict[str, int]:
    """Cases escalated per session id, for sessions whose agenda is not frozen yet (`only`:
    that session's alone, from its index rather than a count over every review case)."""
    which = (
        col(Complaint.review_session_id).is_not(None)
        if only is None
        else col(Complaint.review_session_id) == only
    )
    rows = session.exec(
        select(Complaint.review_session_id, func.count())
        .where(which, col(Complaint.status).in_(REVIEW_STATUSES))
        .group_by(col(Complaint.review_session_id))
    ).all()
    return {sid: n for sid, n in rows if sid}


def _find(session: Session, app: AppStateDep, kind_: str, day: date) -> SessionInfo:
    kind = _parse_kind(kind_)
    sid = f"{_slug(kind)}-{day.isoformat()}"
    row = session.get(ReviewSession, sid)
    # A session already held or opened is found by its day; otherwise the day must be one the
    # calendar gives (a Tuesday, or the working day a session due on a holiday moved to).
    if row is None and not is_session_day(kind, day, app.policy.working_calendar()):
        rule = "a Tuesday" if kind is SessionKind.WEEKLY_REVIEW else "the last Tuesday of a month"
        raise ApiError(
            404,
            f"no {kind.value} on {day.isoformat()}: sessions are on {rule}, "
            "or the next working day when that is a holiday",
        )
    if row is not None:
        info = _info(row)
        if info.phase is SessionPhase.SCHEDULED:
            info.agenda_count = _pending_counts(session, only=sid).get(sid, 0)
        return info
    return _expected(app, kind, day, _pending_counts(session, only=sid).get(sid, 0))


@router.get("", response_model=SessionList, dependencies=[Depends(require(*REVIEW_READERS))])
def list_sessions(
    session: SessionDep,
    app: AppStateDep,
    kind: SessionKind | None = None,
    when: Annotated[Literal["upcoming", "past", "all"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SessionList:
    """Upcoming and past sessions with their counts (soonest upcoming first, then the past,
    newest first)."""
    pending = _pending_counts(session)
    infos: dict[str, SessionInfo] = {}
    for row in session.exec(select(ReviewSession)).all():
        info = _info(row)
        if info.phase is SessionPhase.SCHEDULED:
            info.agenda_count = pending.get(row.session_id, 0)
        infos[row.session_id] = info
    for sid in pending:
        if sid in infos:
            continue
        # `weekly-review-2026-12-01`: the kind, then the ISO date (10 characters).
        session_kind = SessionKind(sid[:-11].replace("-", "_"))
        infos[sid] = _expected(app, session_kind, date.fromisoformat(sid[-10:]), pending[sid])
    selected = [
        i
        for i in infos.values()
        if (kind is None or i.kind is kind)
        and (when == "all" or (when == "upcoming") == (i.phase is not SessionPhase.CLOSED))
    ]
    upcoming = sorted(
        (i for i in selected if i.phase is not SessionPhase.CLOSED), key=lambda i: i.starts_at
    )
    past = sorted(
        (i for i in selected if i.phase is SessionPhase.CLOSED),
        key=lambda i: i.starts_at,
        reverse=True,
    )
    ordered = upcoming + past
    return SessionList(data=ordered[:limit], count=len(ordered))


def _items(session: Session, sid: str) -> list[ReviewItem]:
    return list(
        session.exec(
            select(ReviewItem)
            .where(ReviewItem.session_id == sid)
            .order_by(col(ReviewItem.position))
        ).all()
    )


@router.get(
    "/{kind}/{day}", response_model=SessionAgenda, dependencies=[Depends(require(*REVIEW_READERS))]
)
def get_agenda(kind: str, day: CalendarDay, session: SessionDep, app: AppStateDep) -> SessionAgenda:
    """The agenda grouped by district: each case with its registration number, subject, age,
    escalation history, the department's last reply and the citizen's remark. Before the
    cutoff it is provisional (`frozen: false`)."""
    info = _find(session, app, kind, day)
    cases: list[AgendaCase]
    if info.phase is SessionPhase.SCHEDULED:
        cases = [
            AgendaCase(**item.model_dump())
            for item in agenda_items(session, info.session_id, utcnow())
        ]
    else:
        cases = [
            AgendaCase(
                **AgendaItem.model_validate_json(row.item).model_dump(),
                outcome=ItemOutcome(row.outcome),
                decision_text=row.decision_text,
                decided_by=row.decided_by,
                new_deadline=ist(row.new_deadline),
            )
            for row in _items(session, info.session_id)
        ]
    districts: dict[str, DistrictAgenda] = {}
    for case in cases:
        group = districts.setdefault(
            case.district,
            DistrictAgenda(
                district=case.district, nodal_officer_id=case.nodal_officer_id, cases=[]
            ),
        )
        group.cases.append(case)
    return SessionAgenda(
        session=info,
        frozen=info.phase is not SessionPhase.SCHEDULED,
        districts=sorted(districts.values(), key=lambda d: d.district),
    )


_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such session, or it is not open yet."},
    409: {"description": "Not on the agenda, already decided, or the session is closed."},
}


async def _session_update(
    session: Session,
    app: AppStateDep,
    kind: str,
    day: CalendarDay,
    update: Any,
    arg: Any,
    *,
    budget: float | None = None,
    update_id: str | None = None,
) -> Any:
    info = _find(session, app, kind, day)
    row = session.get(ReviewSession, info.session_id)
    if row is None:
        raise ApiError(404, f"the session {info.session_id} is not open yet")
    if row.phase == SessionPhase.CLOSED:
        # Its workflow has finished: answer for it rather than with a raw "not found".
        raise refusal("session_closed", session=info.session_id)
    # Give the (read-only) connection back to the pool rather than hold it through the wait.
    session.close()
    handle = app.client.get_workflow_handle_for(
        ReviewSessionWorkflow.run,
        session_workflow_id(app.settings.workflow_id_prefix, info.session_id),
    )
    # A decision is delivered to its case before the session answers: the case's transition
    # is recorded at once (its SMS follow), so the API's budget holds here too.
    return await execute_within(
        handle,
        update,
        arg,
        budget=budget or app.settings.action_timeout_seconds,
        update_id=update_id,
    )


@router.post("/{kind}/{day}/decisions", responses=_ACTION_RESPONSES)
async def record_decision(
    kind: str,
    day: CalendarDay,
    decision: DecisionRequest,
    session: SessionDep,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*REVIEW_WRITERS))],
    idempotency_key: ActionKey = None,
) -> DecisionRecord:
    """Record a decision on a case of the agenda: a directive (text, responsible officer, new
    deadline) or a closure (with a reason, only once the citizen was informed). The decision
    reaches the case at once; `decided_by` is taken from the token."""
    if (
        decision.responsible_officer_id
        and session.get(Officer, decision.responsible_officer_id) is None
    ):
        raise ApiError(
            422, f"responsible_officer_id: unknown officer {decision.responsible_officer_id!r}"
        )
    require_future("new_deadline", decision.new_deadline)
    decision = decision.model_copy(update={"decided_by": principal.subject})
    audit.describe(
        "record_decision",
        complaint=audit.complaint_of_number(decision.registration_number),
        session=f"{kind}/{day.isoformat()}",
        facts=audit.summarize(decision),
    )
    record: DecisionRecord = await _session_update(
        session,
        app,
        kind,
        day,
        ReviewSessionWorkflow.record_decision,
        decision,
        update_id=update_id_for("record_decision", principal, idempotency_key),
    )
    return record


_CLOSE_BUDGET = 60.0


@router.post("/{kind}/{day}/close", responses=_ACTION_RESPONSES)
async def close_session(
    kind: str,
    day: CalendarDay,
    request: CloseSessionRequest,
    session: SessionDep,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*REVIEW_WRITERS))],
    idempotency_key: ActionKey = None,
) -> SessionSummary:
    """Close the session: undecided cases roll over to the next session of the same kind and
    the minutes become final (`closed_by` is taken from the token)."""
    request = request.model_copy(update={"closed_by": principal.subject})
    audit.describe("close", session=f"{kind}/{day.isoformat()}")
    # Closing rolls every undecided case over (one update each): a budget of its own.
    summary: SessionSummary = await _session_update(
        session,
        app,
        kind,
        day,
        ReviewSessionWorkflow.close,
        request,
        budget=_CLOSE_BUDGET,
        update_id=update_id_for("close", principal, idempotency_key),
    )
    return summary


def _minutes(session: Session, app: AppStateDep, kind: str, day: date) -> Minutes:
    info = _find(session, app, kind, day)
    entries = []
    for row in _items(session, info.session_id):
        item = AgendaItem.model_validate_json(row.item)
        entries.append(
            MinutesEntry(
                registration_number=row.registration_number,
                district=row.district,
                subject=item.subject,
                outcome=ItemOutcome(row.outcome),
                decision_text=row.decision_text,
                decided_by=row.decided_by,
                responsible_officer_id=row.responsible_officer_id,
                new_deadline=ist(row.new_deadline),
                citizen_informed=row.citizen_informed,
                decided_at=ist(row.decided_at),
            )
        )
    return Minutes(session=info, final=info.phase is SessionPhase.CLOSED, entries=entries)


CSV_COLUMNS = (
    "session_id",
    "registration_number",
    "district",
    "subject",
    "outcome",
    "decision_text",
    "decided_by",
    "responsible_officer_id",
    "new_deadline",
    "citizen_informed",
    "decided_at",
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
) -> Any:
    """The decisions taken (and the cases rolled over), as JSON or as CSV for circulation to
    the districts. `final` is true once the session is closed."""
    minutes = _minutes(session, app, kind, day)
    if format == "json":
        return minutes
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in minutes.entries:
        writer.writerow(
            [
                minutes.session.session_id,
                e.registration_number,
                e.district,
                e.subject,
                e.outcome.value,
                e.decision_text or "",
                e.decided_by or "",
                e.responsible_officer_id or "",
                e.new_deadline.isoformat() if e.new_deadline else "",
                "yes" if e.citizen_informed else "no",
                e.decided_at.isoformat() if e.decided_at else "",
            ]
        )
    filename = f"minutes-{minutes.session.session_id}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
