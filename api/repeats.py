"""Repeat calls: a citizen who calls again about an open case is linked to it, not registered
twice.

At registration the phone's open cases registered within the policy's
`repeat_contact_window` are looked at (from the phone's index: a handful of rows), and those
on the same subject and district, or in very similar words, are offered as possible
duplicates. Linking (`link_to`) executes the case's `record_contact` update: a timeline entry,
the repeat count in the read model, the case's number sent to the citizen again; no second
case, no second workflow. An Idempotency-Key makes a retried link one contact.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.actions import CaseAction
from api.errors import ApiError
from core.db import read_session
from core.models import Complaint
from core.permissions import LINKERS
from core.readmodel import open_cases
from schemas.auth import Principal
from schemas.complaint import ComplaintCreate
from schemas.workflow import ActionResult, RepeatContact
from workflows.complaint import ComplaintWorkflow

# Words that carry a complaint's meaning: letters and Devanagari signs, 3 or more long.
_WORD = re.compile(r"[\w\u0900-\u0963\u0966-\u097F]{3,}")
# Two texts are "very similar" when this share of their words is common to both (Jaccard).
SIMILAR_WORDS = 0.6
_CANDIDATES = 50


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text) if not w.isdigit()}


def similar_text(one: str, other: str) -> bool:
    """Whether two complaints say very much the same (most of their words in common)."""
    a, b = _words(one), _words(other)
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= SIMILAR_WORDS


def possible_duplicates(
    session: Session,
    body: ComplaintCreate,
    *,
    now: datetime,
    window: timedelta,
    besides: int | None = None,
) -> list[Complaint]:
    """The phone's open cases registered within `window` before `now` that look like `body`
    (the same subject and district, or very similar words), newest first; `besides` (a case's
    id) left out."""
    query = select(Complaint).where(
        col(Complaint.citizen_phone) == body.citizen.phone,
        col(Complaint.created_at) >= now - window,
        open_cases(),
    )
    if besides is not None:
        query = query.where(col(Complaint.id) != besides)
    rows = session.exec(
        query.order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc()).limit(
            _CANDIDATES
        )
    ).all()
    return [
        row
        for row in rows
        if (
            body.category is not None
            and row.category == body.category
            and body.citizen.district in (row.district, row.citizen_district)
        )
        or similar_text(row.description, body.description)
    ]


def _no_case_to_link(link_to: str) -> ApiError:
    # The same answer for a missing case and another phone's: a number tried does not
    # confirm that someone else's case exists.
    message = f"no open case {link_to} from this phone number"
    return ApiError(422, f"link_to: {message}", errors=[{"field": "link_to", "message": message}])


def case_to_link(engine: Engine, body: ComplaintCreate, link_to: str) -> Complaint:
    """The case `link_to` names, if it is the same phone's (422 naming `link_to` otherwise)."""
    sequence, year = (int(part) for part in link_to.split("/"))
    with read_session(engine) as session:
        row = session.exec(
            select(Complaint).where(
                Complaint.year == year,
                Complaint.sequence == sequence,
                Complaint.citizen_phone == body.citizen.phone,
            )
        ).first()
    if row is None or not (0 < year < 2**31 and 0 < sequence < 2**31):
        raise _no_case_to_link(link_to)
    return row


async def link_contact(
    act: CaseAction, row: Complaint, body: ComplaintCreate, *, via: str
) -> ActionResult:
    """Record the call on `row`'s case through its workflow (409 when the case is closed:
    register a new complaint or reopen it)."""
    return await act.execute(
        ComplaintWorkflow.record_contact,
        RepeatContact(note=body.description, via=via, recorded_by=act.actor),
        row=row,
    )


def linking_action(
    row: Complaint,
    *,
    principal: Principal,
    session: Session,
    app: object,
    idempotency_key: str | None,
) -> CaseAction:
    """The `CaseAction` of linking a call to `row` (its update ID from the caller's key)."""
    return CaseAction(
        row.year,
        row.sequence,
        principal=principal,
        admitted=LINKERS,
        session=session,
        app=app,  # type: ignore[arg-type]
        idempotency_key=idempotency_key,
    )
