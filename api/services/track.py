"""A citizen's own case, by its number and the phone registered on it: the rate-limited
look-up (a wrong phone and an unknown number refused alike), the public fields of a case, and
a closed case's reopen window. Read by `/v1/track`, the citizen's page, the SMS `STATUS` reply
and Open311.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import Client

from api.case_policy import recorded_policy
from api.errors import refused
from api.ratelimit import Counter, RateLimited, Window, hit, refuse_if_blocked
from api.services.views import ist
from core.db import read_session
from core.models import Complaint, utcnow
from core.settings import Settings
from schemas.calendar import to_ist
from schemas.enums import ComplaintStatus, is_open, on_agenda
from schemas.policy import Policy
from schemas.tracking import TrackedComplaint, status_labels

_DB_INTEGER = 2**31


# Where the department's latest reply is also its current answer: awaiting the citizen's
# verification, or closed. Elsewhere it was rejected ("not satisfied", a reopening) or
# overtaken (a review's agenda, a transfer): the page still shows it as the latest answer, an
# SMS does not give it as the answer.
ANSWERED_STATUSES = frozenset({ComplaintStatus.AWAITING_CALLBACK, ComplaintStatus.CLOSED})


def tracked(row: Complaint) -> TrackedComplaint:
    """The public fields of a case, and nothing else (times in IST)."""
    next_deadline: datetime | None = None
    if on_agenda(row.status):
        next_deadline = row.review_date or row.next_deadline  # the meeting that takes it up
    elif is_open(row.status):
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
    client: Client,
    row: Complaint,
    found: TrackedComplaint,
    *,
    rpc_seconds: float,
    policy: Policy | None = None,
) -> TrackedComplaint:
    """A closed case's reopen deadline, from the case's own recorded policy (`policy` when
    the caller has read it already)."""
    if row.status is not ComplaintStatus.CLOSED or row.closed_at is None:
        return found
    if policy is None:
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
