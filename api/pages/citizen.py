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

from api.deps import AppState
from api.errors import ApiError
from api.pages.web import CheckedForm, field, gettext_for, language, render
from api.pages.words import attachment_note
from api.ratelimit import RateLimited
from api.services.files import citizen_file_events, citizen_files
from api.services.track import look_up_case, tracked, with_reopen_window
from core.models import utcnow
from schemas.calendar import IST
from schemas.complaint import ascii_digits, normalise_phone
from schemas.enums import ComplaintStatus
from schemas.escalation import REVIEW_STATUSES
from schemas.tracking import TrackedComplaint

router = APIRouter(include_in_schema=False, tags=["pages"])

_NUMBER = re.compile(r"\s*([0-9]{1,10})\s*/\s*([0-9]{4})\s*")


@router.get("/track")
async def track_page(request: Request) -> Response:
    return render(request, "track.html", {"values": {}, "errors": {}})


@router.post("/track")
async def track(request: Request, form: CheckedForm) -> Response:
    _ = gettext_for(request)
    values = {"number": field(form, "number"), "phone": field(form, "phone")}
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
    try:
        row = await run_in_threadpool(
            look_up_case,
            app.engine,
            app.settings,
            year=int(matched.group(2)),
            sequence=int(matched.group(1)),
            phone=phone,
            client=client,
        )
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
    case = await with_reopen_window(
        app.client, row, tracked(row), rpc_seconds=app.settings.temporal_rpc_timeout_seconds
    )
    # The citizen's own evidence (opened once public) and the officer's public report.
    shown = await run_in_threadpool(
        citizen_files, app.engine, int(matched.group(2)), int(matched.group(1))
    )
    file_events = await run_in_threadpool(
        citizen_file_events, app.engine, int(matched.group(2)), int(matched.group(1))
    )
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
        },
    )


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
    if status in REVIEW_STATUSES:
        return _(
            "Your case is on the agenda of the review meeting on the next date above. You will "
            "get an SMS with its decision."
        )
    return _(
        "The department must act by the next date above. Not satisfied, or no action by then? "
        "Call 181 and ask for a review."
    )
