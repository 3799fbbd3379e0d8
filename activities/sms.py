"""SMS: the gateway interface (`activities.gateway`) implemented by the local outbox (and by
Twilio, in `activities.twilio_gateway`), and the
`send_sms` activity that renders a template and sends it at most once per message key.

Twilio has no idempotency key for sending, so the key lives here: the message row is written
(status `pending`) before the gateway is called and updated after. A retry that finds the row
already sent does nothing; one that finds it `pending` (a crash between the two writes) asks
the gateway whether it already sent that text to that number before sending again.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.case import find_complaint
from activities.delivery import deliver_once, new_message
from activities.gateway import OutgoingSms, PermanentSmsError, SentSms, SmsGateway
from activities.templates import (
    MAX_SEGMENTS,
    cut,
    name,
    render,
    segments,
    sent_in,
    template_for,
    variable,
)
from activities.whatsapp import citizen_message
from core.db import read_session, write_session
from core.models import Complaint, Message, Officer
from core.settings import Settings
from core.sms_choice import opted_out
from schemas.calendar import SessionKind
from schemas.enums import MessageStatus, RecipientKind
from schemas.escalation import forum_rung
from schemas.i18n import local_name
from schemas.reasons import interim_label
from schemas.reference import CATEGORY_BY_CODE, DLT_VARIABLE_MAX
from schemas.workflow import SendSmsInput, SendSmsResult, SmsTemplate

# Officers are written to in English (the directory records no language of theirs).
OFFICER_LANGUAGE = "en"

log = logging.getLogger(__name__)


class OutboxGateway(SmsGateway):
    """No credentials configured: messages are stored (the case page shows their text) and
    logged by key, clearly NOT sent. The log names neither the phone nor the text: logs leave
    the system (collectors, support tickets) where citizens' data must not."""

    name = "outbox"

    def send(self, sms: OutgoingSms) -> SentSms:
        log.info(
            "SMS %s NOT SENT (outbox, no gateway configured): %d segment(s); its text is on "
            "the case",
            sms.key,
            segments(sms.body),
        )
        return SentSms(status=MessageStatus.OUTBOX)


class WithheldGateway(SmsGateway):
    """The citizen said STOP: the message is recorded, not sent (`core/sms_choice.py`)."""

    name = "withheld"

    def send(self, sms: OutgoingSms) -> SentSms:
        log.info("SMS %s withheld: the citizen opted out of SMS (STOP)", sms.key)
        return SentSms(status=MessageStatus.OUTBOX)


WITHHELD = WithheldGateway()
# What a citizen who said STOP still gets: the decisions on their own open cases (a report,
# an answer, a review's date or directive, a closure, a withdrawal, a reopening), which they
# may need to act on. Not sent to them: the acknowledgement and the forwarding notice (the
# telecaller gives the number on the call; tracking shows the rest).
DECISION_TEMPLATES = frozenset(
    {
        SmsTemplate.REPORT_RECEIVED,
        SmsTemplate.SUGGESTION_ANSWERED,
        SmsTemplate.SUGGESTION_UNDER_CONSIDERATION,
        SmsTemplate.CLOSED,
        SmsTemplate.ESCALATED,
        SmsTemplate.ESCALATED_SIDHI_BAAT,
        SmsTemplate.DIRECTIVE,
        SmsTemplate.REVIEW_REQUEST_ANSWER,
        SmsTemplate.WITHDRAWN,
        SmsTemplate.REOPENED,
        SmsTemplate.INTERIM_REPLY,
    }
)
OPTED_OUT_NOTE = "not sent: the citizen opted out of SMS (STOP)"


class SmsActivities:
    def __init__(self, engine: Engine, gateway: SmsGateway, settings: Settings) -> None:
        self._engine = engine
        self._gateway = gateway
        self._settings = settings

    def _compose(
        self, session: Session, input: SendSmsInput
    ) -> tuple[Message, OutgoingSms, dict[str, str]]:
        complaint = find_complaint(session, input.registration_number)
        if input.recipient is RecipientKind.OFFICER:
            officer = session.get(Officer, input.officer_id) if input.officer_id else None
            if officer is None:
                raise ApplicationError(f"no officer {input.officer_id!r}", non_retryable=True)
            # Officers are written to in English, with the hour of their deadline.
            to, language, with_time = officer.phone, OFFICER_LANGUAGE, True
        else:
            to, with_time = complaint.citizen_phone, False
            # Theirs, or English where their catalogue lacks this text (names follow it).
            language = sent_in(input.template, complaint.kind.value, complaint.language)
        assigned = (
            session.get(Officer, complaint.assigned_officer_id)
            if complaint.assigned_officer_id
            else None
        )
        params = {
            **case_params(complaint, assigned, language, self._settings.helpline_number),
            **sms_params(_with_defaults(input), language, with_time=with_time),
        }
        body, dlt_id = fitted(
            input.template, language, params, complaint.citizen_address, complaint.pincode
        )
        message = new_message(
            key=input.key,
            complaint_id=complaint.id,
            template=input.template.value,
            recipient_kind=input.recipient,
            to=to,
            language=language,
            body=body,
            provider=self._gateway.name,
        )
        return (
            message,
            OutgoingSms(key=input.key, to=to, body=body, dlt_template_id=dlt_id),
            params,
        )

    @activity.defn
    def send_sms(self, input: SendSmsInput) -> SendSmsResult:
        """Render and send one SMS, at most once per `input.key`: by WhatsApp instead, or as
        well, when the citizen chose it (`activities/whatsapp.py`)."""
        # Composing only reads: outside the write transaction, so that on SQLite the write
        # lock is held for the message row alone, not while the text is rendered.
        with read_session(self._engine) as reader:
            message, sms, params = self._compose(reader, input)
            withheld = (
                input.recipient is RecipientKind.CITIZEN
                and input.template not in DECISION_TEMPLATES
                and opted_out(reader, sms.to)
            )
        gateway = WITHHELD if withheld else self._gateway
        if withheld:
            message.provider = WITHHELD.name
            message.error = OPTED_OUT_NOTE
        with write_session(self._engine) as session:
            try:
                delivery = citizen_message(
                    session,
                    self._gateway,
                    self._settings,
                    message,
                    sms,
                    params,
                    redelivery=input.redelivery,
                ) or deliver_once(session, gateway, message, sms, redelivery=input.redelivery)
            except PermanentSmsError as err:
                raise ApplicationError(
                    f"SMS {input.key} cannot be delivered: {err}",
                    type="PermanentSmsError",
                    non_retryable=True,
                ) from err
            return SendSmsResult(
                key=input.key, status=delivery.status, duplicate=delivery.duplicate
            )


def case_params(
    complaint: Complaint, officer: Officer | None, language: str, helpline: str
) -> dict[str, str]:
    """The variables every SMS about `complaint` may use, in `language`: each at most the 30
    characters a DLT variable holds (the directory and the reference data guarantee it)."""
    category = CATEGORY_BY_CODE.get(complaint.category or "")
    district = complaint.citizen_district or complaint.district
    office = local_name("office", officer.office, language) if officer and officer.office else ""
    return {
        "reg": complaint.registration_number,
        "helpline": helpline,
        # Where the matter is: the citizen's district, wherever the case now sits.
        "district": local_name("district", district, language),
        "kind": complaint.kind.value,
        "subject": (
            local_name("subject|short", category.short, language)
            if category
            else name("subject|none", language)
        ),
        "office": office or name("office|none", language),
        "place": place(complaint.citizen_address, complaint.pincode),
    }


def _with_defaults(input: SendSmsInput) -> dict[str, str]:
    """The workflow's variables, with those an SMS queued by an older version lacks: an
    officer's reminder named no forum before it named the one a late case goes to (then always
    the weekly review)."""
    if input.template is SmsTemplate.OFFICER_REMINDER and "forum" not in input.params:
        return {**input.params, "forum": SessionKind.WEEKLY_REVIEW.value}
    return input.params


def sms_params(params: dict[str, str], language: str, *, with_time: bool) -> dict[str, str]:
    """The workflow's own variables made readable: a forum's session kind as its rung's SMS
    name in `language`, moments (`15-12-2026 17:00`, IST) as the date alone unless
    `with_time`."""
    out = dict(params)
    for key in ("due", "date", "prep"):
        if key in out and not with_time:
            out[key] = out[key].split(" ")[0]
    if "reason" in out:  # an interim reply's reason code, in the reader's words
        out["reason"] = cut(interim_label(out["reason"], language), DLT_VARIABLE_MAX)
    if "forum" in out:
        try:
            out["forum"] = forum_rung(out["forum"]).sms_name(language)
        except KeyError:
            pass  # already a name (a message queued with one)
    return out


def place(address: str, pincode: str | None, budget: int = DLT_VARIABLE_MAX) -> str:
    """Where the matter is, for an officer's SMS: the address's first words, PIN code kept,
    within `budget` (at most the 30 characters a DLT variable may hold), cut between words
    and never inside a character as readers see it (`templates.cut`)."""
    first = " ".join(variable(address).replace("\n", ", ").split())
    pin = f"PIN {pincode}" if pincode and pincode not in first else ""
    budget = min(budget, DLT_VARIABLE_MAX)
    if not pin or len(pin) > budget:  # a PIN code cut short would be a wrong one: none
        return _words_within(first, budget)
    head = _words_within(first, budget - len(pin) - 2)
    return f"{head}, {pin}" if head else pin


def _words_within(text: str, limit: int) -> str:
    """`text` within `limit` UTF-16 units: cut between words where it can, else between
    characters (`templates.cut`)."""
    if limit <= 0:
        return ""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text.rstrip(" ,")
    longer = cut(text, limit + 1)
    words = longer[: longer.rfind(" ")] if " " in longer else ""
    return (words or cut(text, limit)).rstrip(" ,")


def fitted(
    template: SmsTemplate, language: str, params: dict[str, str], address: str, pin: str | None
) -> tuple[str, str]:
    """The rendered text and DLT template ID, the address (`place`) shortened until the text
    keeps `MAX_SEGMENTS`: one emoji or Devanagari letter in an address makes an English text
    UCS-2 (70 characters a segment, not 160)."""
    body, dlt_id = render(template, language, params)
    budget = len(params.get("place", ""))
    while "{place}" in template_for(str(template), params.get("kind")).text(language) and (
        segments(body) > MAX_SEGMENTS and budget > 0
    ):
        budget -= 1
        params = {**params, "place": place(address, pin, budget)}
        body, dlt_id = render(template, language, params)
    return body, dlt_id


def make_gateway(settings: Settings) -> SmsGateway:
    """Twilio when credentials are configured, else the outbox."""
    if settings.twilio_configured:
        from activities.twilio_gateway import TwilioGateway

        return TwilioGateway(settings)
    return OutboxGateway()
