"""The review room: upcoming and past sessions, a session's agenda grouped by district with a
decision form per case, closing the session, and its minutes (HTML, printable, CSV) — over
the services the API calls (`api.services.reviews`): the same roles, the same one path for a
decision (the session's update), the same minutes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_date
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.auth import signed_in
from api.csvfile import csv_response
from api.deps import AppState
from api.errors import ApiError
from api.pages.cases import common, new_key, validation_errors
from api.pages.confirm import carried, confirmation, confirmed
from api.pages.minutes import (
    chair,
    csv_header,
    csv_rows,
    districts_present,
    division_of,
    officers_named,
    person,
)
from api.pages.web import CheckedForm, PageError, field, gettext_for, language, redirect, render
from api.pages.web import problem as refusal_text
from api.pages.words import field_refusal
from api.services import files as file_service
from api.services import reviews, worklists
from api.services.lists import PAGE_SIZE, pager
from core.closure import ExtensionRequest, extension_requests
from core.db import read_session
from core.models import Officer
from core.permissions import REVIEW_READERS, REVIEW_WRITERS
from schemas.actions import BulkDecisionBody, CloseSessionBody, SessionDecisionBody
from schemas.auth import Principal
from schemas.calendar import within_calendar
from schemas.reasons import interim_label
from schemas.review import (
    BulkProgress,
    BulkSelection,
    Minutes,
    SessionAgenda,
    SessionList,
    SessionPhase,
)
from schemas.staff import OfficerEntry
from schemas.workflow import DecisionKind

router = APIRouter(include_in_schema=False, tags=["pages"])

ReviewReader = Annotated[Principal, Depends(signed_in(*REVIEW_READERS))]
ReviewWriter = Annotated[Principal, Depends(signed_in(*REVIEW_WRITERS))]


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


# Cases per page of an agenda (the summary heads every page).
_PAGE = 50


def _offset(request: Request) -> int:
    value = request.query_params.get("offset", "0")
    return int(value) if value.isdigit() else 0


def _filters(request: Request) -> BulkSelection:
    """The agenda's filters from the page's query (`in_district`, `department`, ...),
    checked as the API checks them; a wrong one answers as the API does."""
    params = request.query_params
    levels = [int(v) for v in params.getlist("level") if v.isdigit()]
    ages = params.get("min_age_days", "")
    times = params.get("min_undecided_times", "")
    return reviews.selection(
        in_district=[v for v in params.getlist("in_district") if v],
        department=[v for v in params.getlist("department") if v],
        category=[v for v in params.getlist("category") if v],
        level=levels,
        min_age_days=int(ages) if ages.isdigit() else None,
        min_undecided_times=int(times) if times.isdigit() else None,
        urgent=True if params.get("urgent") == "1" else None,
        wishes_to_meet_cm=True if params.get("wishes_to_meet_cm") == "1" else None,
    )


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

    given = request.query_params.get("ext_page", "1")
    extension_page = min(max(1, int(given)), 10**6) if given.isdigit() else 1

    def load() -> tuple[SessionAgenda, list[OfficerEntry], tuple[list[ExtensionRequest], int]]:
        with read_session(_app(request).engine) as session:
            agenda = reviews.get_agenda(
                kind,
                when,
                session,
                _app(request),
                _filters(request),
                district=_district(request),
                limit=_PAGE,
                offset=_offset(request),
            )
            extensions = extension_requests(
                session,
                agenda.session.session_id,
                district=_district(request),
                limit=PAGE_SIZE,
                offset=(extension_page - 1) * PAGE_SIZE,
            )
            return agenda, worklists.directory(session), extensions

    try:
        agenda, officers, (extensions, extension_count) = await run_in_threadpool(load)
        filters = _filters(request)
    except ApiError as err:
        raise PageError(err.status_code, refusal_text(request, err)) from None
    bulk = None
    bulk_id = request.query_params.get("bulk")
    if bulk_id:

        def progress() -> BulkProgress | None:
            with read_session(_app(request).engine) as session:
                try:
                    return reviews.get_bulk_decision(
                        kind, when, bulk_id, session, _app(request), district=_district(request)
                    )
                except ApiError:
                    return None

        bulk = await run_in_threadpool(progress)
    filter_query = urlencode(
        [
            *(("in_district", d) for d in filters.districts),
            *(("department", d) for d in filters.departments),
            *(
                (name, str(value))
                for name, value in (
                    ("min_age_days", filters.min_age_days),
                    ("min_undecided_times", filters.min_undecided_times),
                )
                if value is not None
            ),
            *([("urgent", "1")] if filters.urgent else []),
            *([("wishes_to_meet_cm", "1")] if filters.wishes_to_meet_cm else []),
        ]
    )
    district_q = _district(request)
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
            "can_decide": principal.has(*REVIEW_WRITERS)
            and agenda.session.phase is SessionPhase.AGENDA_FROZEN,
            "done": request.query_params.get("done"),
            "bulk": bulk,
            "filters": filters,
            "filtered": not filters.is_empty(),
            "filter_query": f"&{filter_query}" if filter_query else "",
            "base_query": urlencode({"district": district_q}) if district_q else "",
            "district_q": district_q,
            "summary_districts": sorted(
                {r.district for r in agenda.summary.rows} if agenda.summary else set()
            ),
            # Interim replies and the extensions they ask for: a section of their own.
            "extensions": extensions,
            "extension_pager": pager(
                f"/review-room/{kind}/{when.isoformat()}",
                {k: v for k, v in request.query_params.items() if k != "ext_page"},
                extension_page,
                extension_count,
                param="ext_page",
            ),
            "interim_label": lambda code: interim_label(code, language(request)),
            "file_counts": await run_in_threadpool(
                file_service.counts_by_number,
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
    # Asked once the closure can go through (the citizen informed); otherwise the refusal
    # says what is missing first.
    if (
        decision.decision is DecisionKind.CLOSE
        and decision.citizen_informed
        and not confirmed(form)
    ):
        return confirmation(
            request,
            principal,
            title=_("Close case %(number)s at this review?") % {"number": number},
            consequences=[
                _(
                    "The case is closed by this review with the reason below, and the "
                    "decision goes into the minutes as it stands."
                ),
                _(
                    "The citizen is told by SMS, and may reopen the case only within the "
                    "days their case allows after closing."
                ),
                _("No other decision can be recorded for this case at this session."),
            ],
            facts={_("Case"): number, _("Reason for closing"): str(values["text"]) or "—"},
            action=f"/review-room/{kind}/{day}/decisions{_query(request)}",
            fields=carried(form),
            confirm_label=_("Yes, close the case"),
            back=f"/review-room/{kind}/{day}{_query(request)}#case-{number.replace('/', '-')}",
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
            # A refusal about a field is said beside it, in the reader's words.
            beside = field_refusal(err, _) or {}
            errors = {f"{number}:{name}": message for name, message in beside.items()}
            said = _("Please correct the fields marked below.") if beside else None
            return await agenda_page(
                request,
                principal,
                kind,
                day,
                problem=f"{number}: {said or refusal_text(request, err)}",
                errors=errors,
                values={number: values},
                status=err.status_code,
            )
    anchor = number.replace("/", "-")
    query = _query(request).replace("?", "&")
    return redirect(f"/review-room/{kind}/{day}?done={number}{query}#case-{anchor}")


async def _confirm_close(
    request: Request, principal: Principal, kind: str, when: date, form: FormData
) -> Response:
    """The confirmation page of closing a session: what closing does, with the counts."""
    _ = gettext_for(request)

    def load() -> SessionAgenda:
        with read_session(_app(request).engine) as session:
            return reviews.get_agenda(
                kind,
                when,
                session,
                _app(request),
                BulkSelection(),
                district=_district(request),
                limit=1,
            )

    try:
        info = (await run_in_threadpool(load)).session
    except ApiError as err:
        raise PageError(err.status_code, refusal_text(request, err)) from None
    code = language(request)
    undecided = max(0, info.agenda_count - info.decided_count)
    forum = common(request)["forum_label"](str(info.kind))
    return confirmation(
        request,
        principal,
        title=_("Close the session: %(forum)s, %(date)s?")
        % {"forum": forum, "date": format_date(when, "d MMM y", locale=code)},
        consequences=[
            _("No more decisions can be recorded at this session; its minutes become final."),
            _("Undecided cases that roll over to the next session of this forum: %(n)d.")
            % {"n": undecided},
        ],
        facts={_("Cases"): str(info.agenda_count), _("Decided"): str(info.decided_count)},
        action=f"/review-room/{kind}/{when.isoformat()}/close{_query(request)}",
        fields=carried(form),
        confirm_label=_("Yes, close the session"),
        back=f"/review-room/{kind}/{when.isoformat()}{_query(request)}",
    )


@router.post("/review-room/{kind}/{day}/bulk-decisions")
async def decide_in_bulk(
    request: Request, kind: str, day: str, principal: ReviewWriter, form: CheckedForm
) -> Response:
    """`POST /v1/reviews/{kind}/{day}/bulk-decisions`: one directive or closure for the
    cases the filters select, or for the undecided cases of the page shown; each case gets
    it as its own decision. Back to the agenda with the bulk's progress."""
    _ = gettext_for(request)
    when = _day(request, day)
    if form.get("scope") == "selected":
        times = field(form, "min_undecided_times")
        ages = field(form, "min_age_days")
        selection: dict[str, Any] = {
            "districts": [str(v) for v in form.getlist("in_district") if v],
            "departments": [str(v) for v in form.getlist("department") if v],
            "min_age_days": int(ages) if ages.isdigit() else None,
            "min_undecided_times": int(times) if times.isdigit() else None,
            "urgent": True if field(form, "urgent") == "1" else None,
            "wishes_to_meet_cm": True if field(form, "wishes_to_meet_cm") == "1" else None,
        }
    else:
        selection = {"registration_numbers": [str(v) for v in form.getlist("page_number")]}
    try:
        body = BulkDecisionBody.model_validate(
            {
                "selection": selection,
                "decision": field(form, "decision") or "directive",
                "text": field(form, "text"),
                "responsible_officer_id": field(form, "responsible_officer_id") or None,
                "new_deadline": field(form, "new_deadline") or None,
                "citizen_informed": form.get("citizen_informed") == "on",
            }
        )
    except ValidationError as err:
        errors = {f"bulk:{k}": v for k, v in validation_errors(err, _).items()}
        return await agenda_page(
            request,
            principal,
            kind,
            day,
            problem=_("Please correct the fields marked below."),
            errors=errors,
            status=422,
        )
    with read_session(_app(request).engine) as session:
        try:
            progress = await reviews.record_bulk_decision(
                kind,
                when,
                body,
                session,
                _app(request),
                principal,
                idempotency_key=field(form, "idempotency_key") or None,
                district=_district(request),
            )
        except ApiError as err:
            errors = {
                f"bulk:{e['field']}": e["message"]
                for e in err.extra.get("errors", [])
                if isinstance(e, dict)
            }
            return await agenda_page(
                request,
                principal,
                kind,
                day,
                problem=refusal_text(request, err),
                errors=errors,
                status=err.status_code,
            )
    query = urlencode(
        {"bulk": progress.bulk_id, **({"district": d} if (d := _district(request)) else {})}
    )
    return redirect(f"/review-room/{kind}/{day}?{query}#bulk-progress")


@router.post("/review-room/{kind}/{day}/close")
async def close(
    request: Request, kind: str, day: str, principal: ReviewWriter, form: CheckedForm
) -> Response:
    """`POST .../close`: undecided cases roll over; the minutes become final — once the
    reviewer has confirmed on a second page how many cases roll over."""
    when = _day(request, day)
    if not confirmed(form):
        return await _confirm_close(request, principal, kind, when, form)
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


async def _minutes_and_officers(
    request: Request, kind: str, when: date
) -> tuple[Minutes, dict[str, Officer]]:
    """The API's minutes and the directory entries of the officers they name."""

    def load() -> tuple[Minutes, dict[str, Officer]]:
        with read_session(_app(request).engine) as session:
            found: Minutes = reviews.get_minutes(
                kind, when, session, _app(request), district=_district(request)
            )
            named = officers_named(
                session,
                [i for e in found.entries for i in (e.responsible_officer_id, e.decided_by)],
            )
            return found, named

    try:
        return await run_in_threadpool(load)
    except ApiError as err:
        raise PageError(err.status_code, refusal_text(request, err)) from None


@router.get("/review-room/{kind}/{day}/minutes")
async def minutes(request: Request, kind: str, day: str, principal: ReviewReader) -> Response:
    """The minutes as a page that prints cleanly (`?print=1`: without the site's frame, with
    the heading, date, chair, districts present and a signature block)."""
    when = _day(request, day)
    found, officers = await _minutes_and_officers(request, kind, when)
    forum = reviews.forum_of(_app(request), kind)
    _ = gettext_for(request)
    code = language(request)
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
            "person": lambda officer_id: person(officer_id, officers, code),
            "chair": chair(found.session.kind, _, forum, code),
            "division": division_of(found, forum),
            "districts_present": districts_present(found, forum),
            "file_counts": await run_in_threadpool(
                file_service.counts_by_number,
                _app(request).engine,
                [e.registration_number for e in found.entries],
            ),
        },
        principal=principal,
    )


@router.get("/review-room/{kind}/{day}/minutes.csv")
async def minutes_csv(request: Request, kind: str, day: str, principal: ReviewReader) -> Response:
    """The minutes as a CSV to file and circulate: the reader's column names and words,
    officers by name and designation, UTF-8 with a byte-order mark (Excel), every cell
    neutralised, never cached (the API's `?format=csv` keeps stable column codes)."""
    when = _day(request, day)
    found, officers = await _minutes_and_officers(request, kind, when)
    _ = gettext_for(request)
    outcome_label = common(request)["outcome_label"]
    return csv_response(
        f"minutes-{found.session.session_id}.csv",
        csv_header(_),
        csv_rows(found, officers, language(request), _, outcome_label),
    )
