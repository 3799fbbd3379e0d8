"""What an SMS's delivery status means: how far along a message is, which statuses are final,
and a gateway's (Twilio's) statuses onto ours."""

from __future__ import annotations

from schemas.enums import MessageStatus

# How far along a message is: a receipt only ever moves a message forward, so a duplicate or
# a late (out-of-order) receipt changes nothing.
STATUS_RANK: dict[MessageStatus, int] = {
    MessageStatus.PENDING: 0,
    MessageStatus.OUTBOX: 1,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
}
FINAL_STATUSES = frozenset(
    {MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED}
)

# Twilio's message statuses onto ours: what matters is handed over / sent / final outcome.
TWILIO_STATUS = {
    "accepted": MessageStatus.QUEUED,
    "scheduled": MessageStatus.QUEUED,
    "queued": MessageStatus.QUEUED,
    "sending": MessageStatus.QUEUED,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


def message_status(twilio_status: str | None) -> MessageStatus | None:
    """Our status for one of Twilio's (None for statuses of inbound messages or unknown ones)."""
    return TWILIO_STATUS.get((twilio_status or "").lower())
