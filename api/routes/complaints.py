"""`/v1/complaints`: intake, reads from the read model, and the actions on a case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from api.actions import CaseAction
from api.auth import require
from api.deps import AppStateDep, SessionDep, TemporalDep
from api.errors import ApiError
from api.services import cases
from api.services.cases import CALLING, DECIDING, REPORTING, REQUESTING_REVIEW
from api.services.lists import (
    CaseFilters,
    CaseOrder,
    Limit,
    Offset,
    RegisteredFrom,
    RegisteredTo,
    SearchText,
)
from api.updates import ActionKey
from core.permissions import (
    CASE_READERS,
    LIVE_READERS,
    REGISTRARS,
)
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
    ComplaintList,
    ComplaintPublic,
    ComplaintSubmission,
    Registration,
)
from schemas.enums import ComplaintKind
from schemas.escalation import all_statuses
from schemas.reference import CategoryName, DepartmentName, DistrictName
from schemas.workflow import ActionResult, ComplaintState

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Registration,
    responses={
        200: {"description": "A repeat call linked (`link_to`) to the case answered."},
        202: {"description": "Registered; the workflow starts as soon as Temporal is back."},
        403: {"description": "limit_override_reason sent by a caller who is not a telecaller."},
        409: {
            "description": "Idempotency-Key reused by this caller with a different body; or "
            "the case named by `link_to` is no longer open."
        },
        422: {"description": "Invalid field (named in the answer)."},
        429: {"description": "The citizen's phone has filed its complaints for today (IST)."},
    },
)
async def create_complaint(
    body: ComplaintSubmission,
    app: AppStateDep,
    response: Response,
    principal: Annotated[Principal, Depends(require(*REGISTRARS))],
    idempotency_key: ActionKey = None,
) -> Registration:
    """Register a complaint or suggestion; the citizen gets an SMS with its number. A phone
    number may file COMPLAINTS_PER_PHONE_PER_DAY complaints per IST day; a telecaller may
    register one more with `limit_override_reason` (recorded on the case).

    The answer carries the phone's other cases (`earlier_cases`) and its open cases that
    look like this one (`possible_duplicates`: same subject and district, or very similar
    words, within the policy's window). A repeat call is sent with `link_to` (one of them):
    it is recorded on that case, which answers (200), and nothing new is registered."""
    return await cases.register(body, app, response, principal, idempotency_key)


@router.get("", response_model=ComplaintList)
def list_complaints(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*CASE_READERS))],
    district: DistrictName | None = None,
    department: DepartmentName | None = None,
    category: CategoryName | None = None,
    status_: Annotated[str | None, Query(alias="status", max_length=40)] = None,
    escalation_level: Annotated[int | None, Query(ge=0, le=99)] = None,
    kind: ComplaintKind | None = None,
    urgent: bool | None = None,
    overdue: bool | None = None,
    undecided_min: Annotated[int | None, Query(ge=1, le=1000)] = None,
    open_only: bool = False,
    registered_from: RegisteredFrom = None,
    registered_to: RegisteredTo = None,
    q: SearchText = None,
    sort: CaseOrder | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ComplaintList:
    """Cases with filters, search (`q`) and pagination; `count` is every case that matched.

    Order (`sort`): `newest` (the default without `q`: urgent first, then newest),
    `deadline` (the default with `q`: urgent first, then the nearest deadline, the longest
    overdue first; without one last) or `oldest`; with `overdue=true` and no `sort`, the
    longest overdue first. Ties go by registration year and sequence as numbers.
    `undecided_min`: on an agenda, left undecided by at least that many sessions in a row. A
    nodal or department officer lists only the cases of their scope (search included).
    `status`: the lifecycle's or a forum's of the configured ladder (422 naming it if not)."""
    if status_ is not None and status_ not in all_statuses():
        known = ", ".join(str(s) for s in all_statuses())
        raise ApiError(422, f"status: {status_!r} is no status of a case ({known})")
    filters = CaseFilters(
        status=status_,
        district=district,
        department=department,
        category=category,
        urgent=urgent,
        overdue=overdue,
        open_only=open_only,
        registered_from=registered_from,
        registered_to=registered_to,
        q=q,
    )
    return cases.list_cases(
        session,
        principal,
        filters,
        escalation_level=escalation_level,
        kind=kind,
        undecided_min=undecided_min,
        sort=sort,
        limit=limit,
        offset=offset,
    )


@router.get("/{year}/{sequence}", response_model=ComplaintPublic)
def get_complaint(
    year: int,
    sequence: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*CASE_READERS))],
) -> ComplaintPublic:
    """The case: fields, status, timeline and every SMS with its delivery status."""
    return cases.read_case(session, principal, year, sequence)


@router.get("/{year}/{sequence}/live", response_model=ComplaintState)
async def get_live_state(
    year: int,
    sequence: int,
    session: SessionDep,
    client: TemporalDep,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*LIVE_READERS))],
) -> ComplaintState:
    """The workflow's own live state (a query), for engineers; reads use the read model."""
    return await cases.live_state(session, client, app, principal, year, sequence)


_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such complaint."},
    409: {"description": "The case is not in a state that accepts this action."},
    422: {"description": "Invalid field or Idempotency-Key (named in the answer)."},
    503: {
        "description": "Temporal unreachable or too slow (Retry-After): the body says whether "
        "the action may have been applied; retry with the same Idempotency-Key."
    },
}


@router.post("/{year}/{sequence}/report", responses=_ACTION_RESPONSES)
async def submit_report(
    report: ReportBody, act: Annotated[CaseAction, Depends(REPORTING.dependency)]
) -> ActionResult:
    """The nodal officer's report: resolved, partially resolved, not actionable, transferred
    (suggestions: accepted, under consideration, not accepted), recorded as the caller's.
    Only the officer the case is with now reports on it. Where the policy asks for proof
    (`proof_required_for_resolved`), a `resolved` report needs an action-taken report file
    attached first (`POST .../attachments`, kind `action_taken_report`)."""
    return await cases.submit_report(report, act)


@router.post("/{year}/{sequence}/interim-reply", responses=_ACTION_RESPONSES)
async def send_interim_reply(
    reply: InterimReplyBody, act: Annotated[CaseAction, Depends(REPORTING.dependency)]
) -> ActionResult:
    """The officer the case is with, running late: a reason from the state's list, a text and
    an expected date, sent to the citizen by SMS. The case's deadline does not move; a date
    past it is an extension request for the next review (`extension_requested_until`)."""
    return await cases.send_interim_reply(reply, act)


@router.post("/{year}/{sequence}/callback", responses=_ACTION_RESPONSES)
async def record_callback(
    result: CallbackBody, act: Annotated[CaseAction, Depends(CALLING.dependency)]
) -> ActionResult:
    """The telecaller's verification call outcome, recorded as the caller's; a `rating` the
    citizen gave on a call that closed the case is recorded on the closure too."""
    return await cases.record_callback(result, act)


@router.post("/{year}/{sequence}/rating", responses=_ACTION_RESPONSES)
async def rate_closure(
    rating: RatingBody, act: Annotated[CaseAction, Depends(CALLING.dependency)]
) -> ActionResult:
    """The citizen's rating (1-5) of the closure, taken by the caller: within the appeal
    window, changeable; 1 or 2, or `appeal`, takes the case one rung up its ladder (once per
    closure). After the window: 409 saying how to file anew."""
    return await cases.rate_closure(rating, act)


@router.post("/{year}/{sequence}/review-request", responses=_ACTION_RESPONSES)
async def request_review(
    request: ReviewRequestBody, act: Annotated[CaseAction, Depends(REQUESTING_REVIEW.dependency)]
) -> ActionResult:
    """The citizen asks for a review (granted when overdue or after dissatisfaction); the
    caller is recorded as acting for the citizen."""
    return await cases.request_review(request, act)


@router.post("/{year}/{sequence}/withdraw", responses=_ACTION_RESPONSES)
async def withdraw(
    withdrawal: WithdrawalBody, act: Annotated[CaseAction, Depends(CALLING.dependency)]
) -> ActionResult:
    """The citizen withdraws the case, recorded by the caller for the citizen."""
    return await cases.withdraw(withdrawal, act)


@router.post("/{year}/{sequence}/reopen", responses=_ACTION_RESPONSES)
async def reopen(
    reopening: ReopeningBody, act: Annotated[CaseAction, Depends(CALLING.dependency)]
) -> ActionResult:
    """Reopen a closed case within the reopen window, at the citizen's request (recorded by
    the caller for the citizen)."""
    return await cases.reopen(reopening, act)


@router.post("/{year}/{sequence}/decision", responses=_ACTION_RESPONSES)
async def record_decision(
    body: DecisionBody, act: Annotated[CaseAction, Depends(DECIDING.dependency)]
) -> ActionResult:
    """A review's directive (text, responsible officer, new deadline) or closure, recorded
    as the caller's. A case on the agenda of an opened session is decided through that
    session (recorded in its minutes; refused before its agenda cutoff, as on the session's
    own route); only a case whose session was never opened is decided by the case alone."""
    return await cases.record_decision(body, act)
