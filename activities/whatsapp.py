"""WhatsApp sending: the same gateway (Twilio's Messages API, the same account), queue, keys
and receipts as SMS; the channel chosen at send time from the citizen's stored preference
(`core/whatsapp.py`), so the case's workflow asks for "an SMS" and never knows which channel
carried it.

For a citizen's message, with preference
- `sms` (or none, or WhatsApp off: no TWILIO_WHATSAPP_FROM): SMS only, as before;
- `whatsapp`: WhatsApp only, under the message's own key; when WhatsApp cannot take it (outside
  the 24-hour window with no approved template for the text, or refused for good at once) or
  fails for good later (a `failed`/`undelivered` receipt, `WhatsAppFallbackWorkflow`), the same
  text goes by SMS under `<key>:sms`: once, whatever the redeliveries, and recorded (the
  WhatsApp row's `error` names it, the case's messages show both);
- `both`: the SMS under the message's key, and the same text by WhatsApp under `<key>:wa`.

Inside the window the text is sent as it is (`Body`); outside it, as its approved template
(`ContentSid` + `ContentVariables`, WHATSAPP_TEMPLATES_FILE): Twilio refuses a template sent as
free text there (error 63016). Officers are written to by SMS only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from activities.delivery import Delivery, deliver_once, new_message
from activities.gateway import OutgoingSms, PermanentSmsError, SentSms, SmsGateway
from activities.templates import reply, segments, template_for
from activities.twilio_gateway import PERMANENT_ERROR_CODES, sent_trace, status_callback_url
from core import whatsapp
from core.db import write_session
from core.models import Complaint, Message, utcnow
from core.settings import Settings
from schemas.delivery import message_status
from schemas.enums import ChannelPreference, MessageStatus, RecipientKind
from schemas.workflow import SmsTemplate

log = logging.getLogger(__name__)

SMS, WHATSAPP = "sms", "whatsapp"
FALLBACK_SUFFIX = ":sms"  # the SMS that stands in for a WhatsApp message that failed
ALSO_SUFFIX = ":wa"  # the WhatsApp copy of an SMS (preference `both`)
VERIFY_SUFFIX = ":verify"  # the "solved? 1 / 2" question after a report, on WhatsApp

# Twilio's WhatsApp refusals that no retry can fix, besides the SMS ones.
PERMANENT_WHATSAPP_CODES = frozenset(
    {
        63003,  # the number is not on WhatsApp (channel could not find the To address)
        63016,  # free text outside the 24-hour window (a template is needed)
        63024,  # invalid message recipient
        63032,  # the user's Meta marketing opt-out
    }
)


def whatsapp_on(settings: Settings) -> bool:
    """Whether WhatsApp is configured (the centre's WhatsApp sender)."""
    return bool(settings.twilio_whatsapp_from)


class WhatsAppSender(SmsGateway):
    """Sends one message by WhatsApp: its body inside the window, else its approved template.
    Without a Twilio client (no credentials: `make run`) it keeps it in the outbox, unsent."""

    def __init__(
        self,
        client: Client | None,
        settings: Settings,
        content: whatsapp.ContentTemplate | None,
        params: dict[str, str],
    ) -> None:
        self._client = client
        self._settings = settings
        self._content = content
        self._params = params
        self.name = "twilio" if client is not None else "outbox"

    def send(self, sms: OutgoingSms) -> SentSms:
        if self._client is None:
            log.info("WhatsApp %s NOT SENT (outbox, no gateway configured)", sms.key)
            return SentSms(status=MessageStatus.OUTBOX)
        what: dict[str, str] = (
            {
                "content_sid": self._content.sid,
                "content_variables": self._content.content_variables(self._params),
            }
            if self._content is not None
            else {"body": sms.body}
        )
        try:
            message = self._client.messages.create(
                to=whatsapp.address(sms.to),
                from_=whatsapp.address(self._settings.twilio_whatsapp_from),
                status_callback=status_callback_url(self._settings, sms.key),
                **what,
            )
        except TwilioRestException as err:
            if err.code in PERMANENT_ERROR_CODES | PERMANENT_WHATSAPP_CODES:
                raise PermanentSmsError(f"Twilio error {err.code}: {err.msg}") from err
            raise  # 429, 5xx and anything unknown: retried by Temporal with backoff
        log.info(
            "WhatsApp %s handed to Twilio as %s (%s)",
            sms.key,
            message.sid,
            "template " + self._content.sid if self._content else "in the window",
        )
        return SentSms(
            status=message_status(message.status) or MessageStatus.QUEUED,
            provider_sid=message.sid,
        )

    def find_sent(self, sms: OutgoingSms, since: datetime) -> SentSms | None:
        """A WhatsApp message with this text to this number since `since` (a lost response)."""
        if self._client is None:
            return None
        return sent_trace(self._client, whatsapp.address(sms.to), sms.body, since)


def twilio_client(gateway: SmsGateway) -> Client | None:
    """The Twilio client of the SMS gateway (one account, two channels); None for the outbox."""
    return getattr(gateway, "client", None)


@dataclass(frozen=True)
class Route:
    """Which channels one citizen message takes: `primary` under its key, `copy` (WhatsApp,
    preference `both`) under `<key>:wa`."""

    primary: str
    copy: bool = False


def route(session: Session, settings: Settings, recipient: RecipientKind, phone: str) -> Route:
    """The channels of a message to `phone`, from its stored preference (SMS for officers,
    and for everyone while WhatsApp is off)."""
    if recipient is not RecipientKind.CITIZEN or not whatsapp_on(settings):
        return Route(SMS)
    choice = whatsapp.preference(session, phone)
    if choice is ChannelPreference.WHATSAPP:
        return Route(WHATSAPP)
    return Route(SMS, copy=choice is ChannelPreference.BOTH)


def as_whatsapp(message: Message, key: str | None = None) -> Message:
    """A copy of the message row, not yet stored, for the WhatsApp channel."""
    return copy_of(message, key or message.key, WHATSAPP, message.provider)


def copy_of(message: Message, key: str, channel: str, provider: str) -> Message:
    """The same text to the same reader under `key` on `channel`: a row, not yet stored."""
    row = new_message(
        key=key,
        complaint_id=message.complaint_id,
        template=message.template,
        recipient_kind=message.recipient_kind,
        to=message.recipient,
        language=message.language,
        body=message.text,
        provider=provider,
    )
    row.channel = channel
    return row


def send_by_whatsapp(
    session: Session,
    gateway: SmsGateway,
    settings: Settings,
    message: Message,
    sms: OutgoingSms,
    params: dict[str, str],
    *,
    redelivery: bool = False,
) -> Delivery | None:
    """Send `message` (a row with channel `whatsapp`) once per key: its body inside the
    window, else its approved template. None when it cannot go by WhatsApp: outside the
    window with no template for the text, or refused for good (the row records why)."""
    now = utcnow()
    content = None
    if not whatsapp.in_window(session, sms.to, now):
        content = whatsapp.content_template(
            settings.whatsapp_templates_file, message.template, params.get("kind"), message.language
        )
        if content is None:
            return None  # nothing approved to send outside the window: SMS instead
    sender = WhatsAppSender(twilio_client(gateway), settings, content, params)
    message.provider = sender.name
    try:
        return deliver_once(session, sender, message, sms, redelivery=redelivery)
    except PermanentSmsError:
        session.rollback()
        return None


def fall_back(session: Session, gateway: SmsGateway, failed: Message) -> Delivery:
    """The SMS that stands in for the WhatsApp message `failed`, under `<key>:sms`: sent at
    most once (its key), and named on the WhatsApp row."""
    key = failed.key + FALLBACK_SUFFIX
    complaint = session.get(Complaint, failed.complaint_id) if failed.complaint_id else None
    entry = template_for(failed.template, complaint.kind.value if complaint else None)
    sms = OutgoingSms(
        key=key,
        to=failed.recipient,
        body=failed.text,
        dlt_template_id=entry.dlt_id(failed.language),
    )
    row = copy_of(failed, key, SMS, gateway.name)
    note = f"WhatsApp failed: sent by SMS instead ({key})"
    if not (failed.error or "").endswith(note):
        failed.error = f"{failed.error}; {note}" if failed.error else note
        session.add(failed)
        session.commit()
    return deliver_once(session, gateway, row, sms)


def verification_question(message: Message) -> Message | None:
    """After the department's report, the WhatsApp question "solved? 1 / 2" (answered in the
    chat, `api/routes/whatsapp.py`); None for any other message."""
    if message.template != SmsTemplate.REPORT_RECEIVED.value:
        return None
    text = reply("reply|wa_verify", message.language)
    row = as_whatsapp(message, message.key + VERIFY_SUFFIX)
    row.template = "wa_verify"
    row.text, row.segments = text, segments(text)
    return row


def citizen_message(
    session: Session,
    gateway: SmsGateway,
    settings: Settings,
    message: Message,
    sms: OutgoingSms,
    params: dict[str, str],
    *,
    redelivery: bool,
) -> Delivery | None:
    """Send a citizen's message by WhatsApp when their preference says so: the delivery of
    the message's own key, or None when the caller sends it by SMS (preference `sms` or
    `both`, whose WhatsApp copy this sends; or WhatsApp could not take it: then the WhatsApp
    row records the SMS that replaces it)."""
    chosen = route(session, settings, message.recipient_kind, sms.to)
    session.commit()  # the read's transaction ends before any gateway call
    if chosen.primary == SMS:
        if chosen.copy:
            key = message.key + ALSO_SUFFIX
            send_by_whatsapp(
                session, gateway, settings, as_whatsapp(message, key), replace(sms, key=key), params
            )
        return None
    row = as_whatsapp(message)
    delivery = send_by_whatsapp(session, gateway, settings, row, sms, params, redelivery=redelivery)
    question = verification_question(row)
    if delivery is not None and question is not None:
        asked = replace(sms, key=question.key, body=question.text)
        if send_by_whatsapp(session, gateway, settings, question, asked, params) is None:
            log.info("WhatsApp %s: the verification question could not be sent", question.key)
    if delivery is not None and delivery.status is not MessageStatus.FAILED:
        return delivery
    # Not by WhatsApp: the row (stored, or refused before it was) names its SMS stand-in.
    stored = session.exec(select(Message).where(Message.key == message.key)).first()
    if stored is None:
        row.status = MessageStatus.FAILED
        row.error = "no approved WhatsApp template outside the 24-hour window"
        session.add(row)
        session.commit()
        stored = row
    return fall_back(session, gateway, stored)


# ---- the SMS that stands in for a WhatsApp message that failed later -------------------------


class WhatsAppActivities:
    def __init__(self, engine: Engine, gateway: SmsGateway, settings: Settings) -> None:
        self._engine = engine
        self._gateway = gateway
        self._settings = settings

    @activity.defn
    def whatsapp_fallback(self, key: str) -> MessageStatus:
        """Send the WhatsApp message `key`, which failed for good, by SMS (`<key>:sms`),
        at most once; the fallback's delivery status."""
        with write_session(self._engine) as session:
            failed = session.exec(select(Message).where(Message.key == key)).first()
            if failed is None or failed.channel != WHATSAPP:
                raise ApplicationError(f"no WhatsApp message {key!r}", non_retryable=True)
            try:
                return fall_back(session, self._gateway, failed).status
            except PermanentSmsError as err:
                raise ApplicationError(
                    f"SMS {key}{FALLBACK_SUFFIX} cannot be delivered: {err}",
                    type="PermanentSmsError",
                    non_retryable=True,
                ) from err


def fallback_workflow_id(key: str) -> str:
    """One fallback per WhatsApp message, whatever the receipts' redeliveries."""
    return f"whatsapp-fallback:{key}"


def needs_fallback(message_key: str, channel: str, status: MessageStatus) -> bool:
    """Whether a final receipt calls for the SMS stand-in: a WhatsApp-only message (not the
    copy of an SMS, nor the verification question) that failed or was undelivered."""
    return (
        channel == WHATSAPP
        and status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
        and not message_key.endswith((ALSO_SUFFIX, VERIFY_SUFFIX))
    )
