"""The citizen's page (no account): track a case by its registration number and phone.

The same look-up as `GET /v1/track/...` (`api.services.track.look_up_case`, then a closed case's
reopen window from its own recorded policy): the same fields, the same 404 for a wrong phone
and an unknown number, the same rate limits per address and per number. The phone travels in
the POSTed form, never in the URL (logs, history). Below the answer, the next step the citizen
can take, in their words."""

from __future__ import annotations

import re

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.case_policy import recorded_policy
from api.closure import RatingAnswer, closure_token, rate_as_citizen, rating_offered
from api.deps import AppState
from api.errors import ApiError
from api.pages.web import CheckedForm, field, gettext_for, language, render
from api.pages.words import attachment_note
from api.ratelimit import RateLimited
from api.services.files import citizen_file_events, citizen_files
from api.services.track import look_up_case, tracked, with_reopen_window
from core.models import Complaint, utcnow
from schemas.calendar import IST
from schemas.complaint import ascii_digits, normalise_phone
from schemas.enums import ComplaintStatus, on_agenda
from schemas.tracking import TrackedComplaint
from schemas.workflow import RatingChannel

router = APIRouter(include_in_schema=False, tags=["pages"])

_NUMBER = re.compile(r"\s*([0-9]{1,10})\s*/\s*([0-9]{4})\s*")


@router.get("/track")
async def track_page(request: Request) -> Response:
    return render(request, "track.html", {"values": {}, "errors": {}})


@router.post("/track")
async def track(request: Request, form: CheckedForm) -> Response:
    values = {"number": field(form, "number"), "phone": field(form, "phone")}
    return await _answer(request, values)


async def _answer(
    request: Request,
    values: dict[str, str],
    *,
    notice: str | None = None,
    rating_errors: dict[str, str] | None = None,
    rate: tuple[int, bool, str] | None = None,
) -> Response:
    """The look-up of the number and phone in `values`, then the case as its citizen sees it
    (with `notice` above it); `rate` (score, appeal, form token) first records the citizen's
    rating of the closure when the page still offers it."""
    _ = gettext_for(request)
    errors: dict[str, str] = {}
    matched = _NUMBER.fullmatch(ascii_digits(values["number"]))
    if matched is None:
        errors["number"] = _("Write the registration number as in your SMS, e.g. 20983/2018.")
    try:
        phone = normalise_phone(values["phone"])
    except ValueError:
        errors["phone"] = _("Write the 10-digit mobile number the complaint was registered with.")
    if errors or matched is None:
        return render(request, "track.html", {"values": values, "errors": errors}, status=422)
    app: AppState = request.app.state.jan_samvad
    client = request.client.host if request.client else "unknown"
    year, sequence = int(matched.group(2)), int(matched.group(1))

    def find() -> Complaint:
        return look_up_case(
            app.engine, app.settings, year=year, sequence=sequence, phone=phone, client=client
        )

    try:
        row = await run_in_threadpool(find)
    except RateLimited as limited:
        minutes = max(1, round(limited.retry_after / 60))
        message = _("Too many look-ups. Try again in %(minutes)d minutes, or call 181.") % {
            "minutes": minutes
        }
        response = render(
            request, "track.html", {"values": values, "errors": {}, "problem": message}, status=429
        )
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    except ApiError as err:
        message = _(
            "No complaint with this registration number and phone number. Check both "
            "(the number is in your acknowledgement SMS), or call 181."
        )
        return render(
            request,
            "track.html",
            {"values": values, "errors": {}, "problem": message},
            status=err.status_code,
        )
    rpc_seconds = app.settings.temporal_rpc_timeout_seconds
    policy = None
    if row.status is ComplaintStatus.CLOSED:
        policy = await recorded_policy(app.client, row.workflow_id, rpc_seconds=rpc_seconds)
    status = 200
    if rate is not None:
        notice, status = await _rate(request, app, row, rate)
        if status == 200:
            row = await run_in_threadpool(find)
    case = await with_reopen_window(
        app.client, row, tracked(row), rpc_seconds=rpc_seconds, policy=policy
    )
    # The citizen's own evidence (opened once public) and the officer's public report.
    shown = await run_in_threadpool(citizen_files, app.engine, year, sequence)
    file_events = await run_in_threadpool(citizen_file_events, app.engine, year, sequence)
    offer_until = rating_offered(row, policy or app.policy, utcnow())
    return render(
        request,
        "track.html",
        {
            "values": values,
            "errors": {},
            "case": case,
            "files": shown,
            "file_events": [
                {"at": e.at, "label": _(e.event), "detail": attachment_note(e.note or "", _)}
                for e in file_events
            ],
            "next_step": next_step(request, case),
            "notice": notice,
            "rating": row.rating if row.status is ComplaintStatus.CLOSED else None,
            "rating_until": offer_until,
            "rating_token": closure_token(row),
            "rating_errors": rating_errors or {},
        },
        status=status,
    )


async def _rate(
    request: Request,
    app: AppState,
    row: Complaint,
    rate: tuple[int, bool, str],
) -> tuple[str, int]:
    """Record the page's rating through the citizen's own path (the SMS digit's): the notice
    to show and the page's status (409 when the case said no, 503 when it did not answer)."""
    _ = gettext_for(request)
    score, appeal, token = rate
    if row.status is ComplaintStatus.CLOSED and row.rating is not None:
        # Rated already (this form, or by SMS): the page offers one rating per closure.
        return _("Thank you: your rating %(score)d/5 is recorded.") % {"score": row.rating}, 200
    outcome = await rate_as_citizen(
        app, row, score, RatingChannel.PAGE, request_id=token, appeal=appeal
    )
    if outcome.answer is RatingAnswer.REFUSED:
        return _("Your rating was not recorded: %(reason)s") % {"reason": outcome.reason}, 409
    if outcome.answer is RatingAnswer.FAILED:
        return _("Your rating could not be recorded just now. Try again in a minute."), 503
    if outcome.answer is RatingAnswer.APPEALED:
        return _(
            "Your appeal is recorded: the case goes to the next review. You will get an SMS "
            "with its date."
        ), 200
    return _("Thank you: your rating %(score)d/5 is recorded.") % {"score": score}, 200


_TOKEN = re.compile(r"[0-9a-f]{32}")


@router.post("/track/rating")
async def rate_closure(request: Request, form: CheckedForm) -> Response:
    """The citizen rates the closure of their case from its page (after the number and phone
    were checked again): 1-5, and an explicit appeal; the form's token (one per closure)
    makes a resubmitted form one rating."""
    _ = gettext_for(request)
    values = {"number": field(form, "number"), "phone": field(form, "phone")}
    given = field(form, "score")
    token = field(form, "rating_token")
    if not given.isdigit() or not 1 <= int(given) <= 5:
        errors = {"score": _("Choose a rating from 1 (poor) to 5 (good).")}
        response = await _answer(request, values, rating_errors=errors)
        response.status_code = 422 if response.status_code == 200 else response.status_code
        return response
    if not _TOKEN.fullmatch(token):
        return render(
            request,
            "track.html",
            {"values": values, "errors": {}, "problem": _("Reload the page and try again.")},
            status=422,
        )
    return await _answer(request, values, rate=(int(given), field(form, "appeal") == "yes", token))


def next_step(request: Request, case: TrackedComplaint) -> str:
    """What the citizen can do now, in their language: for a closed case, reopening within the
    case's own window (or a new complaint once it has passed)."""
    _ = gettext_for(request)
    code = language(request)
    status = case.status
    if status is ComplaintStatus.CLOSED:
        if case.reopen_until is None:
            return _(
                "Still not solved? Call 181: a closed case can be reopened for some days "
                "after it was closed."
            )
        day = format_date(case.reopen_until.astimezone(IST), "d MMM y", locale=code)
        if case.reopen_until >= utcnow():
            return _(
                "Still not solved? You can reopen the case until %(date)s (%(days)d days after "
                "it was closed): call 181 and say why."
            ) % {"date": day, "days": case.reopen_days or 0}
        return _(
            "The time to reopen this case ended on %(date)s. If the problem continues, call 181 "
            "to register a new complaint."
        ) % {"date": day}
    if status is ComplaintStatus.WITHDRAWN:
        return _("You withdrew this case. To raise the matter again, call 181.")
    if status is ComplaintStatus.AWAITING_CALLBACK:
        return _(
            "The department has replied. A telecaller will call you to ask whether the problem "
            "is solved: if it is not, say so on that call, or call 181."
        )
    if on_agenda(status):
        return _(
            "Your case is on the agenda of the review meeting on the next date above. You will "
            "get an SMS with its decision."
        )
    return _(
        "The department must act by the next date above. Not satisfied, or no action by then? "
        "Call 181 and ask for a review."
    )
