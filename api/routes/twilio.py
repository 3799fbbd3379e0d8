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
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from temporalio.service import RPCError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from activities.sms import FINAL_STATUSES, apply_receipt
from activities.twilio_gateway import message_status
from api.auth import require
from api.deps import AppStateDep, SessionDep
from api.errors import ApiError
from api.ratelimit import Window, counts, hit
from api.scope import case_filter
from api.updates import execute_within
from api.views import OPEN_STATUSES, ist, summary
from core import audit
from core.calendar import to_ist
from core.db import read_session
from core.models import Complaint, Message, utcnow
from core.settings import Settings
from schemas.auth import Principal, Role
from schemas.complaint import ComplaintSummary, ascii_digits, normalise_phone
from schemas.enums import ComplaintStatus, MessageStatus, RecipientKind
from schemas.workflow import DeliveryReceipt, ReviewRequest
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

_COMMAND = re.compile(
    r"^\s*(?P<word>STATUS|स्थिति|REVIEW|समीक्षा)\s*[:\-]?\s*"
    r"(?P<sequence>[0-9]{1,9})\s*/\s*(?P<year>[0-9]{4})\s*[.।]?\s*$",
    re.IGNORECASE,
)
_HINDI_WORDS = {"स्थिति", "समीक्षा"}

STATUS_LABELS = {
    ComplaintStatus.REGISTERED: ("registered", "दर्ज"),
    ComplaintStatus.AWAITING_REPORT: (
        "with the officer, report awaited",
        "अधिकारी के पास, रिपोर्ट प्रतीक्षित",
    ),
    ComplaintStatus.AWAITING_CALLBACK: (
        "report received, verification call due",
        "रिपोर्ट प्राप्त, पुष्टि कॉल होगी",
    ),
    ComplaintStatus.WEEKLY_REVIEW: ("on the weekly review agenda", "साप्ताहिक समीक्षा में"),
    ComplaintStatus.SIDHI_BAAT: ("on the Sidhi Baat agenda", "सीधी बात में"),
    ComplaintStatus.CLOSED: ("closed", "बंद"),
    ComplaintStatus.WITHDRAWN: ("withdrawn", "वापस लिया गया"),
}


def help_text(helpline: str) -> str:
    """The reply to anything that is not a command, in both languages."""
    return (
        "Jan Samvad: SMS STATUS 20983/2018 for your case's status, REVIEW 20983/2018 to ask "
        f"for a review. Help: {helpline}.\n"
        "जन संवाद: स्थिति जानने हेतु स्थिति 20983/2018, समीक्षा हेतु समीक्षा 20983/2018 SMS करें। "
        f"सहायता: {helpline}"
    )


def _nothing_found(reg: str, hindi: bool, helpline: str) -> str:
    # Same answer for "no such case" and "not this phone's case": reveals nothing.
    if hindi:
        return f"जन संवाद: इस फ़ोन से दर्ज मामला {reg} नहीं मिला। सहायता: {helpline}"
    return f"Jan Samvad: no case {reg} registered from this phone. Help: {helpline}."


def _status_text(row: Complaint, hindi: bool) -> str:
    en, hi = STATUS_LABELS[row.status]
    when = to_ist(row.next_deadline).strftime("%d-%m-%Y") if row.next_deadline else None
    if hindi:
        return f"जन संवाद {row.registration_number}: {hi}।" + (f" अगली तिथि {when}।" if when else "")
    return f"Jan Samvad {row.registration_number}: {en}." + (f" Next date {when}." if when else "")


def _citizen_case(session: Session, reg: str, sender: str) -> Complaint | None:
    """The case `reg`, only when `sender` is the phone registered on it."""
    try:
        phone = normalise_phone(sender)
    except ValueError:
        return None
    row = session.exec(select(Complaint).where(Complaint.registration_number == reg)).first()
    return row if row is not None and row.citizen_phone == phone else None


async def _review(app: AppStateDep, row: Complaint, hindi: bool, sid: str | None) -> str:
    reg = row.registration_number
    if row.workflow_started_at is None:
        return _status_text(row, hindi)
    handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
    try:
        # Twilio redelivers an SMS it timed out on: its SID makes the request one update.
        result = await execute_within(
            handle,
            ComplaintWorkflow.request_review,
            ReviewRequest(note="requested by SMS", via="sms"),
            budget=app.settings.action_timeout_seconds,
            update_id=f"request_review:sms:{sid}" if sid else None,
        )
    except ApiError as problem:
        if problem.status_code == 409:
            if hindi:
                return f"जन संवाद {reg}: समीक्षा अनुरोध स्वीकार नहीं ({problem.detail})।"
            return f"Jan Samvad {reg}: review request not accepted: {problem.detail}."
        raise
    if hindi:
        # The workflow's own SMS (review date, or the current deadline) follows.
        return f"जन संवाद {reg}: समीक्षा अनुरोध दर्ज। विवरण SMS से भेजा जाएगा।"
    return f"Jan Samvad {reg}: review request recorded: {result.message}."


@router.post(
    "/v1/twilio/inbound",
    responses={
        200: {"content": {"application/xml": {}}, "description": "TwiML reply."},
        403: {"description": "Invalid or missing X-Twilio-Signature."},
    },
)
async def twilio_inbound(request: Request, app: AppStateDep) -> Response:
    """A citizen's SMS to the centre: `STATUS <reg>` / `स्थिति <reg>`, `REVIEW <reg>` /
    `समीक्षा <reg>`, or anything else (help). Answers TwiML; case data only goes to the phone
    registered on the case."""
    params = await verified_params(request, app.settings)
    helpline = app.settings.helpline_number
    twiml = MessagingResponse()
    sid = params.get("MessageSid") or params.get("SmsSid")
    if sid:
        seen: bool = await run_in_threadpool(_delivered_before, app.engine, sid)
        if seen:  # Twilio redelivers what it timed out on: act and reply once (empty answer)
            return Response(content=str(twiml), media_type="application/xml")
    text = ascii_digits(params.get("Body", ""))
    match = _COMMAND.match(text)
    if match is None:
        reply = help_text(helpline)
    else:
        word = match["word"]
        hindi = word in _HINDI_WORDS
        reg = f"{int(match['sequence'])}/{match['year']}"
        with read_session(app.engine) as session:
            row = _citizen_case(session, reg, params.get("From", ""))
        if row is not None:  # the audit trail links the command to its case
            audit.describe(complaint=(row.year, row.sequence))
        if row is None:
            reply = _nothing_found(reg, hindi, helpline)
        elif word.upper() == "STATUS" or word == "स्थिति":
            reply = _status_text(row, hindi)
        else:
            try:
                reply = await _review(app, row, hindi, sid)
            except ApiError as err:
                log.warning("review request by SMS for %s failed: %s", reg, err)
                reply = (
                    f"जन संवाद: अभी संभव नहीं, कृपया {helpline} पर कॉल करें।"
                    if hindi
                    else f"Jan Samvad: please try again later or call {helpline}."
                )
    twiml.message(reply)
    return Response(content=str(twiml), media_type="application/xml")


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


class UnreachableItem(BaseModel):
    complaint: ComplaintSummary
    template: str
    status: MessageStatus
    error: str | None
    at: str


class UnreachableList(BaseModel):
    data: list[UnreachableItem]
    count: int


# The work list is the telecallers' (and the administrator's, who looks after the gateway);
# the webhooks above stay tokenless: Twilio's signature authenticates them.
UNREACHABLE_READERS = (Role.TELECALLER, Role.ADMINISTRATOR)


@router.get("/v1/sms/unreachable", response_model=UnreachableList, tags=["work lists"])
def citizens_unreachable_by_sms(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*UNREACHABLE_READERS))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UnreachableList:
    """Open cases whose citizen is not reachable by SMS (the latest SMS to them failed or was
    undelivered): telecallers call them instead."""
    latest = (
        select(func.max(Message.id).label("id"))
        .where(Message.recipient_kind == RecipientKind.CITIZEN)
        .group_by(col(Message.complaint_id))
        .subquery()
    )
    rows = session.exec(
        select(Complaint, Message)
        .join(Message, col(Message.complaint_id) == col(Complaint.id))
        .join(latest, col(Message.id) == latest.c.id)
        .where(
            col(Message.status).in_([MessageStatus.FAILED, MessageStatus.UNDELIVERED]),
            col(Complaint.status).in_(OPEN_STATUSES),
            case_filter(principal, UNREACHABLE_READERS),
        )
        .order_by(col(Complaint.urgent).desc(), col(Message.updated_at).desc())
        .limit(limit)
    ).all()
    now = utcnow()
    items = [
        UnreachableItem(
            complaint=summary(complaint, now),
            template=message.template,
            status=message.status,
            error=message.error,
            at=(ist(message.updated_at) or message.updated_at).isoformat(),
        )
        for complaint, message in rows
    ]
    return UnreachableList(data=items, count=len(items))
