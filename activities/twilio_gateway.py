"""`TwilioGateway`: the production SMS gateway, through the `twilio` library's Messages API.

Errors are classified once, here: a refusal that no retry can fix (invalid or non-mobile number,
blocked destination) becomes `PermanentSmsError`, which the `send_sms` activity turns into a
non-retryable failure; everything else (429 rate limiting, 5xx, network errors, a lost
response) propagates as an ordinary exception so that Temporal retries it with backoff.

India's DLT rules: the Messages API has no field for the DLT entity or template ID. Twilio
matches each message's body against the templates registered with its Sender ID team together
with the entity ID (see `activities.templates.dlt_sheet`), so the body sent here is exactly the
rendered template, and the IDs are logged with every send for the audit trail.
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from activities.gateway import OutgoingSms, PermanentSmsError, SentSms, SmsGateway
from core.settings import Settings
from schemas.delivery import message_status
from schemas.enums import MessageStatus

log = logging.getLogger(__name__)

# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
PERMANENT_ERROR_CODES = frozenset(
    {
        21211,  # invalid 'To' phone number
        21212,  # invalid 'From' number (configuration: retrying cannot fix it either)
        21408,  # permission to send to this region not enabled
        21610,  # recipient unsubscribed (STOP)
        21612,  # cannot route to this number
        21614,  # 'To' is not a mobile number
        21617,  # body exceeds the 1600-character limit
        30003,  # unreachable destination handset
        30004,  # message blocked
        30005,  # unknown destination handset
        30006,  # landline or unreachable carrier
    }
)


def status_callback_url(settings: Settings, key: str) -> str:
    """The delivery-receipt URL of one message: the message key identifies it, so a receipt
    finds its message even before the activity has stored Twilio's SID."""
    return f"{settings.public_base_url.rstrip('/')}/v1/twilio/status?{urlencode({'key': key})}"


class TwilioGateway(SmsGateway):
    """Sends through Twilio's Messages API (messaging service SID or sender number)."""

    name = "twilio"

    def __init__(self, settings: Settings, *, http_client: HttpClient | None = None) -> None:
        self._settings = settings
        # No retries inside the library: Temporal retries the activity with backoff, and a
        # hidden library retry of a POST would be a duplicate SMS.
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=http_client or TwilioHttpClient(timeout=15),
        )

    @property
    def client(self) -> Client:
        """The account's client, which WhatsApp shares (activities/whatsapp.py)."""
        return self._client

    def send(self, sms: OutgoingSms) -> SentSms:
        """Create the message; `PermanentSmsError` for a refusal that no retry can fix."""
        sender: dict[str, str] = (
            {"messaging_service_sid": self._settings.twilio_messaging_service_sid}
            if self._settings.twilio_messaging_service_sid
            else {"from_": self._settings.twilio_from_number}
        )
        try:
            message = self._client.messages.create(
                to=sms.to,
                body=sms.body,
                status_callback=status_callback_url(self._settings, sms.key),
                **sender,
            )
        except TwilioRestException as err:
            if err.code in PERMANENT_ERROR_CODES:
                raise PermanentSmsError(f"Twilio error {err.code}: {err.msg}") from err
            raise  # 429, 5xx and anything unknown: retried by Temporal with backoff
        log.info(
            "SMS %s handed to Twilio as %s (DLT entity %s, template %s)",
            sms.key,
            message.sid,
            self._settings.twilio_dlt_entity_id or "-",
            sms.dlt_template_id or "-",
        )
        return SentSms(
            status=message_status(message.status) or MessageStatus.QUEUED,
            provider_sid=message.sid,
        )

    def find_sent(self, sms: OutgoingSms, since: datetime) -> SentSms | None:
        """Twilio's most recent message to this number with this very body, created since
        `since`: the trace of a send whose response was lost."""
        return sent_trace(self._client, sms.to, sms.body, since)


def sent_trace(client: Client, to: str, body: str, since: datetime) -> SentSms | None:
    """Twilio's most recent message to `to` (a number, or a `whatsapp:` address) with this
    very `body`, created since `since`; None if there is none among the latest 50."""
    for message in client.messages.list(to=to, limit=50):
        created = message.date_created
        if message.body == body and (created is None or created >= since):
            return SentSms(
                status=message_status(message.status) or MessageStatus.QUEUED,
                provider_sid=message.sid,
            )
    return None
