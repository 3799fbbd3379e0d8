"""A citizen's choice about SMS: `STOP` and `START`, by phone, durable in the read model.

A citizen who sends STOP (UNSUBSCRIBE, बंद...) gets no SMS from the centre any more except
those that carry a decision on their own open cases (a department's report, a review's
directive, a closure, a reopening...): those they need to act on, and the law that lets them
opt out of promotional messages does not cover a government's answer to their own grievance.
START takes them back. The reply to their own command is always sent (it is the answer to
what they sent). The choice is per phone, not per case: it holds for cases registered later.

Written by the inbound SMS webhook (`api/routes/twilio.py`, once per Twilio MessageSid) and
read by the SMS activity before every citizen SMS (`activities/sms.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.db import write_session
from core.models import SmsChoice


def record_choice(
    engine: Engine, phone: str, *, opted_out: bool, at: datetime, message_sid: str | None
) -> None:
    """Record `phone`'s last word (`opted_out` after STOP, not after START)."""
    for attempt in (1, 2):
        with write_session(engine) as session:
            row = session.get(SmsChoice, phone)
            if row is None:
                row = SmsChoice(phone=phone, opted_out=opted_out, changed_at=at)
            row.opted_out = opted_out
            row.changed_at = at
            row.message_sid = message_sid[:64] if message_sid else None
            session.add(row)
            try:
                session.commit()
                return
            except IntegrityError:  # another word from this phone inserted its row first
                session.rollback()
                if attempt == 2:
                    raise


def opted_out(session: Session, phone: str) -> bool:
    """Whether `phone` has said STOP (and not START since)."""
    row = session.get(SmsChoice, phone)
    return row is not None and row.opted_out
