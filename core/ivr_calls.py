"""The IVR calls' rows (`core.models.IvrCall`): what the voice webhooks read and write, each
change made once whatever Twilio redelivers (a conditional UPDATE decides who acts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core import verifications
from core.db import read_session, write_session
from core.models import Complaint, IvrCall, utcnow
from schemas.voice import IvrCheckItem, IvrSummary


@dataclass(frozen=True)
class CallView:
    """A call and what the webhooks need of its case."""

    key: str
    registration_number: str
    call_sid: str | None
    digits: str | None
    recording_url: str | None
    workflow_id: str | None
    language: str
    category: str | None
    last_reply: str | None
    complaint_id: int | None = None


def find_call(engine: Engine, key: str) -> CallView | None:
    with read_session(engine) as session:
        row = session.exec(select(IvrCall).where(IvrCall.key == key)).first()
        if row is None:
            return None
        case = session.exec(
            select(Complaint).where(Complaint.registration_number == row.registration_number)
        ).first()
        return CallView(
            key=row.key,
            registration_number=row.registration_number,
            call_sid=row.call_sid,
            digits=row.digits,
            recording_url=row.recording_url,
            workflow_id=case.workflow_id if case else None,
            language=case.language if case else "en",
            category=case.category if case else None,
            last_reply=case.last_reply if case else None,
            complaint_id=case.id if case else None,
        )


def note_digits(engine: Engine, key: str, call_sid: str, digits: str) -> str:
    """The key the citizen pressed, if none is recorded yet (a redelivery, or another key
    pressed later, changes nothing); the call's key in effect."""
    with write_session(engine) as session:
        session.execute(
            update(IvrCall)
            .where(col(IvrCall.key) == key, col(IvrCall.digits).is_(None))
            .values(digits=digits, call_sid=call_sid, updated_at=utcnow())
        )
        session.commit()
        row = session.exec(select(IvrCall).where(IvrCall.key == key)).one()
        return row.digits or digits


def claim(engine: Engine, key: str, column: str, **values: object) -> bool:
    """Set `column` (`acted_at`, `signalled_at`) now, with `values`, if it was unset: True for
    the one request that gets to act on it."""
    target = getattr(IvrCall, column)
    with write_session(engine) as session:
        changed = session.execute(
            update(IvrCall)
            .where(col(IvrCall.key) == key, col(target).is_(None))
            .values({column: utcnow(), "updated_at": utcnow(), **values})
        )
        session.commit()
        return bool(changed.rowcount)  # type: ignore[attr-defined]


def set_audit(engine: Engine, key: str) -> None:
    """The call's "solved" is due a person's check, if the case's own policy sampled the call
    when it was placed (`IvrCall.sampled`)."""
    with write_session(engine) as session:
        session.execute(
            update(IvrCall)
            .where(col(IvrCall.key) == key, col(IvrCall.sampled).is_(True))
            .values(audit=True)
        )
        session.commit()


def keep_recording(engine: Engine, key: str, recording_url: str) -> None:
    """The spoken remark's recording, kept as a reference (the first one only)."""
    with write_session(engine) as session:
        session.execute(
            update(IvrCall)
            .where(col(IvrCall.key) == key, col(IvrCall.recording_url).is_(None))
            .values(recording_url=recording_url, updated_at=utcnow())
        )
        session.commit()


def ivr_summaries(session: Session, registration_numbers: list[str]) -> dict[str, IvrSummary]:
    """The IVR calls of these cases (one page of a work list: bounded), by case."""
    if not registration_numbers:
        return {}
    rows = session.exec(
        select(IvrCall)
        .where(col(IvrCall.registration_number).in_(registration_numbers))
        .order_by(col(IvrCall.registration_number), col(IvrCall.created_at), col(IvrCall.id))
    ).all()
    out: dict[str, IvrSummary] = {}
    for row in rows:
        before = out.get(row.registration_number)
        out[row.registration_number] = IvrSummary(
            calls=(before.calls if before else 0) + (1 if row.call_sid else 0),
            last_result=row.result or (row.status if row.call_sid else None),
            last_call_sid=row.call_sid,
            last_at=row.updated_at,
        )
    return out


def checks_due(session: Session, *, limit: int, offset: int) -> tuple[list[IvrCheckItem], int]:
    """Sampled machine closures no person has checked yet, oldest first (paged in the
    database), and how many there are in all."""
    base = select(IvrCall, Complaint).where(
        IvrCall.registration_number == Complaint.registration_number,
        col(IvrCall.audit).is_(True),
        col(IvrCall.checked_at).is_(None),
    )
    total = session.exec(
        select(func.count())
        .select_from(IvrCall)
        .where(col(IvrCall.audit).is_(True), col(IvrCall.checked_at).is_(None))
    ).one()
    rows = session.exec(
        base.order_by(col(IvrCall.updated_at), col(IvrCall.id)).offset(offset).limit(limit)
    ).all()
    items = [
        IvrCheckItem(
            registration_number=call.registration_number,
            call_sid=call.call_sid,
            closed_at=call.acted_at or call.updated_at,
            citizen_name=row.citizen_name,
            citizen_phone=row.citizen_phone,
            language=row.language,
        )
        for call, row in rows
    ]
    return items, int(total)


def record_check(
    engine: Engine, registration_number: str, *, agrees: bool, checked_by: str
) -> bool:
    """A person's check of the sampled closure of this case (also on its verification, for
    the dashboard's disagreement rate): False when none is due."""
    with write_session(engine) as session:
        now = utcnow()
        changed = session.execute(
            update(IvrCall)
            .where(
                col(IvrCall.registration_number) == registration_number,
                col(IvrCall.audit).is_(True),
                col(IvrCall.checked_at).is_(None),
            )
            .values(checked_at=now, checked_by=checked_by, check_agrees=agrees, updated_at=now)
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            return False
        complaint_id = session.exec(
            select(Complaint.id).where(Complaint.registration_number == registration_number)
        ).one()
        assert complaint_id is not None
        verifications.record_check(session, complaint_id, agrees=agrees, now=now)
        session.commit()
        return True
