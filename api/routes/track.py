"""`/v1/track`: public tracking of a complaint by its citizen, without a token.

The citizen proves the case is theirs with the phone number registered on it, sent in the
`X-Citizen-Phone` header rather than in the URL: a query string lands in access logs, proxies'
logs, traces and browser history. A wrong phone and an unknown number get the very same 404.
Registration numbers are sequential, so look-ups are rate-limited per client address, and
failed look-ups per client and per registration number (api/ratelimit.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import Client

from api.case_policy import recorded_policy
from api.deps import AppStateDep
from api.errors import ApiError, refused
from api.ratelimit import Counter, RateLimited, Window, hit, refuse_if_blocked
from api.services.views import ist
from core.db import read_session
from core.models import Complaint, utcnow
from core.settings import Settings
from schemas.calendar import to_ist
from schemas.complaint import normalise_phone
from schemas.enums import ComplaintStatus
from schemas.escalation import REVIEW_STATUSES
from schemas.tracking import TrackedComplaint, status_labels

router = APIRouter(prefix="/v1/track", tags=["tracking"])

_DB_INTEGER = 2**31

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


# Where the department's latest reply is also its current answer: awaiting the citizen's
# verification, or closed. Elsewhere it was rejected ("not satisfied", a reopening) or
# overtaken (a review's agenda, a transfer): the page still shows it as the latest answer, an
# SMS does not give it as the answer.
ANSWERED_STATUSES = frozenset({ComplaintStatus.AWAITING_CALLBACK, ComplaintStatus.CLOSED})


def tracked(row: Complaint) -> TrackedComplaint:
    """The public fields of a case, and nothing else (times in IST)."""
    next_deadline: datetime | None = None
    if row.status in REVIEW_STATUSES:
        next_deadline = row.review_date or row.next_deadline  # the meeting that takes it up
    elif row.status.is_open:
        next_deadline = row.next_deadline
    return TrackedComplaint(
        registration_number=row.registration_number,
        kind=row.kind,
        status=row.status,
        status_label=status_labels(row.status),
        registered_at=to_ist(row.created_at),
        updated_at=to_ist(row.updated_at),
        next_deadline=ist(next_deadline),
        # The latest reply stays the latest answer after a "not satisfied" or a review.
        last_reply=row.last_reply,
        closed_at=ist(row.closed_at) if row.status is ComplaintStatus.CLOSED else None,
    )


async def with_reopen_window(
    client: Client, row: Complaint, found: TrackedComplaint, *, rpc_seconds: float
) -> TrackedComplaint:
    """A closed case's reopen deadline, from the case's own recorded policy."""
    if row.status is not ComplaintStatus.CLOSED or row.closed_at is None:
        return found
    policy = await recorded_policy(client, row.workflow_id, rpc_seconds=rpc_seconds)
    if policy is None:
        return found
    return found.model_copy(
        update={
            "reopen_until": to_ist(row.closed_at + policy.reopen_window),
            "reopen_days": policy.reopen_window.days,
        }
    )


def _find(engine: Engine, year: int, sequence: int, phone: str) -> Complaint | None:
    # Numbers beyond a database integer name no case (binding them would fail in the driver).
    if not (0 <= year < _DB_INTEGER and 0 <= sequence < _DB_INTEGER):
        return None
    with read_session(engine) as session:
        # One query for both refusals, so that they cost the same.
        return session.exec(
            select(Complaint).where(
                Complaint.year == year,
                Complaint.sequence == sequence,
                Complaint.citizen_phone == phone,
            )
        ).first()


def look_up_case(
    engine: Engine, settings: Settings, *, year: int, sequence: int, phone: str, client: str
) -> Complaint:
    """The rate-limited look-up: 429 (`RateLimited`) before anything is read when the client
    or the number is blocked; a failed look-up counts against both."""
    now = utcnow()
    window = Window(settings.track_window_seconds)
    number = f"{sequence}/{year}"
    helpline = (("helpline", settings.helpline_number),)
    client_failures = Counter(
        f"track:fail:client:{client}",
        settings.track_failures_per_client,
        "track_client_failures",
        params=helpline,
    )
    number_failures = Counter(
        f"track:fail:number:{number}"[:120],
        settings.track_failures_per_number,
        "track_number_failures",
        field="registration_number",
        params=helpline,
    )
    refuse_if_blocked(engine, [client_failures, number_failures], window, now=now)
    if hit(engine, f"track:client:{client}", window, now=now) > settings.track_requests_per_client:
        raise RateLimited("track_too_many", retry_after=window.retry_after(now), field="client")
    row = _find(engine, year, sequence, phone)
    if row is None:
        hit(engine, client_failures.key, window, now=now)
        hit(engine, number_failures.key, window, now=now)
        raise refused(404, "track_not_found", helpline=settings.helpline_number)
    return row


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
