"""The centre's WhatsApp number: a citizen's messages (Twilio's inbound webhook), and the desk's
setting of a citizen's channel preference.

Every message is checked like the SMS webhooks (`X-Twilio-Signature`, else 403) and acted on
once per MessageSid (a redelivery is answered empty). It opens the phone's 24-hour window and,
the first time, makes WhatsApp the phone's channel (core/whatsapp.py). Then, in this order:

1. an unfinished conversation idle too long is discarded, and the citizen told so;
2. a conversation in progress takes the message as its next answer (language, name,
   district, the problem) and, after the problem, registers the complaint (channel
   `whatsapp`, the phone's daily limit applies) and answers its registration number;
3. `1` or `2` while one of the phone's cases waits for its verification: solved, or not
   (the telecaller's `record_callback`, actor `whatsapp`);
4. the SMS commands (STATUS, REVIEW, STOP, START) and the closure's rating digit, answered as
   by SMS;
5. anything else starts a conversation.

Answers are TwiML (a reply inside the window). No phone, name or text is logged.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio.service import RPCError
from twilio.twiml.messaging_response import MessagingResponse

from activities.templates import reply
from activities.voice import signing_token
from api.auth import require
from api.deps import AppState, AppStateDep
from api.errors import ApiError
from api.open311_media import media_url_problem, start_media_fetch
from api.ratelimit import PhoneLimitReached, Window, hit
from api.routes.twilio import (
    MAX_INBOUND_CHARACTERS,
    _delivered_before,
    command_answer,
    verified_params,
)
from api.services.intake import register_complaint
from api.updates import execute_within
from core import audit, whatsapp
from core.db import read_session
from core.models import Complaint, WhatsAppConversation, utcnow
from core.permissions import PREFERENCE_WRITERS
from schemas.auth import Principal
from schemas.complaint import Citizen, ComplaintCreate, Phone, ascii_digits, normalise_phone
from schemas.enums import Channel, ChannelPreference, ComplaintKind, ComplaintStatus
from schemas.reference import canonical_district
from schemas.workflow import CallbackOutcome, CallbackResult
from workflows.complaint import ComplaintWorkflow
from workflows.start import start_complaint_workflow

log = logging.getLogger(__name__)

router = APIRouter(tags=["whatsapp"])

# More messages than this from one phone in an hour are not acted on (abuse: a script
# flooding the number); the answer is empty. A conversation needs five.
MAX_MESSAGES_PER_HOUR = 60
_HOUR = Window(seconds=3600)
# The language chosen by its digit or its name.
_LANGUAGE_WORDS = {
    "1": "hi",
    "hindi": "hi",
    "हिंदी": "hi",
    "हिन्दी": "hi",
    "2": "en",
    "english": "en",
}


def _both(context: str, **params: str) -> str:
    """A text in Hindi, then English (before the citizen has chosen)."""
    return "\n".join(reply(context, language, **params) for language in ("hi", "en"))


def _phone_key(phone: str) -> str:
    """The abuse counter's key: the phone hashed (the counter table holds no phone)."""
    return "whatsapp-phone:" + hashlib.sha256(phone.encode()).hexdigest()[:24]


@router.post(
    "/v1/twilio/whatsapp",
    responses={
        200: {"content": {"application/xml": {}}, "description": "TwiML reply."},
        403: {"description": "Invalid or missing X-Twilio-Signature."},
    },
)
async def whatsapp_inbound(request: Request, app: AppStateDep) -> Response:
    """A citizen's WhatsApp message to the centre (`From: whatsapp:+91...`): a step of the
    conversation that files a complaint, the verification answer (1 / 2), a command or a
    rating as by SMS. Answers TwiML; case data only goes to the phone registered on it."""
    signer = app.settings.model_copy(update={"twilio_auth_token": signing_token(app.settings)})
    params = await verified_params(request, signer)
    twiml = MessagingResponse()
    empty = Response(content=str(twiml), media_type="application/xml")
    sid = params.get("MessageSid") or params.get("SmsSid")
    if sid:
        seen: bool = await run_in_threadpool(_delivered_before, app.engine, sid)
        if seen:  # Twilio redelivers what it timed out on: act and reply once
            return empty
    try:
        phone = normalise_phone(whatsapp.phone_of(params.get("From", "")))
    except ValueError:
        return empty  # not an Indian mobile: nothing of ours is for it
    now = utcnow()
    if await run_in_threadpool(hit, app.engine, _phone_key(phone), _HOUR, now=now) > (
        MAX_MESSAGES_PER_HOUR
    ):
        log.warning("WhatsApp message %s not acted on: its phone's hourly limit", sid)
        return empty
    if await run_in_threadpool(whatsapp.record_inbound, app.engine, phone, now):
        audit.describe(summary="WhatsApp chosen by the citizen's first message")
    body = params.get("Body", "")
    text = ascii_digits(body.strip()) if len(body) <= MAX_INBOUND_CHARACTERS else ""
    photo = _photo(params)
    twiml.message(await _answer(app, phone, text, sid, now, photo))
    return Response(content=str(twiml), media_type="application/xml")


def _photo(params: dict[str, str]) -> str | None:
    """The first image the message carries (Twilio's MediaUrl0), if any."""
    if params.get("NumMedia", "0") in ("", "0"):
        return None
    if not params.get("MediaContentType0", "").startswith("image/"):
        return None
    return params.get("MediaUrl0") or None


async def _answer(
    app: AppState, phone: str, text: str, sid: str | None, now: datetime, photo: str | None
) -> str:
    idle = app.settings.whatsapp_conversation_idle_minutes
    with read_session(app.engine) as session:
        row = whatsapp.conversation(session, phone)
    discarded = ""
    if row is not None and whatsapp.expired(row, now, idle):
        await run_in_threadpool(whatsapp.end_conversation, app.engine, phone)
        discarded = reply("reply|wa_discarded", row.language, minutes=str(idle)) + "\n"
        row = None
    if row is not None:
        if photo is not None and media_url_problem(photo, app.settings) is None:
            row.media_url = photo  # the problem's photo, whenever in the conversation
            await run_in_threadpool(whatsapp.save_conversation, app.engine, row)
        return await _next_step(app, row, text, sid, now)
    answer = await _verification(app, phone, text, sid)
    if answer is None:
        answer = await command_answer(app, text, phone, sid, via="whatsapp")
    if answer is not None:
        return discarded + answer
    started = WhatsAppConversation(
        phone=phone,
        step="language",
        started_at=now,
        updated_at=now,
        media_url=photo if photo and media_url_problem(photo, app.settings) is None else None,
    )
    await run_in_threadpool(whatsapp.save_conversation, app.engine, started)
    return discarded + _both("reply|wa_welcome", helpline=app.settings.helpline_number)


async def _next_step(
    app: AppState, row: WhatsAppConversation, text: str, sid: str | None, now: datetime
) -> str:
    """The conversation's next step: `text` answers the question of `row.step`."""
    language = row.language
    asked = None
    if row.step == "language":
        chosen = _LANGUAGE_WORDS.get(text.strip().strip(".").casefold())
        if chosen is None:
            return _both("reply|wa_welcome", helpline=app.settings.helpline_number)
        row.language, row.step, asked = chosen, "name", "reply|wa_ask_name"
    elif row.step == "name":
        if _valid_name(text, row.phone, language) is None:
            return reply("reply|wa_ask_name", language)
        row.citizen_name, row.step, asked = text.strip(), "district", "reply|wa_ask_district"
    elif row.step == "district":
        district = canonical_district(text) if len(text) <= 100 else None
        if district is None:
            return reply("reply|wa_unknown_district", language)
        row.district, row.step, asked = district, "problem", "reply|wa_ask_problem"
    else:
        if not text.strip() or len(text) > 4000:
            row.updated_at = now  # a photo alone is kept; the words are asked for again
            await run_in_threadpool(whatsapp.save_conversation, app.engine, row)
            return reply("reply|wa_ask_problem", language)
        row.description = text.strip()
        return await _register(app, row, sid, now)
    row.updated_at = now
    await run_in_threadpool(whatsapp.save_conversation, app.engine, row)
    return reply(asked, row.language)


def _valid_name(text: str, phone: str, language: str) -> Citizen | None:
    try:
        return Citizen(name=text, phone=phone, address="-", district="Ranchi", language=language)
    except ValidationError:
        return None


async def _register(
    app: AppState, row: WhatsAppConversation, sid: str | None, now: datetime
) -> str:
    """The conversation's complaint, registered (once per the last message's Sid) and its
    workflow started; the conversation ends."""
    language, helpline = row.language, app.settings.helpline_number
    assert row.citizen_name and row.district and row.description
    body = ComplaintCreate(
        kind=ComplaintKind.COMPLAINT,
        channel=Channel.WHATSAPP,
        citizen=Citizen(
            name=row.citizen_name,
            phone=row.phone,
            # The conversation asks no address: the district stands for it.
            address=row.district,
            district=row.district,
            language=language,
        ),
        description=row.description,
    )
    try:
        complaint, created = await run_in_threadpool(
            lambda: register_complaint(
                app.engine,
                body,
                # One complaint per conversation, whatever is redelivered or retried.
                idempotency_key=f"{_phone_key(row.phone)}:{row.started_at.isoformat()}",
                now=now,
                workflow_id_prefix=app.settings.workflow_id_prefix,
                phone_daily_limit=app.settings.complaints_per_phone_per_day,
                registered_by="whatsapp",
            )
        )
    except PhoneLimitReached:
        await run_in_threadpool(whatsapp.end_conversation, app.engine, row.phone)
        return reply("reply|wa_limit", language, helpline=helpline)
    await run_in_threadpool(whatsapp.end_conversation, app.engine, row.phone)
    audit.describe(
        "register",
        complaint=(complaint.year, complaint.sequence),
        kind=complaint.kind,
        channel=complaint.channel,
        district=complaint.district,
    )
    if complaint.workflow_started_at is None:
        try:
            await start_complaint_workflow(
                app.client, app.engine, complaint, policy=app.policy, settings=app.settings
            )
        except (RPCError, RuntimeError):
            pass  # recorded and numbered; the worker's reconciliation starts the workflow
    if row.media_url and created:  # fetched by a worker: bounded, checked, scanned
        await start_media_fetch(app.client, app.settings, complaint, row.media_url, by="whatsapp")
    reg = complaint.registration_number
    return reply("reply|wa_registered", language, reg=reg, helpline=helpline)


def _awaiting_verification(engine: Engine, phone: str) -> Complaint | None:
    """The phone's case whose verification is due (the latest), if any."""
    with read_session(engine) as session:
        return session.exec(
            select(Complaint)
            .where(
                Complaint.citizen_phone == phone,
                Complaint.status == ComplaintStatus.AWAITING_CALLBACK,
            )
            .order_by(col(Complaint.updated_at).desc())
            .limit(1)
        ).first()


async def _verification(app: AppState, phone: str, text: str, sid: str | None) -> str | None:
    """`1` (solved) or `2` (not solved) answering the verification question; None when the
    text is not that or no case of the phone awaits it."""
    digit = text.strip().strip(".")
    if digit not in ("1", "2"):
        return None
    row = await run_in_threadpool(_awaiting_verification, app.engine, phone)
    if row is None or row.workflow_started_at is None:
        return None
    audit.describe(complaint=(row.year, row.sequence))
    solved = digit == "1"
    handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
    try:
        await execute_within(
            handle,
            ComplaintWorkflow.record_callback,
            CallbackResult(
                outcome=CallbackOutcome.SATISFIED if solved else CallbackOutcome.NOT_SATISFIED,
                telecaller="whatsapp",
                remark="answered on WhatsApp",
            ),
            budget=app.settings.action_timeout_seconds,
            update_id=f"record_callback:whatsapp:{sid}" if sid else None,
        )
    except ApiError as err:
        log.info("verification by WhatsApp for %s not applied: %s", row.registration_number, err)
        return reply("reply|try_later", row.language, helpline=app.settings.helpline_number)
    context = "reply|wa_solved" if solved else "reply|wa_not_solved"
    return reply(context, row.language, reg=row.registration_number)


# ---- the desk: a citizen's channel preference ------------------------------------------------


class ChannelChoice(BaseModel):
    """A citizen's channel for the centre's messages, by phone."""

    model_config = ConfigDict(extra="forbid")

    phone: Phone
    preference: ChannelPreference = Field(
        description="`sms`, `whatsapp` or `both`: how the centre's messages reach this phone."
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)


@router.put("/v1/whatsapp/preference", response_model=ChannelChoice, tags=["whatsapp"])
async def set_channel_preference(
    choice: ChannelChoice,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*PREFERENCE_WRITERS))],
) -> ChannelChoice:
    """The desk records how a citizen wants the centre's messages (a telecaller on the
    citizen's word); it holds for every case of the phone, from the next message on.
    422 naming the field for a phone that is not an Indian mobile or an unknown preference."""
    await run_in_threadpool(
        whatsapp.set_preference,
        app.engine,
        choice.phone,
        choice.preference,
        by=f"desk:{principal.subject}"[:80],
        at=utcnow(),
    )
    audit.describe(summary=f"channel preference set: {choice.preference.value}")
    return choice
