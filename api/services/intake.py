"""Registering a complaint: registration number, idempotency, the outbox row.

The row (with its registration number) is committed before the workflow is started. The
registration counter is bumped in the same transaction as the insert, so numbers are gap-free:
a failed insert rolls the counter back with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from api.ratelimit import LimitOverride, check_phone_limit
from core.db import write_session
from core.models import Complaint, RegistrationCounter
from schemas.calendar import IST
from schemas.complaint import ComplaintCreate
from schemas.enums import ComplaintStatus
from schemas.reference import CATEGORY_BY_CODE
from schemas.workflow import workflow_id_for

_MAX_ATTEMPTS = 8


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


def fingerprint(body: ComplaintCreate) -> str:
    """A hash of the normalised request: equal after normalisation means the same request."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def _by_key(session: Session, key: str) -> Complaint | None:
    return session.exec(select(Complaint).where(Complaint.idempotency_key == key)).first()


@dataclass(frozen=True)
class RecentDuplicates:
    """Answer an identical request from the same client registered since `since` instead of
    registering a second complaint: for clients that re-send a post without a key (Open311).
    The client's complaints are those whose stored idempotency key begins with `key_prefix`."""

    key_prefix: str
    since: datetime


def _recent_duplicate(session: Session, recent: RecentDuplicates, digest: str) -> Complaint | None:
    return session.exec(
        select(Complaint)
        .where(
            col(Complaint.idempotency_key).startswith(recent.key_prefix, autoescape=True),
            Complaint.request_fingerprint == digest,
            col(Complaint.created_at) >= recent.since,
        )
        .order_by(col(Complaint.created_at).asc(), col(Complaint.id).asc())
    ).first()


def _next_sequence(session: Session, year: int) -> int:
    bump: Any = (
        sa.update(RegistrationCounter)
        .where(RegistrationCounter.year == year)  # type: ignore[arg-type]
        .values(last_sequence=RegistrationCounter.last_sequence + 1)
        .returning(sa.column("last_sequence"))
    )
    sequence = session.execute(bump).scalar_one_or_none()
    if sequence is None:  # first complaint of the year (a racing insert retries the txn)
        session.add(RegistrationCounter(year=year, last_sequence=1))
        session.flush()
        sequence = 1
    return int(sequence)


def _routed_department(body: ComplaintCreate) -> str | None:
    """The department the case is routed to: as given, or for an urgent case the one its
    category names (urgent cases go straight to the department's officers, not via the
    district). None: the district's nodal officer."""
    if body.department is None and body.is_urgent and body.category:
        return CATEGORY_BY_CODE[body.category].department
    return body.department


def _department(body: ComplaintCreate) -> str | None:
    """The department concerned: the routed one, else the one the category names."""
    routed = _routed_department(body)
    if routed is None and body.category:
        return CATEGORY_BY_CODE[body.category].department
    return routed


def register_complaint(
    engine: Engine,
    body: ComplaintCreate,
    *,
    idempotency_key: str | None,
    now: datetime,
    workflow_id_prefix: str = "",
    phone_daily_limit: int = 0,
    limit_override: LimitOverride | None = None,
    registered_by: str | None = None,
    recent_duplicates: RecentDuplicates | None = None,
) -> tuple[Complaint, bool]:
    """The stored complaint and whether this call created it (False: an idempotent replay).

    Beyond `phone_daily_limit` complaints from the citizen's phone this IST day (0: none),
    raises `api.ratelimit.PhoneLimitReached`, unless `limit_override` (recorded on the case).
    An idempotent replay is never refused; with `recent_duplicates`, neither is a re-sent
    identical request, which answers the first one."""
    digest = fingerprint(body)
    attempt = 0
    while True:
        attempt += 1
        with write_session(engine) as session:  # BEGIN IMMEDIATE on SQLite: numbers queue
            try:
                if idempotency_key:
                    existing = _by_key(session, idempotency_key)
                    if existing is not None:
                        if existing.request_fingerprint != digest:
                            raise IdempotencyConflict(idempotency_key)
                        return existing, False
                year = now.astimezone(IST).year
                sequence = _next_sequence(session, year)
                if recent_duplicates is not None:
                    # Looked for after the counter bump, which serialises registrations: two
                    # identical posts racing each other cannot both miss the other. Returning
                    # without a commit rolls the bump back (numbers stay gap-free).
                    earlier = _recent_duplicate(session, recent_duplicates, digest)
                    if earlier is not None:
                        return earlier, False
                # Counted after the counter bump, which serialises registrations.
                override_event = check_phone_limit(
                    session,
                    body.citizen.phone,
                    now=now,
                    limit=phone_daily_limit,
                    override=limit_override,
                )
                registration_number = f"{sequence}/{year}"
                citizen = body.citizen
                complaint = Complaint(
                    year=year,
                    sequence=sequence,
                    registration_number=registration_number,
                    workflow_id=workflow_id_for(registration_number, workflow_id_prefix),
                    kind=body.kind,
                    channel=body.channel,
                    citizen_name=citizen.name,
                    citizen_phone=citizen.phone,
                    citizen_address=citizen.address,
                    district=citizen.district,
                    citizen_district=citizen.district,
                    pincode=citizen.pincode,
                    language=citizen.language,
                    category=body.category,
                    department=_department(body),
                    department_requested=_routed_department(body),
                    description=body.description,
                    urgent=body.is_urgent,
                    wishes_to_meet_cm=body.wishes_to_meet_cm,
                    status=ComplaintStatus.REGISTERED,
                    idempotency_key=idempotency_key,
                    registered_by=registered_by,
                    request_fingerprint=digest,
                    created_at=now,
                    updated_at=now,
                )
                session.add(complaint)
                if override_event is not None:
                    session.flush()
                    assert complaint.id is not None
                    override_event.complaint_id = complaint.id
                    session.add(override_event)
                session.commit()
                return complaint, True
            except (IntegrityError, OperationalError):
                # A concurrent request with the same key, or the first of a new year, won the
                # race; or SQLite was busy. Nothing was written: try again from the top.
                session.rollback()
                if attempt == _MAX_ATTEMPTS:
                    raise
