"""The review room: upcoming and past sessions, a session's agenda grouped by district with a
decision form per case, closing the session, and its minutes (HTML, printable, CSV) — over
the API's own functions (`api.routes.reviews`): the same roles, the same one path for a
decision (the session's update), the same minutes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import AppState
from api.errors import ApiError
from api.pages import files
from api.pages.cases import common, new_key, validation_errors
from api.pages.web import (
    CheckedForm,
    PageError,
    field,
    gettext_for,
    redirect,
    render,
    signed_in,
)
from api.pages.web import problem as refusal_text
from api.routes import reviews, staff
from core.db import read_session
from schemas.actions import CloseSessionBody, SessionDecisionBody
from schemas.auth import Principal
from schemas.calendar import within_calendar
from schemas.review import (
    Minutes,
    SessionAgenda,
    SessionList,
    SessionPhase,
)
from schemas.staff import OfficerEntry

router = APIRouter(include_in_schema=False, tags=["pages"])

ReviewReader = Annotated[Principal, Depends(signed_in(*reviews.REVIEW_READERS))]
ReviewWriter = Annotated[Principal, Depends(signed_in(*reviews.REVIEW_WRITERS))]


def _app(request: Request) -> AppState:
    state: AppState = request.app.state.jan_samvad
    return state


def _day(request: Request, value: str) -> date:
    try:
        return within_calendar(date.fromisoformat(value))
    except ValueError:
        _ = gettext_for(request)
        raise PageError(404, _("No such session.")) from None


@router.get("/review-room")
async def sessions(request: Request, principal: ReviewReader) -> Response:
    """Upcoming sessions (soonest first), then the held ones."""

    def load() -> SessionList:
        with read_session(_app(request).engine) as session:
            return reviews.list_sessions(session, _app(request), when="all", limit=60)

    listed = await run_in_threadpool(load)
    return render(
        request,
        "review_sessions.html",
        {**common(request), "sessions": listed.data, "Phase": SessionPhase},
        principal=principal,
    )


def _district(request: Request) -> str | None:
    """The session's district, for a forum each district holds (`?district=Ranchi`)."""
    return request.query_params.get("district") or None


def _query(request: Request) -> str:
    """`?district=...` to carry on the session's links, or nothing."""
    district = _district(request)
    return f"?{urlencode({'district': district})}" if district else ""


async def agenda_page(
    request: Request,
    principal: Principal,
    kind: str,
    day: str,
    *,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    when = _day(request, day)

    def load() -> tuple[SessionAgenda, list[OfficerEntry]]:
        with read_session(_app(request).engine) as session:
            agenda = reviews.get_agenda(kind, when, session, _app(request), _district(request))
            return agenda, staff.list_officers(session)

    try:
        agenda, officers = await run_in_threadpool(load)
    except ApiError as err:
        raise PageError(err.status_code, refusal_text(request, err)) from None
    return render(
        request,
        "review_agenda.html",
        {
            **common(request),
            "agenda": agenda,
            "kind": kind,
            "day": when.isoformat(),
            "q": _query(request),
            "officers": sorted(officers, key=lambda o: (o.district or "~", o.id)),
            "Phase": SessionPhase,
            "problem": problem,
            "errors": errors or {},
            "values": values or {},
            "key": new_key(),
            "can_decide": principal.has(*reviews.REVIEW_WRITERS)
            and agenda.session.phase is SessionPhase.AGENDA_FROZEN,
            "done": request.query_params.get("done"),
            "file_counts": await run_in_threadpool(
                files.counts_by_number,
                _app(request).engine,
                [c.registration_number for g in agenda.districts for c in g.cases],
            ),
        },
        principal=principal,
        status=status,
    )


@router.get("/review-room/{kind}/{day}")
async def agenda(request: Request, kind: str, day: str, principal: ReviewReader) -> Response:
    """The agenda grouped by district; a decision form per case once the agenda is frozen."""
    return await agenda_page(request, principal, kind, day)


@router.post("/review-room/{kind}/{day}/decisions")
async def decide(
    request: Request, kind: str, day: str, principal: ReviewWriter, form: CheckedForm
) -> Response:
    """`POST /v1/reviews/{kind}/{day}/decisions`: a directive or a closure, in the minutes."""
    _ = gettext_for(request)
    when = _day(request, day)
    number = field(form, "registration_number")
    values = {
        "registration_number": number,
        "decision": field(form, "decision"),
        "text": field(form, "text"),
        "responsible_officer_id": field(form, "responsible_officer_id"),
        "new_deadline": field(form, "new_deadline"),
        "citizen_informed": form.get("citizen_informed") == "on",
    }
    try:
        decision = SessionDecisionBody.model_validate(
            {
                **values,
                "responsible_officer_id": values["responsible_officer_id"] or None,
                # <input type=datetime-local> has no offset: IST, as the API assumes.
                "new_deadline": values["new_deadline"] or None,
            }
        )
    except ValidationError as err:
        errors = {f"{number}:{k}": v for k, v in validation_errors(err, _).items()}
        return await agenda_page(
            request,
            principal,
            kind,
            day,
            problem=_("Please correct the fields marked below."),
            errors=errors,
            values={number: values},
            status=422,
        )
    with read_session(_app(request).engine) as session:
        try:
            await reviews.record_decision(
                kind,
                when,
                decision,
                session,
                _app(request),
                principal,
                idempotency_key=field(form, "idempotency_key") or None,
                district=_district(request),
            )
        except ApiError as err:
            errors = {
                f"{number}:{e['field']}": e["message"]
                for e in err.extra.get("errors", [])
                if isinstance(e, dict)
            }
            return await agenda_page(
                request,
                principal,
                kind,
                day,
                problem=f"{number}: {refusal_text(request, err)}",
                errors=errors,
                values={number: values},
                status=err.status_code,
            )
    anchor = number.replace("/", "-")
    query = _query(request).replace("?", "&")
    return redirect(f"/review-room/{kind}/{day}?done={number}{query}#case-{anchor}")


@router.post("/review-room/{kind}/{day}/close")
async def close(
    request: Request, kind: str, day: str, principal: ReviewWriter, form: CheckedForm
) -> Response:
    """`POST .../close`: undecided cases roll over; the minutes become final."""
    when = _day(request, day)
    with read_session(_app(request).engine) as session:
        try:
            await reviews.close_session(
                kind,
                when,
                CloseSessionBody(),
                session,
                _app(request),
                principal,
                idempotency_key=field(form, "idempotency_key") or None,
                district=_district(request),
            )
        except ApiError as err:
            return await agenda_page(
                request,
                principal,
                kind,
                day,
                problem=refusal_text(request, err),
                status=err.status_code,
            )
    return redirect(f"/review-room/{kind}/{day}/minutes{_query(request)}")


@router.get("/review-room/{kind}/{day}/minutes")
async def minutes(request: Request, kind: str, day: str, principal: ReviewReader) -> Response:
    """The minutes as a page that prints cleanly (`?print=1`: without the site's frame)."""
    when = _day(request, day)

    def load() -> Minutes:
        with read_session(_app(request).engine) as session:
            found: Minutes = reviews.get_minutes(
                kind, when, session, _app(request), district=_district(request)
            )
            return found

    try:
        found = await run_in_threadpool(load)
    except ApiError as err:
        raise PageError(err.status_code, refusal_text(request, err)) from None
    return render(
        request,
        "review_minutes.html",
        {
            **common(request),
            "minutes": found,
            "kind": kind,
            "day": when.isoformat(),
            "q": _query(request),
            "printable": request.query_params.get("print") == "1",
            "file_counts": await run_in_threadpool(
                files.counts_by_number,
                _app(request).engine,
                [e.registration_number for e in found.entries],
            ),
        },
        principal=principal,
    )


@router.get("/review-room/{kind}/{day}/minutes.csv")
async def minutes_csv(request: Request, kind: str, day: str, principal: ReviewReader) -> Response:
    """The API's CSV of the minutes (`GET /v1/reviews/.../minutes?format=csv`)."""
    when = _day(request, day)

    def load() -> Any:
        with read_session(_app(request).engine) as session:
            return reviews.get_minutes(
                kind, when, session, _app(request), format="csv", district=_district(request)
            )

    try:
        answer: Response = await run_in_threadpool(load)
    except ApiError as err:
        raise PageError(err.status_code, refusal_text(request, err)) from None
    return answer
