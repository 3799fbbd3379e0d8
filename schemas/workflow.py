"""Inputs and results of the workflows, their messages and their activities.

One model in, one model out, so that fields can be added compatibly later. Models carry no
citizen name, phone or address: activities look those up in the read model by registration
number, so workflow histories and search attributes stay free of personal data.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from schemas.calendar import IstDateTime, IstModel, Kind
from schemas.enums import (
    Channel,
    ClosureReason,
    ComplaintKind,
    ComplaintStatus,
    EscalationLevel,
    Language,
    Level,
    MessageStatus,
    OfficerRole,
    RecipientKind,
    Status,
)
from schemas.escalation import Ladder
from schemas.policy import Policy
from schemas.reference import DepartmentName, DistrictName
from schemas.voice import IvrState

DEFAULT_MAX_HISTORY_EVENTS = 1_000
# Who acted comes from the caller's token, never from a request body: the API builds these
# messages from a body of schemas/actions.py (which has no actor) and the token's subject.
FROM_TOKEN = "Set by the API from the caller's token."
# Who acted, as the workflow records it; left out of the published schema.
Actor = Annotated[SkipJsonSchema[str], Field(min_length=1, max_length=200, description=FROM_TOKEN)]


def workflow_id_for(registration_number: str, prefix: str = "") -> str:
    """`20983/2018` -> `complaint-2018-20983` (after an optional deployment prefix)."""
    sequence, year = registration_number.split("/")
    return f"{prefix}complaint-{year}-{sequence}"


class OfficerAssignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    officer_id: str
    name: str
    designation: str
    role: OfficerRole
    district: str | None = None
    department: str | None = None
    # Set when no officer of the case's district/department was on record.
    gap: str | None = None


class ReviewSlot(IstModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    session_id: str
    starts_at: datetime


class ReportOutcome(StrEnum):
    # complaints
    RESOLVED = "resolved"
    PARTIALLY_RESOLVED = "partially_resolved"
    NOT_ACTIONABLE = "not_actionable"
    TRANSFERRED = "transferred"
    # suggestions
    ACCEPTED = "accepted"
    UNDER_CONSIDERATION = "under_consideration"
    NOT_ACCEPTED = "not_accepted"


COMPLAINT_OUTCOMES = frozenset(
    {
        ReportOutcome.RESOLVED,
        ReportOutcome.PARTIALLY_RESOLVED,
        ReportOutcome.NOT_ACTIONABLE,
        ReportOutcome.TRANSFERRED,
    }
)
SUGGESTION_OUTCOMES = frozenset(
    {
        ReportOutcome.ACCEPTED,
        ReportOutcome.UNDER_CONSIDERATION,
        ReportOutcome.NOT_ACCEPTED,
        ReportOutcome.TRANSFERRED,
    }
)


class DepartmentReport(BaseModel):
    """The nodal officer's report (update). `reply` is the department's reply, verbatim."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: ReportOutcome
    reply: str = Field(min_length=1, max_length=4000)
    submitted_by: Actor = ""
    transfer_to_district: DistrictName | None = Field(
        default=None, description="A district, in English or Hindi, any case or common spelling."
    )
    transfer_to_department: DepartmentName | None = Field(
        default=None, description="A department code, or its name in English or Hindi."
    )
    # Not actionable: why, a code of the state's list (`Policy.not_actionable_reasons`).
    reason: str | None = Field(default=None, max_length=40)


class InterimReply(IstModel):
    """An officer running late tells the citizen why and by when (update). It never moves the
    case's deadline: an `expected_by` past it is a request for an extension, which the next
    review decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=2000)
    # Without an offset: IST (schemas.calendar.assume_ist).
    expected_by: IstDateTime
    submitted_by: Actor = ""


class RatingChannel(StrEnum):
    """How a citizen's rating of a closure came in."""

    SMS = "sms"  # a digit in reply to the closure SMS
    CALL = "call"  # on the verification call
    PAGE = "page"  # the citizen's own page (phone checked)
    DESK = "desk"  # through a telecaller at the desk
    WHATSAPP = "whatsapp"  # a digit in reply on WhatsApp


class ClosureRating(BaseModel):
    """The citizen rates a closure 1-5, within the appeal window (update); 1 or 2, or an
    explicit `appeal`, appeals it: the case goes one rung up its ladder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: int = Field(ge=1, le=5)
    via: RatingChannel
    appeal: bool = False
    remark: str | None = Field(default=None, max_length=2000)
    recorded_by: SkipJsonSchema[str] = Field(default="citizen", description=FROM_TOKEN)


class CallbackOutcome(StrEnum):
    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"
    UNREACHABLE = "unreachable"


class CallbackResult(BaseModel):
    """What the telecaller heard on the verification call (update)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: CallbackOutcome
    remark: str | None = Field(default=None, max_length=2000)
    telecaller: Actor = ""


class ReviewRequest(BaseModel):
    """A citizen asks for their case to be reviewed (update)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str | None = Field(default=None, max_length=2000)
    # How the request came in (`api`, `sms`) and who made it: the staff member's token
    # subject when one acts for the citizen, `citizen` when the citizen did (SMS).
    via: SkipJsonSchema[str] = "api"
    requested_by: SkipJsonSchema[str] = Field(default="citizen", description=FROM_TOKEN)


class Withdrawal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    recorded_by: SkipJsonSchema[str] = Field(default="citizen", description=FROM_TOKEN)


class RepeatContact(BaseModel):
    """The citizen called again about an open case: the call is linked to it (a timeline
    entry, the citizen told the case's number by SMS) instead of registered as a new case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # What the citizen said this time (the new call's words).
    note: str | None = Field(default=None, max_length=4000)
    via: str = Field(default="call_centre", max_length=30)
    recorded_by: SkipJsonSchema[str] = Field(default="citizen", description=FROM_TOKEN)


class Reopening(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    recorded_by: SkipJsonSchema[str] = Field(default="citizen", description=FROM_TOKEN)


class DecisionKind(StrEnum):
    DIRECTIVE = "directive"
    CLOSE = "close"


class ReviewDecision(IstModel):
    """A weekly review's or Sidhi Baat's decision on a case (update).

    A directive sends the case back to an officer with a new deadline; a closure needs a reason
    and is only allowed once the citizen was informed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: DecisionKind
    text: str = Field(min_length=1, max_length=4000)
    decided_by: Actor = ""
    responsible_officer_id: str | None = None
    # Without an offset: IST (schemas.calendar.assume_ist).
    new_deadline: IstDateTime | None = None
    citizen_informed: bool = False
    session_id: str | None = None
    # A bulk directive's case: the session tells each officer once for all their cases (one
    # SMS, not one per case), so the case sends its officer none of its own.
    officer_told_by_session: bool = False


class ActionResult(IstModel):
    """What every accepted update answers: where the case stands now."""

    registration_number: str
    status: Status
    escalation_level: Level
    next_deadline: datetime | None
    review: ReviewSlot | None = None
    message: str


class SmsTemplate(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    FORWARDED = "forwarded"
    OFFICER_ASSIGNED = "officer_assigned"
    OFFICER_REMINDER = "officer_reminder"
    REPORT_RECEIVED = "report_received"
    SUGGESTION_ANSWERED = "suggestion_answered"
    CLOSED = "closed"
    ESCALATED = "escalated"
    DIRECTIVE = "directive"
    REVIEW_REQUEST_ANSWER = "review_request_answer"
    WITHDRAWN = "withdrawn"
    REOPENED = "reopened"
    OFFICER_URGENT = "officer_urgent"
    ESCALATED_SIDHI_BAAT = "escalated_sidhi_baat"
    REPEAT_CONTACT = "repeat_contact"  # a repeat call linked to the case: its number again
    OFFICER_DIRECTIVE = "officer_directive"  # the officer's own notice of a review's directive
    # A suggestion the department is still considering (its final answer is due next).
    SUGGESTION_UNDER_CONSIDERATION = "suggestion_under_consideration"
    # An officer running late: why, and by when they expect to finish.
    INTERIM_REPLY = "interim_reply"


class QueuedSms(IstModel):
    """One SMS a transition owes, waiting in the case's own queue (`ComplaintState.outbox`).

    Queued as part of the transition and sent after it by the case's outbox coroutine, in
    order. `key` is the message's identity (`reg:event_seq:template:recipient`): every attempt,
    retry and redelivery round uses it, so the message is sent at most once.

    Staleness: a message bound to an assignment (`assignment`, the case's assignment counter
    when queued) is dropped once the case has moved to another assignment; one bound to a moment
    (`valid_until`, e.g. a reminder's deadline) is dropped once that moment has passed. Other
    messages (acknowledgement, escalation, directive, closure...) are sent late rather than never.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    template: SmsTemplate
    recipient: RecipientKind
    officer_id: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    urgent: bool = False
    queued_at: datetime
    assignment: int | None = None
    valid_until: datetime | None = None
    # Redelivery rounds after the retry budget of a round was spent (gateway down).
    rounds: int = 0
    not_before: datetime | None = None


class ComplaintState(IstModel):
    """The live state of a case; carried across continue-as-new."""

    status: Status = ComplaintStatus.REGISTERED
    escalation_level: Level = EscalationLevel.NODAL_OFFICER
    next_deadline: datetime | None = None
    acknowledged: bool = False
    officer: OfficerAssignment | None = None
    report_window_start: datetime | None = None
    reminders_sent: int = 0
    last_report: DepartmentReport | None = None
    callback_attempts: int = 0
    callback_due_at: datetime | None = None
    citizen_unsatisfied: bool = False
    citizen_remark: str | None = None
    review: ReviewSlot | None = None
    rollovers: int = 0
    directives_received: int = 0
    review_requests: int = 0
    transfers: int = 0
    reopenings: int = 0
    # Later calls from the citizen linked to the case.
    repeat_contacts: int = 0
    closure_reason: ClosureReason | None = None
    closed_at: datetime | None = None
    event_seq: int = 0
    continued: int = 0
    # The moment the case was promised to be dealt with: registration + its report window,
    # then a directive's deadline, a reopening's new window. Transfers
    # never move it.
    promise_at: datetime | None = None
    # Bumped whenever the case is put with an officer (forwarding, transfer, directive,
    # reopening): messages about an earlier assignment are stale.
    assignments: int = 0
    # SMS owed by transitions already recorded, oldest first (see QueuedSms).
    outbox: list[QueuedSms] = Field(default_factory=list)
    # The code of the rung of the case's ladder it stands on (None: a state carried without
    # one, whose rung its `escalation_level` names).
    rung: str | None = None
    # The machine's verification calls while the case awaits its verification.
    ivr: IvrState | None = None
    # Interim replies: how many, the last one's reason and expected
    # date, and the extension it asks for when that date is past the case's deadline (the
    # next review decides; a directive answers it).
    interim_replies: int = 0
    # Closures, and the citizen's rating of the latest: the number of
    # the closure last appealed (one appeal per closure) and how many appeals in all.
    closures: int = 0
    rating: int | None = None
    rated_via: str | None = None
    appealed_closure: int = 0
    appeals: int = 0
    interim_reason: str | None = None
    interim_expected_by: datetime | None = None
    extension_requested_until: datetime | None = None


class ComplaintWorkflowInput(BaseModel):
    """Start (or continue-as-new) a complaint's workflow."""

    model_config = ConfigDict(frozen=True)

    registration_number: str
    kind: ComplaintKind
    channel: Channel
    district: str
    department: str | None
    category: str | None
    urgent: bool
    wishes_to_meet_cm: bool
    language: Language
    registered_at: datetime
    # Who registered it (the telecaller's or integration's token subject); None before it
    # was recorded, when the timeline credited the channel.
    registered_by: str | None = None
    policy: Policy = Policy()
    # The escalation ladder the case was registered under (LADDER, LADDER_FILE), kept for its
    # life like the policy; None: registered before ladders travelled, the seed's ladder.
    ladder: Ladder | None = None
    # Continue-as-new once a run's history is this long (Temporal's own limit is far higher).
    max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS
    # Task queue of the SMS activities (None: the workflow's own queue).
    sms_task_queue: str | None = None
    # Task queue of the read-model activities (routing, projection); None: the workflow's own.
    # An input field, not a code change, so workflows already running keep their queue.
    db_task_queue: str | None = None
    state: ComplaintState | None = None


class ComplaintWorkflowResult(BaseModel):
    registration_number: str
    status: Status
    closure_reason: ClosureReason | None


# ---- activities -------------------------------------------------------------------------


class SendSmsInput(BaseModel):
    """Send one SMS; `key` identifies it so that retries never send it twice."""

    model_config = ConfigDict(frozen=True)

    registration_number: str
    key: str
    template: SmsTemplate
    recipient: RecipientKind
    officer_id: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    # A redelivery round: a message given up earlier (gateway down) may be sent again.
    redelivery: bool = False


class MarkUnsentInput(BaseModel):
    """A message whose retry budget is spent: marked failed, with why, until a later round."""

    model_config = ConfigDict(frozen=True)

    key: str
    reason: str


class SendSmsResult(BaseModel):
    key: str
    status: MessageStatus
    duplicate: bool = False


class DeliveryReceipt(BaseModel):
    """The gateway's final word on one SMS (signal): delivered, undelivered or failed."""

    model_config = ConfigDict(frozen=True)

    key: str
    template: str
    recipient: RecipientKind
    status: MessageStatus
    error: str | None = None


class RouteInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    registration_number: str
    district: str
    department: str | None
    urgent: bool


class CaseSnapshot(BaseModel):
    """The fields of the read model that the workflow owns."""

    status: Status
    escalation_level: Level
    next_deadline: datetime | None
    officer: OfficerAssignment | None
    review: ReviewSlot | None
    closure_reason: ClosureReason | None
    closed_at: datetime | None
    last_reply: str | None
    citizen_remark: str | None
    callback_due_at: datetime | None
    callback_attempts: int
    # Sessions in a row that left it undecided (None: a run from before it was projected).
    undecided_times: int | None = None
    # Repeat calls linked to the case (None: a run from before they were projected).
    repeat_contacts: int | None = None
    # Interim replies (None: a run from before they were projected).
    interim_replies: int | None = None
    interim_reason: str | None = None
    interim_expected_by: datetime | None = None
    extension_requested_until: datetime | None = None
    # The last report's reason code (a "not actionable" report names one).
    report_reason: str | None = None
    # The citizen's rating of the latest closure, and appeals (None: a run from before).
    rating: int | None = None
    appeals: int | None = None


class RecordTransitionInput(BaseModel):
    """One step of a case: a timeline entry plus the state it leaves the case in."""

    model_config = ConfigDict(frozen=True)

    registration_number: str
    seq: int
    at: datetime
    event: str
    actor: str
    note: str | None
    snapshot: CaseSnapshot
    # How the action came in (a registration's channel, `api`, `sms`; None: the case's own
    # timers and workers), and whether `actor` acted for the citizen.
    channel: str | None = None
    for_citizen: bool = False
    # The case's district follows its officer's (a transfer to another district moves it);
    # False keeps the registered district.
    follow_district: bool = False


class ReconcileResult(BaseModel):
    started: list[str]
