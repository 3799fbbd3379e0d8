"""One message through a gateway, at most once per key: the row committed `pending` before
the gateway is called, a retry that finds it pending asking the gateway first, a receipt that
overtook the send never moved backwards. Shared by every message the system sends (SMS,
WhatsApp, review notices): `activities.sms`, `activities.whatsapp`, `activities.review`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from activities.case import UNSENT
from activities.gateway import OutgoingSms, PermanentSmsError, SentSms, SmsGateway
from activities.templates import segments
from core.models import Message, utcnow
from schemas.delivery import STATUS_RANK
from schemas.enums import Language, MessageStatus, RecipientKind


def new_message(
    *,
    key: str,
    complaint_id: int | None,
    template: str,
    recipient_kind: RecipientKind,
    to: str,
    language: Language,
    body: str,
    provider: str,
) -> Message:
    """A message row, not yet stored, in the `pending` state."""
    now = utcnow()
    return Message(
        key=key,
        complaint_id=complaint_id,
        template=template,
        recipient_kind=recipient_kind,
        recipient=to,
        language=language,
        text=body,
        segments=segments(body),
        status=MessageStatus.PENDING,
        provider=provider,
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class Delivery:
    status: MessageStatus
    duplicate: bool  # True: this call sent nothing (already sent, or found sent)


def deliver_once(
    session: Session,
    gateway: SmsGateway,
    message: Message,
    sms: OutgoingSms,
    *,
    redelivery: bool = False,
) -> Delivery:
    """Send `sms` at most once per `message.key`, for every SMS of the system.

    The row is committed `pending` before the gateway is called. A retry that finds the row
    past `pending` sends nothing; one that finds it `pending` (a crash after the hand-over)
    asks the gateway before sending again. A permanent refusal is recorded on the row and
    raised as `PermanentSmsError` for the caller to classify. With `redelivery`, a row that an
    earlier round gave up on (failed as UNSENT, never handed over) counts as `pending` again,
    so it too is asked about before it is sent.
    """
    existing = session.exec(select(Message).where(Message.key == message.key)).first()
    if (
        redelivery
        and existing is not None
        and existing.status is MessageStatus.FAILED
        and existing.provider_sid is None
        and (existing.error or "").startswith(UNSENT)
    ):
        existing.status = MessageStatus.PENDING
        existing.updated_at = utcnow()
        session.add(existing)
    if existing is not None and existing.status is not MessageStatus.PENDING:
        return Delivery(status=existing.status, duplicate=True)
    if existing is None:
        session.add(message)
        try:
            session.commit()
        except IntegrityError:  # a concurrent attempt recorded it first
            session.rollback()
            return Delivery(status=MessageStatus.PENDING, duplicate=True)
    else:
        message = existing
        # The text as first recorded, not as re-rendered now.
        sms = OutgoingSms(
            key=message.key,
            to=message.recipient,
            body=message.text,
            dlt_template_id=sms.dlt_template_id,
        )
        session.commit()  # no transaction (nor SQLite's write lock) held while asking
        found = gateway.find_sent(sms, since=message.created_at - timedelta(minutes=1))
        if found is not None and not _claimed(session, message, found):
            return _finish(session, message, found, duplicate=True)
    try:
        sent = gateway.send(sms)
    except PermanentSmsError as err:
        message.status = MessageStatus.FAILED
        message.error = str(err)
        message.updated_at = utcnow()
        session.add(message)
        session.commit()
        raise
    return _finish(session, message, sent, duplicate=False)


def _claimed(session: Session, message: Message, found: SentSms) -> bool:
    """Whether the provider's message is already another row's (an identical text sent
    earlier, e.g. the same reminder twice): then it is not the trace of this one."""
    if found.provider_sid is None:
        return False
    other = session.exec(
        select(Message.id).where(
            Message.provider_sid == found.provider_sid, Message.id != message.id
        )
    ).first()
    return other is not None


def _finish(session: Session, message: Message, sent: SentSms, *, duplicate: bool) -> Delivery:
    now = utcnow()
    # A delivery receipt may have overtaken this write: never move a status backwards.
    session.refresh(message)
    if STATUS_RANK[sent.status] > STATUS_RANK[message.status]:
        message.status = sent.status
    message.provider_sid = sent.provider_sid
    message.sent_at = now if sent.status is not MessageStatus.OUTBOX else None
    message.updated_at = now
    session.add(message)
    session.commit()
    return Delivery(status=message.status, duplicate=duplicate)
