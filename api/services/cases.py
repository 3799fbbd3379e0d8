"""Cases: registering one, reading and listing them (scoped), and the actions on a case.

The application service of `/v1/complaints` and of the staff pages on cases: both call these
functions; the routes add only HTTP (parameters, status codes, the OpenAPI descriptions).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi import Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.sql.elements import UnaryExpression
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.actions import CaseAction, CaseActors
from api.closure import interim_reason_listed, rate_on_call
from api.deps import AppState
from api.errors import ApiError, refusal, require_future, workflow_error
from api.ratelimit import LimitOverride, PhoneLimitReached
from api.repeats import case_to_link, link_contact, linking_action, possible_duplicates
from api.services.intake import IdempotencyConflict, register_complaint
from api.services.lists import (
    CaseFilters,
    CaseOrder,
    caller_cases,
    order_by,
    page_of,
)
from api.services.scope import (
    case_filter,
    current_officer_filter,
    find_case,
    get_case,
    scope_parts,
)
from api.services.views import public, summary
from api.updates import execute_within, scoped_key
from core import attachments, audit, whatsapp
from core.db import read_session
from core.models import Complaint, Officer, utcnow
from core.permissions import (
    CALLERS,
    CASE_READERS,
    DECIDERS,
    LIMIT_OVERRIDERS,
    LIVE_READERS,
    REPORTERS,
    REVIEW_REQUESTERS,
)
from core.readmodel import agenda_cases
from core.search import parse
from schemas.actions import (
    CallbackBody,
    DecisionBody,
    ReopeningBody,
    ReportBody,
    ReviewRequestBody,
    WithdrawalBody,
)
from schemas.auth import Principal
from schemas.closure import InterimReplyBody, RatingBody
from schemas.complaint import (
    ComplaintCreate,
    ComplaintList,
    ComplaintPublic,
    ComplaintSubmission,
    Registration,
)
from schemas.enums import ComplaintKind, ComplaintStatus, EscalationLevel, on_agenda
from schemas.review import DecisionRecord, DecisionRequest, SessionSummary
from schemas.workflow import ActionResult, ComplaintState, ReportOutcome
from workflows.complaint import ComplaintWorkflow
from workflows.review import ReviewSessionWorkflow, session_workflow_id
from workflows.start import start_complaint_workflow

RegistrationT = TypeVar("RegistrationT", bound=ComplaintPublic)

# The case actions' dependencies: authenticated with these roles, scoped by them.
REPORTING = CaseActors(*REPORTERS)
CALLING = CaseActors(*CALLERS)
REQUESTING_REVIEW = CaseActors(*REVIEW_REQUESTERS)
DECIDING = CaseActors(*DECIDERS)


def get_row(session: Session, year: int, sequence: int) -> Complaint:
    """A case by number, unscoped: only for the case the caller has just registered."""
    return find_case(session, year, sequence, where=sa.true())


async def register(
    body: ComplaintSubmission,
    app: AppState,
    response: Response,
    principal: Principal,
    idempotency_key: str | None = None,
) -> Registration:
    """Register `body` for `principal` (a registrar): the new case (201), a replay's answer
    under the caller's Idempotency-Key (`Idempotent-Replayed`), or the earlier case a repeat
    call is linked to (200, `link_to`); 202 when Temporal is unreachable (the worker starts its
    workflow later). 403 for a limit override by a caller who may not override, 409 for a key
    reused with another body, 429 for a phone over its daily limit (api.ratelimit)."""
    if body.link_to is not None:
        return await _link(body, app, response, principal, idempotency_key)
    override = None
    if body.limit_override_reason is not None:
        if not principal.has(*LIMIT_OVERRIDERS):
            message = "only a telecaller may override the daily limit of a phone number"
            raise ApiError(
                403,
                f"limit_override_reason: {message}",
                errors=[{"field": "limit_override_reason", "message": message}],
            )
        override = LimitOverride(by=principal.subject, reason=body.limit_override_reason)
    try:
        row, created = await run_in_threadpool(
            register_complaint,
            app.engine,
            body.complaint(),
            # Keys are the caller's own: another client's key never finds this complaint.
            idempotency_key=scoped_key(principal, idempotency_key),
            now=utcnow(),
            workflow_id_prefix=app.settings.workflow_id_prefix,
            phone_daily_limit=app.settings.complaints_per_phone_per_day,
            limit_override=override,
            registered_by=principal.subject,
        )
    except IdempotencyConflict:
        raise ApiError(
            409,
            "Idempotency-Key was already used for a different complaint; "
            "use a new key for a new complaint",
        ) from None
    except PhoneLimitReached as limited:
        raise limited.as_rate_limited(app.settings.helpline_number) from None
    audit.describe(
        "register",
        complaint=(row.year, row.sequence),
        kind=row.kind,
        channel=row.channel,
        district=row.district,
        limit_overridden=override is not None,
    )
    if body.channel_preference is not None:
        await run_in_threadpool(
            whatsapp.set_preference,
            app.engine,
            row.citizen_phone,
            body.channel_preference,
            by=whatsapp.BY_REGISTRATION,
            at=row.created_at,
        )
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
    answer = await run_in_threadpool(
        _registration, app, row.year, row.sequence, body.complaint(), created=row.created_at
    )
    if not created and not principal.roles & set(CASE_READERS):
        # A replay answers what the first answer said, not what the case has become since:
        # a caller who may only register (an integration) never reads a case through it.
        return as_registered(answer)
    return answer


async def _link(
    body: ComplaintSubmission,
    app: AppState,
    response: Response,
    principal: Principal,
    idempotency_key: str | None,
) -> Registration:
    """A repeat call recorded on the earlier case `body.link_to` (of the same phone)."""
    complaint = body.complaint()
    assert body.link_to is not None
    row = await run_in_threadpool(case_to_link, app.engine, complaint, body.link_to)
    with read_session(app.engine) as session:
        act = linking_action(
            row, principal=principal, session=session, app=app, idempotency_key=idempotency_key
        )
        await link_contact(act, row, complaint, via=body.channel.value)
    audit.describe("link_repeat_contact", complaint=(row.year, row.sequence), channel=body.channel)
    response.status_code = status.HTTP_200_OK
    answer = await run_in_threadpool(
        _registration, app, row.year, row.sequence, complaint, created=None
    )
    answer.linked = True
    answer.possible_duplicates = []
    if not principal.roles & set(CASE_READERS):
        # A client that may only register learns the case's number and where it stands,
        # not what its officers and the citizen wrote since.
        return answer.model_copy(
            update={
                "assigned_officer": None,
                "last_reply": None,
                "citizen_remark": None,
                "timeline": [],
                "messages": [],
            }
        )
    return answer


def _registration(
    app: AppState,
    year: int,
    sequence: int,
    complaint: ComplaintCreate,
    *,
    created: datetime | None,
) -> Registration:
    """The registration's answer: the case, the phone's other cases, and (for a new case
    registered at `created`) its possible duplicates."""
    with read_session(app.engine) as session:
        row = get_row(session, year, sequence)
        others = caller_cases(session, sa.true(), row.citizen_phone, besides=(year, sequence))
        duplicates = (
            possible_duplicates(
                session,
                complaint,
                now=created,
                window=app.policy.repeat_contact_window,
                besides=row.id,
            )
            if created is not None
            else []
        )
        now = utcnow()
        return Registration(
            **public(session, row).model_dump(),
            earlier_cases=others.data,
            earlier_cases_count=others.count,
            possible_duplicates=[summary(d, now) for d in duplicates],
        )


def as_registered(case: RegistrationT) -> RegistrationT:
    """`case` as it stood when it was registered: what a registration answers."""
    return case.model_copy(
        update={
            "status": ComplaintStatus.REGISTERED,
            "escalation_level": EscalationLevel.NODAL_OFFICER,
            "next_deadline": None,
            "overdue": False,
            "undecided_times": 0,
            "assigned_officer": None,
            "review_date": None,
            "closure_reason": None,
            "closed_at": None,
            "last_reply": None,
            "citizen_remark": None,
            "updated_at": case.created_at,
            "timeline": [],
            "messages": [],
        }
    )


def list_cases(
    session: Session,
    principal: Principal,
    filters: CaseFilters,
    *,
    escalation_level: int | None = None,
    kind: ComplaintKind | None = None,
    undecided_min: int | None = None,
    sort: CaseOrder | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ComplaintList:
    """The page `offset`..`offset + limit` of the cases `principal` reads (scoped) that match
    `filters`, sorted in the database (`GET /v1/complaints` gives the orders); `count` is every
    case that matched."""
    q, overdue = filters.q, filters.overdue
    now = utcnow()
    query = filters.apply(select(Complaint), now=now, session=session)
    if escalation_level is not None:
        query = query.where(Complaint.escalation_level == int(escalation_level))
    if kind is not None:
        query = query.where(Complaint.kind == kind)
    if undecided_min is not None:
        # Cases the reviews keep leaving undecided (on an agenda now): the bound's watch list.
        query = query.where(
            col(Complaint.undecided_times) >= undecided_min,
            agenda_cases(),
        )
    order: tuple[UnaryExpression[Any], ...]
    if sort is None and overdue is True:
        # The longest overdue first: what a review works through, and the open-deadline
        # index's own order (a page without sorting every overdue case).
        order = (
            col(Complaint.next_deadline).asc(),
            col(Complaint.year).asc(),
            col(Complaint.sequence).asc(),
        )
    else:
        # A search's default is the work order (urgent, then the nearest deadline): its few
        # matches are sorted after they are found, never found by walking the whole list.
        order = order_by(sort or (CaseOrder.DEADLINE if q else CaseOrder.NEWEST))
    # A search's few matches are found from its own index, then scoped (split, the search
    # would run once for each part), and counted as they are sorted.
    searching = not parse(q or "").empty
    rows, count = page_of(
        session,
        query,
        order,
        limit=limit,
        offset=offset,
        parts=[case_filter(principal, CASE_READERS)]
        if searching
        else scope_parts(principal, CASE_READERS),
        matches_first=searching,
    )
    return ComplaintList(
        data=[summary(r, now) for r in rows], count=count, limit=limit, offset=offset
    )


def read_case(session: Session, principal: Principal, year: int, sequence: int) -> ComplaintPublic:
    """The case `sequence/year` as `principal` reads it (404 outside their scope)."""
    return public(session, get_case(session, year, sequence, principal, CASE_READERS))


def require_proof(act: CaseAction) -> None:
    """422 naming `attachments` when the policy wants an action-taken report for a resolved
    case of this category and none was attached since the last report."""
    case = act.case(also=current_officer_filter(act.principal))
    if not act.app.policy.proof_required(case.category) or case.id is None:
        return
    if attachments.proof_count(act.session, case.id) == 0:
        message = (
            "a resolved report needs at least one action-taken report (a photo or document of "
            "the work done): attach it first (POST .../attachments, kind action_taken_report)"
        )
        raise ApiError(
            422, f"attachments: {message}", errors=[{"field": "attachments", "message": message}]
        )


async def submit_report(report: ReportBody, act: CaseAction) -> ActionResult:
    """The officer's report on the case `act` names (the officer it is with now); a resolved one
    needs an action-taken report file first where the policy asks (422 naming `attachments`)."""
    if report.outcome is ReportOutcome.RESOLVED:
        require_proof(act)
    return await act.execute(
        ComplaintWorkflow.submit_report,
        report.as_update(act.actor),
        also=current_officer_filter(act.principal),
    )


async def send_interim_reply(reply: InterimReplyBody, act: CaseAction) -> ActionResult:
    """The officer's interim reply (a listed reason, a text, an expected date) to the citizen;
    the case's deadline does not move."""
    interim_reason_listed(reply.reason, act.app.policy.interim_reasons)
    return await act.execute(
        ComplaintWorkflow.send_interim_reply,
        reply.as_update(act.actor),
        also=current_officer_filter(act.principal),
    )


async def record_callback(result: CallbackBody, act: CaseAction) -> ActionResult:
    """The verification call's outcome, and the rating the citizen gave on a call that closed
    the case."""
    answer = await act.execute(ComplaintWorkflow.record_callback, result.as_update(act.actor))
    return await rate_on_call(act, answer, result.rating)


async def rate_closure(rating: RatingBody, act: CaseAction) -> ActionResult:
    """The citizen's rating (1-5) of the closure, within the appeal window (409 after it)."""
    return await act.execute(ComplaintWorkflow.rate_closure, rating.as_update(act.actor))


async def request_review(request: ReviewRequestBody, act: CaseAction) -> ActionResult:
    """The citizen's request for a review, made through the caller."""
    return await act.execute(ComplaintWorkflow.request_review, request.as_update(act.actor))


async def withdraw(withdrawal: WithdrawalBody, act: CaseAction) -> ActionResult:
    """The citizen's withdrawal of the case, recorded by the caller."""
    return await act.execute(ComplaintWorkflow.withdraw, withdrawal.as_update(act.actor))


async def reopen(reopening: ReopeningBody, act: CaseAction) -> ActionResult:
    """A closed case reopened within its reopen window, at the citizen's request."""
    return await act.execute(ComplaintWorkflow.reopen, reopening.as_update(act.actor))


async def _open_session(
    app: AppState, row: Complaint
) -> WorkflowHandle[ReviewSessionWorkflow, SessionSummary] | None:
    """The session workflow whose agenda holds the case, if that session has been opened."""
    if not on_agenda(row.status) or not row.review_session_id:
        return None
    handle = app.client.get_workflow_handle_for(
        ReviewSessionWorkflow.run,
        session_workflow_id(app.settings.workflow_id_prefix, row.review_session_id),
    )
    try:
        await handle.describe(
            rpc_timeout=timedelta(seconds=app.settings.temporal_rpc_timeout_seconds)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None  # never opened (its schedule was not running): the case decides
        raise workflow_error(err) from err
    return handle


async def record_decision(body: DecisionBody, act: CaseAction) -> ActionResult:
    """A review's decision on the case: through its session when an opened session holds it
    (recorded in the minutes), by the case alone otherwise."""
    if (
        body.responsible_officer_id
        and act.session.get(Officer, body.responsible_officer_id) is None
    ):
        raise ApiError(
            422, f"responsible_officer_id: unknown officer {body.responsible_officer_id!r}"
        )
    require_future("new_deadline", body.new_deadline)
    decision = body.as_update(act.actor)
    row = act.case()
    meeting = await _open_session(act.app, row)
    if meeting is None:
        # No session holds the case (its session was never opened): the case records it.
        return await act.execute(ComplaintWorkflow.record_decision, decision, row=row)
    # One path for a review decision: a case on a session's agenda is decided in that
    # session, so its minutes are the truth (the session refuses before its cutoff).
    if decision.session_id and decision.session_id != row.review_session_id:
        raise refusal("other_session", current=row.review_session_id, requested=decision.session_id)
    audit.describe("record_decision", facts=audit.summarize(decision))
    act.session.close()
    record: DecisionRecord = await execute_within(
        meeting,
        ReviewSessionWorkflow.record_decision,
        DecisionRequest(
            registration_number=row.registration_number,
            **decision.model_dump(exclude={"session_id", "officer_told_by_session"}),
        ),
        budget=act.app.settings.action_timeout_seconds,
        update_id=act.update_id("record_decision"),
    )
    return ActionResult(
        registration_number=record.registration_number,
        status=record.case_status,
        escalation_level=row.escalation_level,
        next_deadline=record.case_next_deadline,
        message=f"{record.decision.value} recorded in the minutes of {row.review_session_id}",
    )


async def live_state(
    session: Session, client: Client, app: AppState, principal: Principal, year: int, sequence: int
) -> ComplaintState:
    """The case's workflow's own live state (its `get_state` query) for `principal` (a live
    reader); 404 outside their scope, 503 when Temporal does not answer in time."""
    row = get_case(session, year, sequence, principal, LIVE_READERS)
    session.close()  # not held through the wait (api.actions)
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
    try:
        return await handle.query(
            ComplaintWorkflow.get_state,
            rpc_timeout=timedelta(seconds=app.settings.temporal_rpc_timeout_seconds),
        )
    except RPCError as err:
        raise workflow_error(err) from err
