"""`/v1/track`: public tracking of a complaint by its citizen, without a token.

The citizen proves the case is theirs with the phone number registered on it, sent in the
`X-Citizen-Phone` header rather than in the URL: a query string lands in access logs, proxies'
logs, traces and browser history. A wrong phone and an unknown number get the very same 404.
Registration numbers are sequential, so look-ups are rate-limited per client address, and
failed look-ups per client and per registration number (api/ratelimit.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import AppStateDep
from api.errors import ApiError
from api.services.track import look_up_case, tracked, with_reopen_window
from schemas.complaint import normalise_phone
from schemas.tracking import TrackedComplaint

router = APIRouter(prefix="/v1/track", tags=["tracking"])

CitizenPhone = Annotated[
    str,
    Header(
        alias="X-Citizen-Phone",
        # Room for a number written in Devanagari digits, sent as UTF-8 (3 bytes a digit).
        max_length=64,
        description="The phone number registered on the complaint (10 digits, +91 or 0).",
        examples=["9876543210"],
    ),
]


def utf8_header(value: str) -> str:
    """A header's text as the client wrote it: HTTP hands header bytes over as Latin-1, so a
    UTF-8 value (a phone in Devanagari digits, `९८७६५४३२१०`) is decoded again; a value that
    is not UTF-8 is left as it came."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


@router.get(
    "/{year}/{sequence}",
    response_model=TrackedComplaint,
    responses={
        404: {"description": "No such case with this phone (the same answer for both)."},
        422: {"description": "The phone is not a valid Indian mobile number."},
        429: {"description": "Too many look-ups; `Retry-After` says when to try again."},
    },
)
async def track_complaint(
    year: int,
    sequence: int,
    request: Request,
    app: AppStateDep,
    phone: CitizenPhone,
) -> TrackedComplaint:
    """A citizen's view of their complaint: status, dates and the department's reply. Public:
    no token; the phone number registered on the case goes in the `X-Citizen-Phone` header."""
    try:
        normalised = normalise_phone(utf8_header(phone))
    except ValueError as err:
        raise ApiError(422, f"X-Citizen-Phone: {err}") from None
    # Behind a reverse proxy, uvicorn takes the address from X-Forwarded-For when the proxy is
    # listed in FORWARDED_ALLOW_IPS.
    client = request.client.host if request.client else "unknown"
    row = await run_in_threadpool(
        look_up_case,
        app.engine,
        app.settings,
        year=year,
        sequence=sequence,
        phone=normalised,
        client=client,
    )
    return await with_reopen_window(
        app.client, row, tracked(row), rpc_seconds=app.settings.temporal_rpc_timeout_seconds
    )
