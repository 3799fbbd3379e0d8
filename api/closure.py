"""Closure the citizen trusts: the API's own checks of reasons against the state's
lists, before the case's workflow checks them again against the policy it was registered
under (which a state may have changed since)."""

from __future__ import annotations

import logging
import re

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from activities.templates import reply
from api.actions import CaseAction
from api.deps import AppState
from api.errors import ApiError, refused
from api.updates import execute_within
from core.db import read_session
from core.models import Complaint
from schemas.complaint import normalise_phone
from schemas.enums import ComplaintStatus
from schemas.workflow import ActionResult, ClosureRating, RatingChannel
from workflows.complaint import ComplaintWorkflow


def interim_reason_listed(reason: str, allowed: tuple[str, ...]) -> None:
    """422 naming `reason` unless it is one of this state's interim-reply reasons."""
    if reason not in allowed:
        error = refused(
            422, "reason_not_listed", field="reason", value=reason, valid=", ".join(allowed)
        )
        error.extra["errors"] = [{"field": "reason", "message": error.detail}]
        raise error


async def rate_on_call(act: CaseAction, answer: ActionResult, score: int | None) -> ActionResult:
    """The rating the citizen gave on the verification call, once the call closed the case
    (otherwise there is no closure to rate: the call's own answer stands)."""
    if score is None or answer.status is not ComplaintStatus.CLOSED:
        return answer
    rated = await act.execute(
        ComplaintWorkflow.rate_closure,
        ClosureRating(score=score, via=RatingChannel.CALL, recorded_by=act.actor),
    )
    return rated


log = logging.getLogger(__name__)

_DIGIT = re.compile(r"[1-5]")


def rating_digit(text: str) -> int | None:
    """A rating sent by SMS: one digit 1-5 alone (after the closure SMS asked for it)."""
    return int(text) if _DIGIT.fullmatch(text.strip().strip(".।")) else None


def _latest_closed(engine: Engine, sender: str) -> Complaint | None:
    """The sender's most recently closed case (the closure SMS they are answering)."""
    try:
        phone = normalise_phone(sender)
    except ValueError:
        return None
    with read_session(engine) as session:
        return session.exec(
            select(Complaint)
            .where(
                Complaint.citizen_phone == phone,
                Complaint.status == ComplaintStatus.CLOSED,
                col(Complaint.closed_at).is_not(None),
            )
            .order_by(col(Complaint.closed_at).desc())
            .limit(1)
        ).first()


async def rate_by_sms(app: AppState, sender: str, score: int, sid: str | None) -> str:
    """Record a digit as the rating of the sender's latest closure; the reply says so, or
    why not (the window ended: how to file anew). Twilio's redelivery of the same SMS is one
    update (its SID)."""
    helpline = app.settings.helpline_number
    row = await run_in_threadpool(_latest_closed, app.engine, sender)
    if row is None or row.workflow_started_at is None:
        return reply("reply|help", "en", helpline=helpline)
    language, reg = row.language, row.registration_number
    handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
    try:
        result = await execute_within(
            handle,
            ComplaintWorkflow.rate_closure,
            ClosureRating(score=score, via=RatingChannel.SMS),
            budget=app.settings.action_timeout_seconds,
            update_id=f"rate_closure:sms:{sid}" if sid else None,
        )
    except ApiError as problem:
        if problem.status_code == 409:
            reason = problem.extra.get(f"detail_{language}") if language != "en" else None
            return reply(
                "reply|rating_refused",
                language,
                reg=reg,
                reason=str(reason or problem.detail),
                helpline=helpline,
            )
        log.warning("rating by SMS for %s failed: %s", reg, problem)
        return reply("reply|try_later", language, helpline=helpline)
    if result.status is not ComplaintStatus.CLOSED:
        return reply("reply|appealed", language, reg=reg)
    return reply("reply|rated", language, reg=reg, score=str(score))
