"""Review meetings (weekly review, Sidhi Baat): inputs and results of the session workflows,
their updates and their activities, and the API's answers about sessions (`/v1/reviews`).

One model in, one model out. Agenda items carry the department's reply and the citizen's
remark (the meeting needs them) but no citizen name, phone or address.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.calendar import IstDateTime, IstModel, SessionKind
from schemas.enums import ComplaintKind, ComplaintStatus
from schemas.escalation import Forum
from schemas.policy import Policy
from schemas.workflow import Actor, DecisionKind

# Where the meetings happen; named in the notices and invitations, each an SMS variable of at
# most 30 characters (the secretariat may change them per session).
DEFAULT_TELECONFERENCE = "CMO teleconference bridge"
DEFAULT_VENUE = "Project Bhawan, Dhurwa, Ranchi"


class SessionPhase(StrEnum):
    SCHEDULED = "scheduled"  # open for cases; the agenda is not frozen yet
    AGENDA_FROZEN = "agenda_frozen"  # cutoff passed: notices sent, decisions accepted
    CLOSED = "closed"  # minutes final; undecided cases rolled over


class ItemOutcome(StrEnum):
    PENDING = "pending"
    DIRECTIVE = "directive"
    CLOSED = "closed"
    ROLLED_OVER = "rolled_over"
    # An "awaiting Sidhi Baat" case, prepared at a weekly review and decided at Sidhi Baat.
    PREPARED = "prepared"


class AgendaSection(StrEnum):
    """Where a case stands on an agenda."""

    # Escalated to this session: decided here, or rolled over at the close.
    FOR_DECISION = "for_decision"
    # Bound for a later Sidhi Baat: on every weekly review until then, so the CM secretary
    # prepares it with the district (never more than a week without a review); decided at
    # Sidhi Baat, neither decided nor rolled over here.
    AWAITING_SIDHI_BAAT = "awaiting_sidhi_baat"


class HistoryEntry(IstModel):
    """One step of a case's escalation history (from its timeline)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    event: str
    note: str | None = None


class AgendaItem(IstModel):
    """One case on a session's agenda, as it stood when the agenda was frozen."""

    model_config = ConfigDict(frozen=True)

    registration_number: str
    workflow_id: str
    kind: ComplaintKind
    district: str
    department: str | None
    category: str | None
    subject: str
    registered_at: datetime
    age_days: int
    status: ComplaintStatus
    escalation_level: int
    escalation_history: list[HistoryEntry] = Field(default_factory=list)
    last_reply: str | None = None
    citizen_remark: str | None = None
    wishes_to_meet_cm: bool = False
    assigned_officer_id: str | None = None
    # The district's nodal officer, who is told about the session (None: none on record).
    nodal_officer_id: str | None = None
    section: AgendaSection = AgendaSection.FOR_DECISION
    # Sessions that left it undecided since it was escalated or last directed (it leads the
    # agenda: the longest-undecided first).
    undecided_times: int = 0
    # For an "awaiting Sidhi Baat" case: the Sidhi Baat session it is bound for.
    sidhi_baat_at: datetime | None = None
    # An interim reply asked for more time than the case's deadline: until when (the review
    # decides; its directive's deadline answers it). None: no extension asked.
    extension_requested_until: datetime | None = None
    # A "not actionable" report's reason code (the review sees them grouped).
    report_reason: str | None = None


class ReviewSessionInput(BaseModel):
    """Start one session workflow (ID: prefix + `session_id`)."""

    model_config = ConfigDict(frozen=True)

    kind: SessionKind
    session_id: str
    starts_at: datetime
    cutoff_at: datetime
    # Undecided at `starts_at + close_after`: the session closes by itself (the complaints'
    # own rollover timers fire at the same moment).
    close_after: timedelta = timedelta(days=1)
    teleconference: str = DEFAULT_TELECONFERENCE
    venue: str = DEFAULT_VENUE
    # Queue of the notices and invitations (the rate-limited SMS queue); None: the session's own.
    sms_task_queue: str | None = None
    # The district whose session it is, for a forum each district holds (the DC's review).
    district: str | None = None
    # Whether citizens who asked to meet the CM are invited (the forum's `invites_citizens`);
    # None: a session opened before forums said so (Sidhi Baat invites).
    invites_citizens: bool | None = None


class DecisionRequest(IstModel):
    """The reviewer's decision on one case of the agenda (update of the session)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    registration_number: str = Field(min_length=3, max_length=20)
    decision: DecisionKind
    text: str = Field(min_length=1, max_length=4000)
    decided_by: Actor = ""
    responsible_officer_id: str | None = None
    # Without an offset: IST (schemas.calendar.assume_ist).
    new_deadline: IstDateTime | None = None
    citizen_informed: bool = False


class DecisionRecord(IstModel):
    """A decision as delivered to the complaint and kept in the minutes."""

    registration_number: str
    decision: DecisionKind
    text: str
    decided_by: str
    responsible_officer_id: str | None
    new_deadline: datetime | None
    citizen_informed: bool
    decided_at: datetime
    case_status: ComplaintStatus
    case_next_deadline: datetime | None


class CloseSessionRequest(BaseModel):
    """Close the session (update): undecided cases roll over, the minutes become final."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    closed_by: Actor = ""


class SessionSummary(IstModel):
    """Where a session stands (query), and its result."""

    session_id: str
    kind: SessionKind
    phase: SessionPhase
    starts_at: datetime
    cutoff_at: datetime
    agenda: list[AgendaItem] = Field(default_factory=list)
    decisions: list[DecisionRecord] = Field(default_factory=list)
    rolled_over: list[str] = Field(default_factory=list)
    notices_sent: int = 0
    closed_by: str | None = None


class RollOverRequest(BaseModel):
    """A session closed without deciding the case: on to the next session now (update of the
    complaint)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    session_id: str
    # Who closed the session (a reviewer), recorded as the rollover's actor; None: its timer.
    closed_by: str | None = None
    requested_by: str = "review-session"


class PlannerInput(BaseModel):
    """What a review Schedule passes to the planner: which kind of session to open ahead."""

    model_config = ConfigDict(frozen=True)

    kind: SessionKind
    policy: Policy = Policy()
    workflow_id_prefix: str = ""
    # How many sessions of the kind to keep open ahead (the current one included).
    sessions_ahead: int = Field(default=2, ge=1, le=8)
    teleconference: str = DEFAULT_TELECONFERENCE
    venue: str = DEFAULT_VENUE
    sms_task_queue: str | None = None  # passed on to the sessions it opens
    # The forum of the configured ladder to open sittings of (its calendar, cutoff, rollover
    # time); None: a schedule from before ladders, planning `kind` by the policy.
    forum: Forum | None = None


class PlannerResult(BaseModel):
    opened: list[str]
    already_open: list[str]


# ---- activities -------------------------------------------------------------------------


class SessionRecordInput(BaseModel):
    """Create or update the session's row in the read model (idempotent)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    kind: SessionKind
    starts_at: datetime
    cutoff_at: datetime
    workflow_id: str
    phase: SessionPhase
    at: datetime
    closed_by: str | None = None


class FreezeAgendaInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    frozen_at: datetime


class Agenda(BaseModel):
    items: list[AgendaItem]


class OfficerNoticeInput(BaseModel):
    """The meeting notice to one district nodal officer (once per officer per session)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    kind: SessionKind
    starts_at: datetime
    officer_id: str
    districts: list[str]
    case_count: int
    teleconference: str


class CitizenInvitationInput(BaseModel):
    """The Sidhi Baat invitation to a citizen who asked to meet the Chief Minister."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    starts_at: datetime
    registration_number: str
    venue: str


class NoticeResult(BaseModel):
    key: str
    sent: bool  # False: already sent by an earlier attempt, or refused for good
    error: str | None = None


class DeliverDecisionInput(BaseModel):
    """Deliver one decision to its complaint's workflow and record it in the minutes."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    item: AgendaItem
    request: DecisionRequest
    decided_at: datetime


class RollOverCaseInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    item: AgendaItem
    closed_by: str | None = None


class RollOverCaseResult(BaseModel):
    registration_number: str
    rolled_over: bool
    message: str


# ---- the API's answers about sessions (`/v1/reviews`) ----------------------------------------


class SessionInfo(IstModel):
    session_id: str
    kind: SessionKind
    # The district whose session it is (a forum each district holds); None: the state's.
    district: str | None = None
    date: date
    starts_at: datetime
    cutoff_at: datetime
    phase: SessionPhase
    # Before the cutoff: the cases escalated to it so far (the agenda is not frozen yet).
    agenda_count: int
    decided_count: int
    rolled_over_count: int
    links: dict[str, str]


class SessionList(BaseModel):
    data: list[SessionInfo]
    count: int


class AgendaCase(AgendaItem):
    outcome: ItemOutcome = ItemOutcome.PENDING
    decision_text: str | None = None
    decided_by: str | None = None
    new_deadline: datetime | None = None


class DistrictAgenda(BaseModel):
    district: str
    nodal_officer_id: str | None
    cases: list[AgendaCase]


class SessionAgenda(BaseModel):
    session: SessionInfo
    frozen: bool
    districts: list[DistrictAgenda]


class MinutesEntry(IstModel):
    registration_number: str
    district: str
    subject: str
    # The subject's category code, when the case has one (pages name it in the reader's
    # language; `subject` is the English label, or the description's start).
    category: str | None = None
    outcome: ItemOutcome
    decision_text: str | None
    decided_by: str | None
    responsible_officer_id: str | None
    new_deadline: datetime | None
    citizen_informed: bool
    decided_at: datetime | None


class Minutes(BaseModel):
    session: SessionInfo
    final: bool
    entries: list[MinutesEntry]
