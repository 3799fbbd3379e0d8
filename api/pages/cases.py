"""The telecaller desk, the officer inbox and a case's page, over the services the API
calls (`api.services.cases`, `api.services.worklists`): the same roles, scope, validation,
idempotency and audit trail as `POST /v1/complaints`, `GET /v1/callbacks`,
`GET /v1/complaints/...`, `POST .../callback` and `POST .../report`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import select
from starlette.datastructures import FormData, UploadFile

from api.actions import CaseAction, CaseActors
from api.auth import signed_in
from api.deps import AppState
from api.errors import ApiError
from api.pages import files
from api.pages.confirm import carried, confirmation, confirmed
from api.pages.reference import (
    category_label,
    department_label,
    district_from_input,
    district_label,
)
from api.pages.web import (
    CheckedForm,
    PageError,
    field,
    gettext_for,
    language,
    problem,
    redirect,
    render,
    safe_next,
)
from api.pages.words import (
    Gettext,
    actor_label,
    call_result_label,
    field_refusal,
    note_text,
    staff_status,
    verification_channel_label,
)
from api.ratelimit import RateLimited
from api.repeats import possible_duplicates
from api.services import cases as case_service
from api.services import files as file_service
from api.services import worklists
from api.services.lists import PAGE_SIZE, CaseFilters, caller_cases, pager
from api.services.scope import case_filter
from api.services.views import summary
from api.updates import scoped_key
from core.db import read_session
from core.ivr_calls import ivr_summaries
from core.models import Complaint, utcnow
from core.permissions import (
    CALLERS,
    CASE_READERS,
    DESK,
    OFFICERS,
    PAGE_UPLOADERS,
    PUBLISHERS,
    REGISTRARS,
    REPORTERS,
    REVIEW_REQUESTERS,
)
from schemas.actions import (
    CallbackBody,
    ReopeningBody,
    ReportBody,
    ReviewRequestBody,
    WithdrawalBody,
)
from schemas.attachments import AttachmentKind, AttachmentSource
from schemas.auth import Principal
from schemas.closure import InterimReplyBody
from schemas.complaint import (
    ComplaintList,
    ComplaintPublic,
    ComplaintSubmission,
    ComplaintSummary,
    normalise_phone,
)
from schemas.enums import Channel, ComplaintKind, ComplaintStatus, is_open
from schemas.escalation import forum_rung, level_rung
from schemas.i18n import all_names
from schemas.reasons import interim_label, not_actionable_label
from schemas.reference import CATEGORIES, DEPARTMENTS, DISTRICTS
from schemas.staff import CallbackWorklist, UnreachableList
from schemas.voice import IvrSummary
from schemas.workflow import (
    COMPLAINT_OUTCOMES,
    SUGGESTION_OUTCOMES,
    CallbackOutcome,
    ReportOutcome,
)

router = APIRouter(include_in_schema=False, tags=["pages"])

Telecaller = Annotated[Principal, Depends(signed_in(*CALLERS))]
Reader = Annotated[Principal, Depends(signed_in(*CASE_READERS))]
Officer = Annotated[Principal, Depends(signed_in(*REPORTERS))]
ReviewRequester = Annotated[Principal, Depends(signed_in(*REVIEW_REQUESTERS))]
Uploader = Annotated[Principal, Depends(signed_in(*PAGE_UPLOADERS))]


def _app(request: Request) -> AppState:
    state: AppState = request.app.state.jan_samvad
    return state


def new_key() -> str:
    """An Idempotency-Key for one rendering of a form: a double submit is applied once."""
    return uuid.uuid4().hex


# The models' own messages (schemas/complaint.py), said again in the reader's language.
_PHONE_MESSAGE = (
    "must be an Indian mobile number: 10 digits starting with 6, 7, 8 or 9, optionally "
    "prefixed by +91 or 0"
)
_KNOWN_MESSAGES: dict[str, Callable[[Callable[[str], str]], str]] = {
    _PHONE_MESSAGE: lambda _: _(
        "Write a 10-digit mobile number starting with 6, 7, 8 or 9 (+91 or 0 before it is fine)."
    ),
    "must not be blank": lambda _: _("Required."),
    "must be 6 digits": lambda _: _("A PIN code has 6 digits."),
    "is not a Jharkhand PIN code (they begin with 81, 82 or 83)": lambda _: _(
        "Not a Jharkhand PIN code: they begin with 81, 82 or 83."
    ),
}


def validation_errors(
    err: ValidationError, gettext: Callable[[str], str] | None = None
) -> dict[str, str]:
    """Pydantic's errors by dotted field name (`citizen.phone`), as the API names them, each
    said in the reader's language when `gettext` is given."""
    _ = gettext or (lambda text: text)
    found: dict[str, str] = {}
    for error in err.errors():
        name = ".".join(str(p) for p in error["loc"]) or "body"
        raw = str(error["msg"]).removeprefix("Value error, ")
        kind = error["type"]
        limit = (error.get("ctx") or {}).get("min_length") or 0
        if raw in _KNOWN_MESSAGES:
            message = _KNOWN_MESSAGES[raw](_)
        elif name.endswith("district") and raw.startswith("unknown district"):
            message = _("Not a district of Jharkhand: choose one from the list.")
        elif kind == "missing" or (kind == "string_too_short" and limit <= 1):
            message = _("Required.")
        elif kind == "string_too_short":
            message = _("Too short: at least %(n)d characters.") % {"n": limit}
        elif kind == "string_too_long":
            message = _("Too long: at most %(n)d characters.") % {
                "n": (error.get("ctx") or {}).get("max_length", 0)
            }
        elif kind in ("enum", "literal_error") or raw.startswith("unknown "):
            message = _("Choose one of the options.")
        elif kind.startswith(("datetime", "date")):
            message = _("Not a date and time.")
        else:
            message = raw
        found.setdefault(name, message)
    return found


def event_label(event: str, language: str, _: Gettext) -> str:
    """A timeline event in the reader's words: an escalation by its forum's name on the
    configured ladder (or a shipped one), any other event by its catalogue entry."""
    prefix = "escalated_to_"
    if event.startswith(prefix):
        try:
            forum = forum_rung(event.removeprefix(prefix)).label(language)
        except KeyError:
            return _(event)
        return _("Escalated to: %(forum)s") % {"forum": forum}
    return _(event)


def common(request: Request) -> dict[str, Any]:
    """What the forms and lists need to show names in the reader's language."""
    _ = gettext_for(request)
    code = language(request)
    return {
        # Staff read officers' words for a status (the citizen's are on /track).
        "status_label": lambda s: staff_status(s, code, _),
        "actor_label": lambda actor: actor_label(actor, _),
        "call_result_label": lambda value: call_result_label(str(value), _),
        "channel_label": lambda value: verification_channel_label(str(value), _),
        "category_label": lambda value: category_label(value, code),
        "department_label": lambda value: department_label(value, code),
        "district_label": lambda name: district_label(name, code),
        "level_label": lambda level: level_rung(int(level)).label(code),
        "forum_label": lambda kind: forum_rung(kind).label(code),
        "event_label": lambda event: event_label(event, code, _),
        "outcome_label": lambda value: _OUTCOMES.get(str(value), lambda _: str(value))(_),
        "note_text": lambda event, note: note_text(
            event,
            note,
            _,
            lambda value: _OUTCOMES.get(str(value), lambda _: str(value))(_),
            lambda kind: forum_rung(kind).label(code),
        ),
    }


_OUTCOMES: dict[str, Callable[[Callable[[str], str]], str]] = {
    "resolved": lambda _: _("Resolved"),
    "partially_resolved": lambda _: _("Partially resolved"),
    "not_actionable": lambda _: _("Not actionable"),
    "transferred": lambda _: _("Transferred"),
    "accepted": lambda _: _("Accepted"),
    "under_consideration": lambda _: _("Under consideration"),
    "not_accepted": lambda _: _("Not accepted"),
    "satisfied": lambda _: _("Satisfied"),
    "not_satisfied": lambda _: _("Not satisfied"),
    "unreachable": lambda _: _("Not reachable"),
    "directive": lambda _: _("Directive"),
    "close": lambda _: _("Close the case"),
    "pending": lambda _: _("Pending"),
    "closed": lambda _: _("Closed"),
    "decided": lambda _: _("Decided"),
    "rolled_over": lambda _: _("Rolled over"),
    "prepared": lambda _: _("Prepared"),
}


# ---- telecaller desk -------------------------------------------------------------------------


def _page_number(request: Request, name: str) -> int:
    try:
        return max(1, int(request.query_params.get(name, "1")))
    except ValueError:
        return 1


def _worklists(
    app: AppState, principal: Principal, calls_page: int, sms_page: int
) -> tuple[CallbackWorklist, UnreachableList]:
    """A page of the verification calls (urgent first, the oldest due first) and of the
    citizens the SMS did not reach (`GET /v1/callbacks`, `GET /v1/sms/unreachable`)."""
    with read_session(app.engine) as session:
        calls = worklists.callback_worklist(
            session,
            principal,
            CaseFilters(),
            due_only=False,
            limit=PAGE_SIZE,
            offset=(calls_page - 1) * PAGE_SIZE,
        )
        unreachable = worklists.citizens_unreachable_by_sms(
            session, principal, limit=PAGE_SIZE, offset=(sms_page - 1) * PAGE_SIZE
        )
        return calls, unreachable


def caller_history(
    app: AppState, principal: Principal, phone: str, *, besides: tuple[int, int] | None = None
) -> ComplaintList | None:
    """The cases of the caller's phone in the reader's scope (any form or script; None when it
    is no mobile number), newest first; `besides` (year, sequence) left out."""
    try:
        e164 = normalise_phone(phone)
    except ValueError:
        return None
    with read_session(app.engine) as session:
        return caller_cases(session, case_filter(principal, CASE_READERS), e164, besides=besides)


async def _desk(
    request: Request,
    principal: Principal,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
    history: ComplaintList | None = None,
    duplicates: list[ComplaintSummary] | None = None,
) -> Response:
    calls_page, sms_page = _page_number(request, "calls"), _page_number(request, "sms")
    worklist, unreachable = await run_in_threadpool(
        _worklists, _app(request), principal, calls_page, sms_page
    )
    return render(
        request,
        "desk.html",
        {
            **common(request),
            "values": values or {"channel": "call_centre", "citizen.language": "hi"},
            "errors": errors or {},
            "problem": problem,
            "worklist": worklist.data,
            "calls_pager": pager(
                "/desk", {"sms": str(sms_page)}, calls_page, worklist.count, param="calls"
            ),
            "unreachable": unreachable.data,
            "sms_pager": pager(
                "/desk", {"calls": str(calls_page)}, sms_page, unreachable.count, param="sms"
            ),
            "history": history,
            "duplicates": duplicates or [],
            "parse_time": datetime.fromisoformat,
            "now": utcnow(),
            "channels": list(Channel),
            "categories": CATEGORIES,
            "departments": DEPARTMENTS,
            "districts": DISTRICTS,
            # Every name of each district, in every language, for the picker to match.
            "district_names": {d: sorted(all_names("district", d) - {d}) for d in DISTRICTS},
            "idempotency_key": (values or {}).get("idempotency_key") or new_key(),
            "callback_key": new_key(),
        },
        principal=principal,
        status=status,
    )


@router.get("/desk")
async def desk(request: Request, principal: Telecaller) -> Response:
    """Register a complaint or suggestion; the callback work list (urgent first, oldest due
    first) with one-click outcomes."""
    return await _desk(request, principal)


_REGISTER_FIELDS = (
    "kind",
    "channel",
    "citizen.name",
    "citizen.phone",
    "citizen.address",
    "citizen.district",
    "citizen.pincode",
    "citizen.language",
    "category",
    "department",
    "description",
    "limit_override_reason",
    "idempotency_key",
)


def _submission(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's values as typed, and the API's request body built from them."""
    values: dict[str, Any] = {name: field(form, name) for name in _REGISTER_FIELDS}
    values["urgent"] = form.get("urgent") == "on"
    values["wishes_to_meet_cm"] = form.get("wishes_to_meet_cm") == "on"
    district = values["citizen.district"]
    body: dict[str, Any] = {
        "kind": values["kind"] or "complaint",
        "channel": values["channel"] or "call_centre",
        "citizen": {
            "name": values["citizen.name"],
            "phone": values["citizen.phone"],
            "address": values["citizen.address"],
            # The picker accepts Hindi names (राँची) as well as the API's spelling.
            "district": district_from_input(district) or district,
            "pincode": values["citizen.pincode"] or None,
            "language": values["citizen.language"] or "hi",
        },
        "category": values["category"] or None,
        "department": values["department"] or None,
        "description": values["description"],
        "urgent": values["urgent"],
        "wishes_to_meet_cm": values["wishes_to_meet_cm"],
        "limit_override_reason": values["limit_override_reason"] or None,
        "link_to": field(form, "link_to") or None,
    }
    return values, body


@router.post("/desk/register")
async def register(request: Request, principal: Telecaller, form: CheckedForm) -> Response:
    """`POST /v1/complaints` from the desk's form: validation messages beside the fields; the
    form's Idempotency-Key makes a double submit register once."""
    _ = gettext_for(request)
    values, body = _submission(form)
    key = values["idempotency_key"] or new_key()
    values["idempotency_key"] = key
    if not principal.has(*REGISTRARS):
        raise PageError(403, _("This page is not for your role."))
    refused = files.text_problem(form)  # a multipart form: the guard's check, here
    if refused is not None:
        return await _desk(
            request,
            principal,
            values=values,
            errors=dict([refused]),
            problem=_("Please correct the fields marked below."),
            status=422,
        )
    try:
        submission = ComplaintSubmission.model_validate(body)
    except ValidationError as err:
        errors = validation_errors(err, _)
        return await _desk(
            request,
            principal,
            values=values,
            errors=errors,
            problem=_("Please correct the fields marked below."),
            status=422,
        )
    if submission.link_to is None and field(form, "new_case") != "1":
        # A repeat call? Offered before anything is registered: link it, or register anew.
        duplicates = await run_in_threadpool(
            _duplicates, _app(request), submission, scoped_key(principal, key)
        )
        if duplicates:
            return await _desk(request, principal, values=values, duplicates=duplicates)
    answer = Response()
    try:
        case = await case_service.register(submission, _app(request), answer, principal, key)
    except RateLimited as limited:
        return await _desk(
            request,
            principal,
            values=values,
            errors={
                "citizen.phone": _(
                    "This phone number has filed the most complaints allowed today. "
                    "If it cannot wait, give a reason for registering one more."
                ),
                "limit_override_reason": limited.detail if values["limit_override_reason"] else "",
            },
            problem=_("Not registered."),
            status=429,
        )
    except ApiError as err:
        # A refusal about a field is said beside it, in the reader's words.
        beside = field_refusal(err, _)
        return await _desk(
            request,
            principal,
            values=values,
            errors=beside or {},
            problem=_("Please correct the fields marked below.")
            if beside
            else problem(request, err),
            status=err.status_code,
        )
    if case.linked:
        return redirect(f"/cases/{case.year}/{case.sequence}?linked=1")
    started = "1" if answer.status_code != 202 else "0"
    uploads = files.uploads_of(form)
    if uploads:  # what the citizen brought or sent: the case's first evidence
        try:
            await files.attach(
                request,
                principal,
                case.year,
                case.sequence,
                uploads,
                kind=AttachmentKind.EVIDENCE,
                source=AttachmentSource.DESK,
            )
        except ApiError as err:
            return await case_page(
                request, principal, case.year, case.sequence, problem=err.detail, status=200
            )
    return redirect(f"/cases/{case.year}/{case.sequence}?registered={started}")


def _duplicates(
    app: AppState, submission: ComplaintSubmission, key: str | None
) -> list[ComplaintSummary]:
    """The caller's open cases that look like this call (`api.repeats`), newest first; none
    when this form (its Idempotency-Key, `key` as stored) has registered already: a double
    submit answers its case."""
    now = utcnow()
    with read_session(app.engine) as session:
        if (
            key
            and session.exec(select(Complaint.id).where(Complaint.idempotency_key == key)).first()
        ):
            return []
        found = possible_duplicates(
            session,
            submission.complaint(),
            now=now,
            window=app.policy.repeat_contact_window,
        )
        return [summary(row, now) for row in found]


@router.post("/desk/history")
async def history(request: Request, principal: Telecaller, form: CheckedForm) -> Response:
    """Without a script: the desk's form posted back with the caller's earlier cases shown
    beside it (what was typed is kept; the phone never goes into an address)."""
    _ = gettext_for(request)
    values, _body = _submission(form)
    values["idempotency_key"] = values["idempotency_key"] or new_key()
    found = await run_in_threadpool(
        caller_history, _app(request), principal, values["citizen.phone"]
    )
    if found is None:
        return await _desk(
            request,
            principal,
            values=values,
            errors={"citizen.phone": _KNOWN_MESSAGES[_PHONE_MESSAGE](_)},
            status=422,
        )
    return await _desk(request, principal, values=values, history=found)


@router.post("/desk/history.json")
async def history_json(request: Request, principal: Telecaller, form: CheckedForm) -> Response:
    """The caller's earlier cases as the telecaller types the phone (static/history.js): number,
    subject, status and date in the reader's language, newest first. Posted, so the phone
    never appears in an address or an access log."""
    code = language(request)
    _ = gettext_for(request)
    found = await run_in_threadpool(
        caller_history, _app(request), principal, field(form, "citizen.phone")
    )
    if found is None:
        return JSONResponse({"data": [], "count": 0, "phone": False})
    return JSONResponse(
        {
            "phone": True,
            "count": found.count,
            "data": [
                {
                    "registration_number": c.registration_number,
                    "href": case_href(c),
                    "subject": category_label(c.category, code),
                    "status": staff_status(c.status, code, _),
                    "open": is_open(c.status),
                    "registered": format_date(c.created_at, "d MMM y", locale=code),
                }
                for c in found.data
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


def case_href(case: ComplaintSummary) -> str:
    """The page of a listed case."""
    year, sequence = case.links.self.split("/")[-2:]
    return f"/cases/{year}/{sequence}"


# ---- a case's page -----------------------------------------------------------------------------


def _case(app: AppState, principal: Principal, year: int, sequence: int) -> ComplaintPublic:
    with read_session(app.engine) as session:
        return case_service.read_case(session, principal, year, sequence)


def _ivr_summary(app: AppState, registration_number: str) -> IvrSummary | None:
    with read_session(app.engine) as session:
        return ivr_summaries(session, [registration_number]).get(registration_number)


async def case_page(
    request: Request,
    principal: Principal,
    year: int,
    sequence: int,
    *,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    _ = gettext_for(request)
    try:
        case = await run_in_threadpool(_case, _app(request), principal, year, sequence)
    except ApiError as err:
        # Out of scope and missing alike: the API's one answer (no complaint N/Y).
        raise PageError(
            err.status_code, _("No complaint %(number)s.") % {"number": f"{sequence}/{year}"}
        ) from None
    other_cases = await run_in_threadpool(
        caller_history, _app(request), principal, case.citizen.phone, besides=(year, sequence)
    )
    outcomes = sorted(
        SUGGESTION_OUTCOMES if case.kind is ComplaintKind.SUGGESTION else COMPLAINT_OUTCOMES,
        key=list(ReportOutcome).index,
    )
    return render(
        request,
        "case.html",
        {
            **common(request),
            "case": case,
            "other_cases": other_cases,
            "problem": problem,
            "errors": errors or {},
            "values": values or {},
            "registered": request.query_params.get("registered"),
            "linked": request.query_params.get("linked"),
            "done": request.query_params.get("done"),
            "report_outcomes": outcomes,
            "not_actionable_reasons": [
                (code, not_actionable_label(code, language(request)))
                for code in _app(request).policy.not_actionable_reasons
            ],
            "interim_reasons": [
                (code, interim_label(code, language(request)))
                for code in _app(request).policy.interim_reasons
            ],
            "callback_outcomes": list(CallbackOutcome),
            "districts": DISTRICTS,
            "departments": DEPARTMENTS,
            "key": new_key(),
            "can_call": principal.has(*CALLERS)
            and case.status is ComplaintStatus.AWAITING_CALLBACK,
            "can_report": principal.has(*REPORTERS)
            and case.status is ComplaintStatus.AWAITING_REPORT,
            # The citizen's own requests, taken by phone (the workflow decides what it grants).
            "can_request_review": principal.has(*REVIEW_REQUESTERS) and is_open(case.status),
            "can_withdraw": principal.has(*CALLERS) and is_open(case.status),
            "can_reopen": principal.has(*CALLERS) and case.status is ComplaintStatus.CLOSED,
            # The machine's verification calls: how many, how the last one ended.
            "ivr": await run_in_threadpool(_ivr_summary, _app(request), case.registration_number),
            # Photos and documents (api/pages/files.py): thumbnails, and who may add one.
            "files": await run_in_threadpool(
                file_service.case_files, _app(request).engine, year, sequence
            ),
            "can_attach": principal.has(*PAGE_UPLOADERS),
            "can_publish": principal.has(*PUBLISHERS),
        },
        principal=principal,
        status=status,
    )


@router.get("/cases/{year}/{sequence}")
async def case(request: Request, year: int, sequence: int, principal: Reader) -> Response:
    """The case: facts, its timeline and every SMS; the action the reader's role may take."""
    return await case_page(request, principal, year, sequence)


async def _act(
    request: Request,
    principal: Principal,
    year: int,
    sequence: int,
    form: FormData,
    *,
    build: Callable[[], Any],
    action: Callable[[Any, CaseAction], Awaitable[Any]],
    actors: CaseActors,
    values: dict[str, Any] | None = None,
    rename: dict[str, str] | None = None,
    success: str,
) -> Response:
    """One case action from a form: the body validated (messages beside the fields), then the
    service function the API's route calls, with the form's Idempotency-Key; its refusal (409:
    not in a state to accept it, 503: Temporal slow) shown on the case's page, out of scope a
    404 page."""
    _ = gettext_for(request)
    try:
        body = build()
    except (ValidationError, ValueError) as err:
        errors = validation_errors(err, _) if isinstance(err, ValidationError) else {}
        errors = {(rename or {}).get(k, k): v for k, v in errors.items()}
        return await case_page(
            request,
            principal,
            year,
            sequence,
            problem=_("Please correct the fields marked below."),
            errors=errors,
            values=values,
            status=422,
        )
    app = _app(request)
    with read_session(app.engine) as session:
        try:
            act = actors.at(
                year,
                sequence,
                principal=principal,
                session=session,
                app=app,
                idempotency_key=field(form, "idempotency_key") or None,
            )
            await action(body, act)
        except ApiError as err:
            if err.status_code == 404:
                number = f"{sequence}/{year}"
                raise PageError(404, _("No complaint %(number)s.") % {"number": number}) from None
            # A refusal about a field is said beside it, in the reader's words.
            beside = field_refusal(err, _)
            if beside is not None:
                beside = {(rename or {}).get(k, k): v for k, v in beside.items()}
            return await case_page(
                request,
                principal,
                year,
                sequence,
                problem=_("Please correct the fields marked below.")
                if beside
                else problem(request, err),
                errors=beside,
                values=values,
                status=err.status_code,
            )
    return redirect(success)


@router.post("/cases/{year}/{sequence}/callback")
async def callback(
    request: Request, year: int, sequence: int, principal: Telecaller, form: CheckedForm
) -> Response:
    """`POST .../callback`: one click per outcome (the remark is optional)."""
    back = safe_next(field(form, "next"), f"/cases/{year}/{sequence}")
    return await _act(
        request,
        principal,
        year,
        sequence,
        form,
        build=lambda: CallbackBody(
            outcome=CallbackOutcome(field(form, "outcome")), remark=field(form, "remark") or None
        ),
        action=case_service.record_callback,
        actors=case_service.CALLING,
        values={"remark": field(form, "remark")},
        success=f"{back}?done=callback",
    )


@router.post("/cases/{year}/{sequence}/report")
async def report(
    request: Request, year: int, sequence: int, principal: Officer, form: CheckedForm
) -> Response:
    """`POST .../report`: outcome, the department's reply, and a transfer's target."""
    values = {
        name: field(form, name)
        for name in ("outcome", "reply", "reason", "transfer_to_district", "transfer_to_department")
    }
    refused = await _report_files(request, principal, year, sequence, form, values)
    if refused is not None:
        return refused
    return await _act(
        request,
        principal,
        year,
        sequence,
        form,
        build=lambda: ReportBody.model_validate(
            {
                "outcome": values["outcome"],
                "reply": values["reply"],
                "transfer_to_district": district_from_input(values["transfer_to_district"])
                or values["transfer_to_district"]
                or None,
                "transfer_to_department": values["transfer_to_department"] or None,
                "reason": values["reason"] or None,
            }
        ),
        action=case_service.submit_report,
        actors=case_service.REPORTING,
        values=values,
        success=f"/inbox?done={sequence}/{year}",
    )


# The interim reply's fields on the case's page (beside the report's own `reason`).
INTERIM_FIELDS = {
    "reason": "interim_reason",
    "text": "interim_text",
    "expected_by": "interim_expected_by",
}


@router.post("/cases/{year}/{sequence}/interim-reply")
async def interim_reply(
    request: Request, year: int, sequence: int, principal: Officer, form: CheckedForm
) -> Response:
    """`POST .../interim-reply`: the officer running late tells the citizen why (a reason of
    the state's list, a text) and by when; the case's deadline does not move."""
    values = {name: field(form, name) for name in INTERIM_FIELDS.values()}
    return await _act(
        request,
        principal,
        year,
        sequence,
        form,
        build=lambda: InterimReplyBody.model_validate(
            {api: values[page] for api, page in INTERIM_FIELDS.items() if values[page]}
        ),
        action=case_service.send_interim_reply,
        actors=case_service.REPORTING,
        values=values,
        rename=INTERIM_FIELDS,
        success=f"/cases/{year}/{sequence}?done=interim_reply",
    )


async def _report_files(
    request: Request,
    principal: Principal,
    year: int,
    sequence: int,
    form: FormData,
    values: dict[str, Any],
) -> Response | None:
    """The report form's photos and documents, taken in as the action-taken report before
    the report itself (api/pages/files.py); the page again, with why, if one is refused."""
    refused = files.text_problem(form)
    if refused is not None:
        return await case_page(
            request, principal, year, sequence, errors=dict([refused]), values=values, status=422
        )
    uploads = files.uploads_of(form)
    if not uploads:
        return None
    return await _attach(
        request,
        principal,
        (year, sequence),
        uploads,
        kind=AttachmentKind.ACTION_TAKEN_REPORT,
        source=AttachmentSource.REPORT,
        values=values,
    )


async def _attach(
    request: Request,
    principal: Principal,
    number: tuple[int, int],
    uploads: list[UploadFile],
    *,
    kind: AttachmentKind,
    source: AttachmentSource,
    values: dict[str, Any] | None = None,
) -> Response | None:
    """Attach `uploads` to the case (`number`: year, sequence); None when stored, else the
    case's page again with why beside the files (404 for no such case)."""
    year, sequence = number
    try:
        await files.attach(request, principal, year, sequence, uploads, kind=kind, source=source)
    except ApiError as err:
        if err.status_code == 404:
            _ = gettext_for(request)
            raise PageError(
                404, _("No complaint %(number)s.") % {"number": f"{sequence}/{year}"}
            ) from None
        return await case_page(
            request,
            principal,
            year,
            sequence,
            problem=err.detail,
            errors={"files": err.detail},
            values=values,
            status=err.status_code,
        )
    return None


@router.post("/cases/{year}/{sequence}/review-request")
async def review_request(
    request: Request, year: int, sequence: int, principal: ReviewRequester, form: CheckedForm
) -> Response:
    """`POST .../review-request`: the citizen asks, by phone, for a review."""
    values = {"note": field(form, "note")}
    return await _act(
        request,
        principal,
        year,
        sequence,
        form,
        build=lambda: ReviewRequestBody(note=values["note"] or None),
        action=case_service.request_review,
        actors=case_service.REQUESTING_REVIEW,
        values=values,
        success=f"/cases/{year}/{sequence}?done=review-request",
    )


@router.post("/cases/{year}/{sequence}/withdraw")
async def withdraw(
    request: Request, year: int, sequence: int, principal: Telecaller, form: CheckedForm
) -> Response:
    """`POST .../withdraw`: the citizen withdraws the case (with a reason), once the
    telecaller has confirmed on a second page what withdrawing means."""
    values = {"withdraw_reason": field(form, "reason")}
    if not confirmed(form):
        asking = await _confirm_withdrawal(request, principal, year, sequence, form)
        if asking is not None:
            return asking
    return await _act(
        request,
        principal,
        year,
        sequence,
        form,
        build=lambda: WithdrawalBody(reason=values["withdraw_reason"]),
        action=case_service.withdraw,
        actors=case_service.CALLING,
        values=values,
        rename={"reason": "withdraw_reason"},
        success=f"/cases/{year}/{sequence}?done=withdraw",
    )


async def _confirm_withdrawal(
    request: Request, principal: Principal, year: int, sequence: int, form: FormData
) -> Response | None:
    """The confirmation page of a withdrawal; None when the form or the case's state is
    refused anyway (the action's own path then shows why, beside the field or as the API's
    refusal)."""
    _ = gettext_for(request)
    reason = field(form, "reason")
    try:
        WithdrawalBody(reason=reason)
        case = await run_in_threadpool(_case, _app(request), principal, year, sequence)
    except (ValidationError, ApiError):
        return None
    if not is_open(case.status):
        return None
    number = case.registration_number
    return confirmation(
        request,
        principal,
        title=_("Withdraw case %(number)s?") % {"number": number},
        consequences=[
            _(
                "The case ends now, withdrawn at the citizen's request: no report, "
                "verification call or review follows, and the officer stops working on it."
            ),
            _("The citizen is told by SMS."),
            _(
                "A withdrawn case cannot be reopened: to raise the matter again, the citizen "
                "registers a new complaint."
            ),
        ],
        facts={_("Case"): number, _("Reason"): reason},
        action=f"/cases/{year}/{sequence}/withdraw",
        fields=carried(form),
        confirm_label=_("Yes, withdraw the case"),
        back=f"/cases/{year}/{sequence}",
    )


@router.post("/cases/{year}/{sequence}/reopen")
async def reopen(
    request: Request, year: int, sequence: int, principal: Telecaller, form: CheckedForm
) -> Response:
    """`POST .../reopen`: the citizen reopens a closed case (with a reason)."""
    values = {"reopen_reason": field(form, "reason")}
    return await _act(
        request,
        principal,
        year,
        sequence,
        form,
        build=lambda: ReopeningBody(reason=values["reopen_reason"]),
        action=case_service.reopen,
        actors=case_service.CALLING,
        values=values,
        rename={"reason": "reopen_reason"},
        success=f"/cases/{year}/{sequence}?done=reopen",
    )


@router.post("/cases/{year}/{sequence}/attachments")
async def attach_files(
    request: Request, year: int, sequence: int, principal: Uploader, form: CheckedForm
) -> Response:
    """Files added from the case's page: the citizen's evidence (the desk), or the
    officer's action-taken report."""
    _ = gettext_for(request)
    problem_field = files.text_problem(form)
    uploads = files.uploads_of(form)
    # An officer adds the action-taken report; the desk, the citizen's evidence.
    officer = principal.has(*OFFICERS) and not principal.has(*DESK)
    default = AttachmentKind.ACTION_TAKEN_REPORT if officer else AttachmentKind.EVIDENCE
    wanted = field(form, "kind") or default.value
    if problem_field is not None or not uploads or wanted not in set(AttachmentKind):
        return await case_page(
            request,
            principal,
            year,
            sequence,
            problem=_("Choose a photo or a document to attach."),
            errors={"files": _("Choose a photo or a document to attach.")},
            status=422,
        )
    refused = await _attach(
        request,
        principal,
        (year, sequence),
        uploads,
        kind=AttachmentKind(wanted),
        source=AttachmentSource.DESK,
    )
    return refused or redirect(f"/cases/{year}/{sequence}?done=attachments#files")
