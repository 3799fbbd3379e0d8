"""Closure the citizen trusts: the API's own checks of reasons against the state's
lists, before the case's workflow checks them again against the policy it was registered
under (which a state may have changed since)."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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
from schemas.enums import ComplaintKind, ComplaintStatus
from schemas.policy import Policy
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


class RatingAnswer(StrEnum):
    """What became of a citizen's own rating (SMS digit, their page)."""

    RATED = "rated"
    APPEALED = "appealed"  # 1 or 2, or an explicit appeal: one rung up
    REFUSED = "refused"  # the case says no (the window ended, already appealed): `reason`
    FAILED = "failed"  # the workflow service did not answer: try again later


@dataclass(frozen=True)
class RatingOutcome:
    answer: RatingAnswer
    # The case's refusal in the citizen's language (REFUSED only).
    reason: str | None = None


async def rate_as_citizen(
    app: AppState,
    row: Complaint,
    score: int,
    via: RatingChannel,
    *,
    request_id: str | None,
    appeal: bool = False,
) -> RatingOutcome:
    """The citizen's own rating of the case's latest closure (an SMS digit, their page): one
    path for both. `request_id` (the SMS's SID, the page form's token) makes a redelivered
    message or a resubmitted form one update, applied once."""
    handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
    try:
        result = await execute_within(
            handle,
            ComplaintWorkflow.rate_closure,
            ClosureRating(score=score, appeal=appeal, via=via),
            budget=app.settings.action_timeout_seconds,
            update_id=f"rate_closure:{via.value}:{request_id}" if request_id else None,
        )
    except ApiError as problem:
        if problem.status_code == 409:
            language = row.language
            reason = problem.extra.get(f"detail_{language}") if language != "en" else None
            return RatingOutcome(RatingAnswer.REFUSED, str(reason or problem.detail))
        log.warning("rating by %s for %s failed: %s", via.value, row.registration_number, problem)
        return RatingOutcome(RatingAnswer.FAILED)
    if result.status is not ComplaintStatus.CLOSED:
        return RatingOutcome(RatingAnswer.APPEALED)
    return RatingOutcome(RatingAnswer.RATED)


def rating_offered(row: Complaint, policy: Policy, now: datetime) -> datetime | None:
    """Until when the citizen's page offers to rate the case's closure: a closed complaint
    not yet rated, within the appeal window of the policy recorded with it; None otherwise."""
    if (
        row.status is not ComplaintStatus.CLOSED
        or row.closed_at is None
        or row.kind is not ComplaintKind.COMPLAINT
        or row.rating is not None
    ):
        return None
    until = row.closed_at + policy.appeal_window
    return until if until > now else None


def closure_token(row: Complaint) -> str:
    """The page's rating form's token for the case's current closure: the same for every
    form of one closure, so that the page's rating is one update per closure (a resubmitted
    or second form answers the first one's answer, applied once)."""
    moment = row.closed_at.isoformat() if row.closed_at else "open"
    return hashlib.sha256(f"{row.workflow_id}|{moment}".encode()).hexdigest()[:32]


async def rate_by_sms(
    app: AppState,
    sender: str,
    score: int,
    sid: str | None,
    via: RatingChannel = RatingChannel.SMS,
) -> str:
    """Record a digit as the rating of the sender's latest closure; the reply says so, or
    why not (the window ended: how to file anew). Twilio's redelivery of the same SMS is one
    update (its SID). `via`: SMS, or WhatsApp for a digit sent there."""
    helpline = app.settings.helpline_number
    row = await run_in_threadpool(_latest_closed, app.engine, sender)
    if row is None or row.workflow_started_at is None:
        return reply("reply|help", "en", helpline=helpline)
    language, reg = row.language, row.registration_number
    outcome = await rate_as_citizen(app, row, score, via, request_id=sid)
    if outcome.answer is RatingAnswer.REFUSED:
        return reply(
            "reply|rating_refused",
            language,
            reg=reg,
            reason=outcome.reason or "",
            helpline=helpline,
        )
    if outcome.answer is RatingAnswer.FAILED:
        return reply("reply|try_later", language, helpline=helpline)
    if outcome.answer is RatingAnswer.APPEALED:
        return reply("reply|appealed", language, reg=reg)
    return reply("reply|rated", language, reg=reg, score=str(score))
