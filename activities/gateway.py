"""The SMS gateway's protocol: what the `send_sms` activity hands a gateway (`OutgoingSms`),
what it gets back (`SentSms`), the one refusal no retry can fix (`PermanentSmsError`), and the
interface every gateway implements (the outbox and the withheld gateway in `activities.sms`,
Twilio in `activities.twilio_gateway`). Both sides import this module; neither imports the
other's types from the other.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime

from schemas.enums import MessageStatus


@dataclass(frozen=True)
class OutgoingSms:
    key: str
    to: str
    body: str
    dlt_template_id: str


@dataclass(frozen=True)
class SentSms:
    status: MessageStatus
    provider_sid: str | None = None


class PermanentSmsError(Exception):
    """The gateway refused the message for good (invalid number, not a mobile, blocked)."""


class SmsGateway(abc.ABC):
    name: str

    @abc.abstractmethod
    def send(self, sms: OutgoingSms) -> SentSms:
        """Hand the message over; raise PermanentSmsError when it can never be delivered."""

    def find_sent(self, sms: OutgoingSms, since: datetime) -> SentSms | None:
        """A message with this body already sent to this number since `since`, if the
        provider can tell (used to avoid a second send after a crash)."""
        return None
