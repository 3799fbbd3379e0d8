"""`/v1/complaints`: intake, reads from the read model, and the actions on a case."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, func, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.deps import AppStateDep, SessionDep, TemporalDep
from api.errors import ApiError, workflow_error
from api.intake import IdempotencyConflict, register_complaint
from api.views import OPEN_STATUSES, public, summary
from core.models import Complaint, Officer, utcnow
from core.temporal import start_complaint_workflow
from schemas.complaint import ComplaintCreate, ComplaintList, ComplaintPublic
from schemas.enums import ComplaintKind, ComplaintStatus, EscalationLevel
from schemas.reference import canonical_district
from schemas.workflow import (
    ActionResult,
    CallbackResult,
    ComplaintState,
    DepartmentReport,
    Reopening,
    ReviewDecision,
    ReviewRequest,
    Withdrawal,
)
from workflows.complaint import ComplaintWorkflow

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Makes a retried POST safe: same key and body, same complaint.",
    ),
]


def get_row(session: Session, year: int, sequence: int) -> Complaint:
    # Numbers beyond a database integer name no case; binding them would fail in the driver.
    if not (0 <= year < 2**31 and 0 <= sequence < 2**31):
        raise ApiError(404, f"no complaint {sequence}/{year}")
    row = session.exec(
        select(Complaint).where(Complaint.year == year, Complaint.sequence == sequence)
    ).first()
    if row is None:
        raise ApiError(404, f"no complaint {sequence}/{year}")
    return row


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ComplaintPublic,
    responses={
        202: {"description": "Registered; the workflow starts as soon as Temporal is back."},
        409: {"description": "Idempotency-Key reused with a different body."},
        422: {"description": "Invalid field (named in the answer)."},
    },
)
async def create_complaint(
    body: ComplaintCreate,
    app: AppStateDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintPublic:
    """Register a complaint or suggestion; the citizen gets an SMS with its number."""
    try:
        row, created = await run_in_threadpool(
            register_complaint,
            app.engine,
            body,
            idempotency_key=idempotency_key,
            now=utcnow(),
            workflow_id_prefix=app.settings.workflow_id_prefix,
        )
    except IdempotencyConflict:
        raise ApiError(
            409,
            "Idempotency-Key was already used for a different complaint; "
            "use a new key for a new complaint",
        ) from None
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    if row.workflow_started_at is None:
        try:
            await start_complaint_workflow(
                app.client, app.engine, row, policy=app.policy, settings=app.settings
            )
        except (RPCError, RuntimeError):
            # Recorded and numbered; the worker's reconciliation starts the workflow later.
            response.status_code = status.HTTP_202_ACCEPTED
    with Session(app.engine) as session:
        return public(session, get_row(session, row.year, row.sequence))


@router.get("", response_model=ComplaintList)
def list_complaints(
    session: SessionDep,
    district: str | None = None,
    department: str | None = None,
    status_: Annotated[ComplaintStatus | None, Query(alias="status")] = None,
    escalation_level: EscalationLevel | None = None,
    kind: ComplaintKind | None = None,
    urgent: bool | None = None,
    overdue: bool | None = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ComplaintList:
    """Cases, urgent first then newest, with filters and pagination."""
    query = select(Complaint)
    if district is not None:
        canonical = canonical_district(district)
        if canonical is None:
            message = f"unknown district {district!r}"
            # The same shape as a validation error: `errors[{field, message}]` beside `detail`.
            raise ApiError(
                422, f"district: {message}", errors=[{"field": "district", "message": message}]
            )
        query = query.where(Complaint.district == canonical)
    if department is not None:
        query = query.where(Complaint.department == department)
    if status_ is not None:
        query = query.where(Complaint.status == status_)
    if escalation_level is not None:
        query = query.where(Complaint.escalation_level == int(escalation_level))
    if kind is not None:
        query = query.where(Complaint.kind == kind)
    if urgent is not None:
        query = query.where(Complaint.urgent == urgent)
    if open_only or overdue:
        query = query.where(col(Complaint.status).in_(OPEN_STATUSES))
    now = utcnow()
    if overdue is True:
        query = query.where(col(Complaint.next_deadline) < now)
    elif overdue is False:
        query = query.where(
            (col(Complaint.next_deadline).is_(None)) | (col(Complaint.next_deadline) >= now)
        )
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Complaint.urgent).desc(), col(Complaint.created_at).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return ComplaintList(data=[summary(r, now) for r in rows], count=count)


@router.get("/{year}/{sequence}", response_model=ComplaintPublic)
def get_complaint(year: int, sequence: int, session: SessionDep) -> ComplaintPublic:
    """The case: fields, status, timeline and every SMS with its delivery status."""
    return public(session, get_row(session, year, sequence))


@router.get("/{year}/{sequence}/live", response_model=ComplaintState)
async def get_live_state(
    year: int, sequence: int, session: SessionDep, client: TemporalDep, app: AppStateDep
) -> ComplaintState:
    """The workflow's own live state (a query), for engineers; reads use the read model."""
    row = get_row(session, year, sequence)
    session.close()  # see _act
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
    try:
        return await handle.query(
            ComplaintWorkflow.get_state,
            rpc_timeout=timedelta(seconds=app.settings.temporal_rpc_timeout_seconds),
        )
    except RPCError as err:
        raise workflow_error(err) from err


async def _act(
    session: Session, app: AppStateDep, year: int, sequence: int, update: Any, arg: Any
) -> ActionResult:
    row = get_row(session, year, sequence)
    # End the read transaction before waiting on the workflow: on SQLite it holds the write
    # lock, which the workflow's own projection activity needs to answer us.
    session.close()
    if row.workflow_started_at is None:
        raise ApiError(409, "the case's workflow has not started yet; try again shortly")
    handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
    try:
        result: ActionResult = await handle.execute_update(
            update, arg, rpc_timeout=timedelta(seconds=30)
        )
    except (WorkflowUpdateFailedError, RPCError) as err:
        raise workflow_error(err) from err
    return result


_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such complaint."},
    409: {"description": "The case is not in a state that accepts this action."},
}


@router.post("/{year}/{sequence}/report", responses=_ACTION_RESPONSES)
async def submit_report(
    year: int, sequence: int, report: DepartmentReport, session: SessionDep, app: AppStateDep
) -> ActionResult:
    """The nodal officer's report: resolved, partially resolved, not actionable, transferred
    (suggestions: accepted, under consideration, not accepted)."""
    return await _act(session, app, year, sequence, ComplaintWorkflow.submit_report, report)


@router.post("/{year}/{sequence}/callback", responses=_ACTION_RESPONSES)
async def record_callback(
    year: int, sequence: int, result: CallbackResult, session: SessionDep, app: AppStateDep
) -> ActionResult:
    """The telecaller's verification call outcome."""
    return await _act(session, app, year, sequence, ComplaintWorkflow.record_callback, result)


@router.post("/{year}/{sequence}/review-request", responses=_ACTION_RESPONSES)
async def request_review(
    year: int, sequence: int, request: ReviewRequest, session: SessionDep, app: AppStateDep
) -> ActionResult:
    """The citizen asks for a review (granted when overdue or after dissatisfaction)."""
    return await _act(session, app, year, sequence, ComplaintWorkflow.request_review, request)


@router.post("/{year}/{sequence}/withdraw", responses=_ACTION_RESPONSES)
async def withdraw(
    year: int, sequence: int, withdrawal: Withdrawal, session: SessionDep, app: AppStateDep
) -> ActionResult:
    """The citizen withdraws the case."""
    return await _act(session, app, year, sequence, ComplaintWorkflow.withdraw, withdrawal)


@router.post("/{year}/{sequence}/reopen", responses=_ACTION_RESPONSES)
async def reopen(
    year: int, sequence: int, reopening: Reopening, session: SessionDep, app: AppStateDep
) -> ActionResult:
    """Reopen a closed case within the reopen window."""
    return await _act(session, app, year, sequence, ComplaintWorkflow.reopen, reopening)


@router.post("/{year}/{sequence}/decision", responses=_ACTION_RESPONSES)
async def record_decision(
    year: int, sequence: int, decision: ReviewDecision, session: SessionDep, app: AppStateDep
) -> ActionResult:
    """A review's directive (text, responsible officer, new deadline) or closure."""
    if (
        decision.responsible_officer_id
        and session.get(Officer, decision.responsible_officer_id) is None
    ):
        raise ApiError(
            422, f"responsible_officer_id: unknown officer {decision.responsible_officer_id!r}"
        )
    return await _act(session, app, year, sequence, ComplaintWorkflow.record_decision, decision)
