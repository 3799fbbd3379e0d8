"""Twilio webhooks (delivery receipts, citizens' SMS commands) and the "not reachable by SMS"
work list.

Every webhook is checked with the twilio library's `RequestValidator` against the public URL
(`PUBLIC_BASE_URL` + path + query, as configured in the Twilio console): an invalid or missing
`X-Twilio-Signature` answers 403 before anything is read or changed.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.service import RPCError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from activities.templates import command_word, cut, reply, segments
from api.auth import require
from api.closure import rate_by_sms, rating_digit
from api.deps import AppStateDep, SessionDep
from api.errors import ApiError
from api.ratelimit import Window, counts, hit
from api.services import worklists
from api.services.lists import Offset
from api.services.track import ANSWERED_STATUSES, tracked
from api.updates import execute_within
from api.whatsapp import after_receipt
from core import audit
from core.db import read_session
from core.models import Complaint, utcnow
from core.permissions import UNREACHABLE_READERS
from core.readmodel import apply_receipt
from core.settings import Settings
from core.sms_choice import record_choice
from schemas.auth import Principal
from schemas.calendar import fmt_ist_date
from schemas.complaint import ascii_digits, normalise_phone
from schemas.delivery import FINAL_STATUSES, message_status
from schemas.i18n import SOURCE_LANGUAGE, offered_languages
from schemas.staff import UnreachableList
from schemas.tracking import status_label
from schemas.workflow import DeliveryReceipt, RatingChannel, ReviewRequest
from workflows.complaint import ComplaintWorkflow

log = logging.getLogger(__name__)

router = APIRouter(tags=["sms"])


async def verified_params(request: Request, settings: Settings) -> dict[str, str]:
    """The webhook's form parameters, once its Twilio signature is verified (else 403)."""
    # Parsed by hand: the signature covers exactly these form fields, and FastAPI's own form
    # parsing would need python-multipart for nothing more.
    body = (await request.body()).decode("utf-8", errors="replace")
    params = dict(parse_qsl(body, keep_blank_values=True))
    signature = request.headers.get("X-Twilio-Signature", "")
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not (
        settings.twilio_auth_token
        and signature
        and RequestValidator(settings.twilio_auth_token).validate(url, params, signature)
    ):
        log.warning("Twilio webhook %s refused: invalid or missing signature", request.url.path)
        raise ApiError(403, "invalid or missing X-Twilio-Signature")
    audit.describe(subject="twilio")  # the signer: a webhook carries no token
    return params


# ---- delivery receipts -------------------------------------------------------------------


@router.post(
    "/v1/twilio/status",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={403: {"description": "Invalid or missing X-Twilio-Signature."}},
)
async def twilio_status(
    request: Request,
    app: AppStateDep,
    key: Annotated[str | None, Query(max_length=120)] = None,
) -> Response:
    """Twilio's status callback: moves the message's delivery status forward (duplicates
    change nothing) and puts final outcomes on the case's timeline."""
    params = await verified_params(request, app.settings)
    sid = params.get("MessageSid") or params.get("SmsSid")
    new_status = message_status(params.get("MessageStatus") or params.get("SmsStatus"))
    if not sid or new_status is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    applied = await run_in_threadpool(
        apply_receipt,
        app.engine,
        key=key,
        provider_sid=sid,
        status=new_status,
        error_code=params.get("ErrorCode") or None,
    )
    if applied and applied.status in FINAL_STATUSES:
        await after_receipt(app.client, app.engine, app.settings, applied)
    if applied and applied.workflow_id and applied.status in FINAL_STATUSES:
        handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, applied.workflow_id)
        try:
            await handle.signal(
                ComplaintWorkflow.delivery_receipt,
                DeliveryReceipt(
                    key=applied.key,
                    template=applied.template,
                    recipient=applied.recipient_kind,
                    status=applied.status,
                    error=applied.error,
                ),
                rpc_timeout=timedelta(seconds=app.settings.temporal_rpc_timeout_seconds),
            )
        except RPCError as err:
            # The message row (the record of delivery) is updated; only the timeline entry
            # is missing, e.g. when the case's workflow has already finished.
            log.warning("receipt for %s not signalled: %s", applied.key, err.message)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- citizens' SMS commands --------------------------------------------------------------

# Twilio never sends more than 1,600 characters in one Body (it joins a long SMS's parts up to
# there). A command is a word and a number: anything longer is answered with the help text
# without being parsed, so a crafted body cannot hold the event loop.
MAX_INBOUND_CHARACTERS = 1600
MAX_COMMAND_CHARACTERS = 64

# One reading of each text: the word, an optional `:` or `-`, the number (no two adjacent
# optional spaces, so nothing backtracks).
# How a request names the channel it came by, in the case's timeline note.
_CHANNEL_WORD = {"sms": "SMS", "whatsapp": "WhatsApp"}

_COMMAND = re.compile(
    r"(?P<word>[^\s\d:\-]+)\s*(?:[:\-]\s*)?"
    r"(?P<sequence>[0-9]{1,9})\s*/\s*(?P<year>[0-9]{4})\s*[.।]?"
)
# STOP and START alone (in any case), in each language; with the carriers' usual English
# synonyms, which citizens know from other senders.
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
OPT_IN_WORDS = frozenset({"start", "unstop", "subscribe"})


def choice_of(text: str) -> bool | None:
    """True for a STOP word, False for a START word, None for anything else."""
    word = text.strip().strip(".।!").casefold()
    stop = set(OPT_OUT_WORDS)
    start = set(OPT_IN_WORDS)
    for language in (SOURCE_LANGUAGE, *offered_languages()):
        stop.add(command_word("stop", language).casefold())
        start.add(command_word("start", language).casefold())
    if word in stop:
        return True
    if word in start:
        return False
    return None


def command_words() -> dict[str, tuple[str, str]]:
    """Each command word in each language offered (and English), case-folded: which command
    it is (`status`, `review`) and the language to answer in."""
    words: dict[str, tuple[str, str]] = {}
    for language in (SOURCE_LANGUAGE, *offered_languages()):
        for command in ("status", "review"):
            words.setdefault(command_word(command, language).casefold(), (command, language))
    return words


# A STATUS reply with the department's answer may take three segments (a Hindi reply has 201
# characters then): the citizen asked for it, and two would leave the answer a dozen words.
STATUS_REPLY_SEGMENTS = 3


def help_text(helpline: str) -> str:
    """The reply to anything that is not a command, in English and each language offered."""
    languages = dict.fromkeys((SOURCE_LANGUAGE, *offered_languages()))
    return "\n".join(reply("reply|help", language, helpline=helpline) for language in languages)


def _nothing_found(reg: str, language: str, helpline: str) -> str:
    # Same answer for "no such case" and "not this phone's case": reveals nothing.
    return reply("reply|not_found", language, reg=reg, helpline=helpline)


def _status_text(row: Complaint, language: str, helpline: str) -> str:
    """Status, next date and the department's current answer (shortened so that the reply
    keeps `STATUS_REPLY_SEGMENTS`); a reopened or rejected answer is not shown as current."""
    case = tracked(row)
    label = status_label(case.status, language)
    parts = [reply("reply|status", language, reg=row.registration_number, status=label)]
    if case.next_deadline:
        parts.append(reply("reply|next_date", language, date=fmt_ist_date(case.next_deadline)))
    tail = reply("reply|help_short", language, helpline=helpline)
    if case.last_reply and case.status in ANSWERED_STATUSES:
        # Three segments hold at most 459 characters: no need to measure more.
        answer = cut(" ".join(case.last_reply[:2000].split()), 480)
        if answer and answer[-1] not in ".!?।":
            answer += reply("reply|full_stop", language)
        while answer:
            text = " ".join([*parts, reply("reply|answer", language, answer=answer), tail])
            if segments(text) <= STATUS_REPLY_SEGMENTS:
                return text
            # Shorter by a dozen characters, never inside one (an emoji, a conjunct).
            answer = (
                cut(answer, max(0, len(answer) - 12)).rstrip() + "..." if len(answer) > 15 else ""
            )
    return " ".join([*parts, tail])


def _citizen_case(session: Session, reg: str, sender: str) -> Complaint | None:
    """The case `reg`, only when `sender` is the phone registered on it."""
    try:
        phone = normalise_phone(sender)
    except ValueError:
        return None
    row = session.exec(select(Complaint).where(Complaint.registration_number == reg)).first()
    return row if row is not None and row.citizen_phone == phone else None


def _find_case(engine: Engine, reg: str, sender: str) -> Complaint | None:
    """`_citizen_case` in a session of its own (off the event loop)."""
    with read_session(engine) as session:
        return _citizen_case(session, reg, sender)


async def _review(
    app: AppStateDep, row: Complaint, language: str, sid: str | None, via: str = "sms"
) -> str:
    reg, helpline = row.registration_number, app.settings.helpline_number
    if row.workflow_started_at is None:
        return _status_text(row, language, helpline)
    handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
    try:
        # Twilio redelivers an SMS it timed out on: its SID makes the request one update.
        result = await execute_within(
            handle,
            ComplaintWorkflow.request_review,
            ReviewRequest(note=f"requested by {_CHANNEL_WORD[via]}", via=via),
            budget=app.settings.action_timeout_seconds,
            update_id=f"request_review:{via}:{sid}" if sid else None,
        )
    except ApiError as problem:
        if problem.status_code == 409:
            reason = problem.extra.get(f"detail_{language}") if language != "en" else None
            return reply(
                "reply|review_refused",
                language,
                reg=reg,
                reason=str(reason or problem.detail),
                helpline=helpline,
            )
        raise
    log.debug("review requested by SMS for %s: %s", reg, result.message)
    # The workflow's own SMS (review date, or the current deadline) follows.
    return reply("reply|review_recorded", language, reg=reg)


@router.post(
    "/v1/twilio/inbound",
    responses={
        200: {"content": {"application/xml": {}}, "description": "TwiML reply."},
        403: {"description": "Invalid or missing X-Twilio-Signature."},
    },
)
async def twilio_inbound(request: Request, app: AppStateDep) -> Response:
    """A citizen's SMS to the centre: `STATUS <reg>` / `स्थिति <reg>`, `REVIEW <reg>` /
    `समीक्षा <reg>`, `STOP` / `बंद` (no SMS but decisions on their open cases) and `START` /
    `शुरू`, or anything else (help). Answers TwiML; case data only goes to the phone
    registered on the case."""
    params = await verified_params(request, app.settings)
    helpline = app.settings.helpline_number
    twiml = MessagingResponse()
    sid = params.get("MessageSid") or params.get("SmsSid")
    if sid:
        seen: bool = await run_in_threadpool(_delivered_before, app.engine, sid)
        if seen:  # Twilio redelivers what it timed out on: act and reply once (empty answer)
            return Response(content=str(twiml), media_type="application/xml")
    body = params.get("Body", "")
    text = ascii_digits(body.strip()) if len(body) <= MAX_INBOUND_CHARACTERS else ""
    answer = await command_answer(app, text, params.get("From", ""), sid)
    twiml.message(answer or help_text(helpline))
    return Response(content=str(twiml), media_type="application/xml")


async def command_answer(
    app: AppStateDep, text: str, sender: str, sid: str | None, via: str = "sms"
) -> str | None:
    """The answer to a citizen's command (`text`, digits in ASCII) from phone `sender`, by
    SMS or WhatsApp (`via`: `sms` | `whatsapp`, recorded as the channel of a rating or a
    review request): STATUS, REVIEW, STOP, START, or a closure's rating digit; None when
    `text` is none of them."""
    helpline = app.settings.helpline_number
    match = _COMMAND.fullmatch(text) if len(text) <= MAX_COMMAND_CHARACTERS else None
    command = command_words().get(match["word"].casefold()) if match else None
    choice = choice_of(text) if len(text) <= MAX_COMMAND_CHARACTERS else None
    score = rating_digit(text)
    if choice is not None:
        return await _record_choice(app, sender, choice, sid)
    if score is not None:  # a digit in reply to the closure SMS: the citizen's rating
        return await rate_by_sms(app, sender, score, sid, RatingChannel(via))
    if match is None or command is None:
        return None
    verb, language = command
    reg = f"{int(match['sequence'])}/{match['year']}"
    row = await run_in_threadpool(_find_case, app.engine, reg, sender)
    if row is not None:  # the audit trail links the command to its case
        audit.describe(complaint=(row.year, row.sequence))
    if row is None:
        return _nothing_found(reg, language, helpline)
    if verb == "status":
        return _status_text(row, language, helpline)
    try:
        return await _review(app, row, language, sid, via)
    except ApiError as err:
        log.warning("review request by SMS for %s failed: %s", reg, err)
        return reply("reply|try_later", language, helpline=helpline)


async def _record_choice(app: AppStateDep, sender: str, opted_out: bool, sid: str | None) -> str:
    """Record STOP (`opted_out`) or START for the sender's phone; the confirmation, in each
    language offered (the centre does not know which one a phone reads)."""
    helpline = app.settings.helpline_number
    try:
        phone = normalise_phone(sender)
    except ValueError:
        return help_text(helpline)  # not an Indian mobile: nothing of ours reaches it anyway
    await run_in_threadpool(
        record_choice, app.engine, phone, opted_out=opted_out, at=utcnow(), message_sid=sid
    )
    audit.describe(summary="SMS opt-out (STOP)" if opted_out else "SMS opt-in (START)")
    context = "reply|opted_out" if opted_out else "reply|opted_in"
    languages = dict.fromkeys((SOURCE_LANGUAGE, *offered_languages()))
    return "\n".join(reply(context, language, helpline=helpline) for language in languages)


# An inbound SMS's SID is remembered this long (Twilio redelivers within seconds to minutes).
_INBOUND_MEMORY = Window(seconds=86_400)


def _delivered_before(engine: Engine, sid: str) -> bool:
    """Whether this inbound SMS was delivered to us before (counted once per SID, in the
    current or the previous day's window, so a redelivery across the boundary is caught)."""
    key = f"twilio-inbound:{sid}"[:120]
    now = utcnow()
    earlier = counts(engine, [key], _INBOUND_MEMORY, now=now - _INBOUND_MEMORY_SPAN)[key]
    return hit(engine, key, _INBOUND_MEMORY, now=now) > 1 or earlier > 0


_INBOUND_MEMORY_SPAN = timedelta(seconds=_INBOUND_MEMORY.seconds)


# ---- work list ---------------------------------------------------------------------------


@router.get("/v1/sms/unreachable", response_model=UnreachableList, tags=["work lists"])
def citizens_unreachable_by_sms(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*UNREACHABLE_READERS))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> UnreachableList:
    """Open cases whose citizen is not reachable by SMS (the latest SMS to them failed or was
    undelivered): telecallers call them instead. Urgent first, then the latest failure
    first; `count` is every such case, `data` the page."""
    return worklists.citizens_unreachable_by_sms(session, principal, limit=limit, offset=offset)
