"""The IVR calls' rows (`core.models.IvrCall`): what the voice webhooks read and write, each
change made once whatever Twilio redelivers (a conditional UPDATE decides who acts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import read_session, write_session
from core.models import Complaint, IvrCall, utcnow


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
    with write_session(engine) as session:
        session.execute(update(IvrCall).where(col(IvrCall.key) == key).values(audit=True))
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
