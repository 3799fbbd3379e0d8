"""Small factories for test data (no fixture files)."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.auth import create_user
from core.models import Complaint, utcnow
from schemas.auth import Role
from schemas.enums import Channel, ComplaintKind, ComplaintStatus

T = TypeVar("T")

_BASE: dict[str, Any] = {
    "kind": "complaint",
    "channel": "call_centre",
    "citizen": {
        "name": "Ramesh Mahto",
        "phone": "9876543210",
        "address": "Village Barwadih, Block Kanke",
        "district": "Ranchi",
        "pincode": "834006",
        "language": "hi",
    },
    "category": "sanitation",
    "department": None,
    "description": "गाँव में कुछ लोगों को शौचालय मिला, मुझे अभी तक नहीं मिला।",
    "urgent": False,
    "wishes_to_meet_cm": False,
}


def complaint_body(**overrides: Any) -> dict[str, Any]:
    """A valid complaint body; `citizen__phone="..."` overrides a citizen field."""
    body = copy.deepcopy(_BASE)
    for key, value in overrides.items():
        if key.startswith("citizen__"):
            body["citizen"][key.removeprefix("citizen__")] = value
        else:
            body[key] = value
    return body


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], *, within: float = 20.0
) -> T:
    """Poll `probe` until `check` holds: waiting for asynchronous work, never for timers."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
        await asyncio.sleep(0.1)


def auth_headers(
    engine: Engine, *roles: Role, district: str | None = None, department: str | None = None
) -> dict[str, str]:
    """`Authorization` for a new user (unique name) holding `roles`; officers without a
    district or department are state-wide."""
    name = "-".join([uuid.uuid4().hex[:8], *(r.value for r in roles)])[:100]
    _user, token = create_user(
        engine, name=name, roles=list(roles), district=district, department=department
    )
    return {"Authorization": f"Bearer {token}"}


def named_headers(
    engine: Engine, name: str, *roles: Role, district: str | None = None
) -> dict[str, str]:
    """`Authorization` for a new user called `name` (the actor the tests expect to see)."""
    _user, token = create_user(engine, name=name, roles=list(roles), district=district)
    return {"Authorization": f"Bearer {token}"}


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves (HEAD goes with GET), included
    routers' routes with their prefixes."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if route.path is not None and method != "HEAD":
                found.add((method, route.path))
    return found


def insert_case(
    engine: Engine,
    *,
    district: str,
    department: str | None = None,
    urgent: bool = False,
    assigned_officer_id: str | None = None,
) -> Complaint:
    """A case in the read model only (its workflow never started): actions on it answer 409
    once they are past authorisation and scope."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        year = now.year
        sequence = 10_000 + uuid.uuid4().int % 1_000_000_000
        row = Complaint(
            year=year,
            sequence=sequence,
            registration_number=f"{sequence}/{year}",
            workflow_id=f"authz-complaint-{year}-{sequence}",
            kind=ComplaintKind.COMPLAINT,
            channel=Channel.CALL_CENTRE,
            citizen_name="Sita Devi",
            citizen_phone="+919876500000",
            citizen_address="Ward 4",
            district=district,
            language="hi",
            category="police" if department == "police" else "sanitation",
            department=department,
            description="test case",
            urgent=urgent,
            status=ComplaintStatus.AWAITING_REPORT,
            assigned_officer_id=assigned_officer_id,
            request_fingerprint="authz",
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.commit()
        return row
