"""The citizen's page (no account): track a case by its registration number and phone.

The same look-up as `GET /v1/track/...` (`api.routes.track.look_up`): the same fields, the same
404 for a wrong phone and an unknown number, the same rate limits per address and per number.
The phone travels in the POSTed form, never in the URL (logs, history)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import AppState
from api.errors import ApiError
from api.pages.files import citizen_files
from api.pages.web import CheckedForm, field, gettext_for, render
from api.ratelimit import RateLimited
from api.routes.track import look_up
from schemas.complaint import ascii_digits, normalise_phone

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
        case = await run_in_threadpool(
            look_up,
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
    # The citizen's own evidence (opened once public) and the officer's public report.
    shown = await run_in_threadpool(
        citizen_files, app.engine, int(matched.group(2)), int(matched.group(1))
    )
    return render(
        request, "track.html", {"values": values, "errors": {}, "case": case, "files": shown}
    )
