"""Review meetings (weekly review, Sidhi Baat): inputs and results of the session workflows,
their updates and their activities, and the API's answers about sessions (`/v1/reviews`).

One model in, one model out. Agenda items carry the department's reply and the citizen's
remark (the meeting needs them) but no citizen name, phone or address.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.calendar import IstDateTime, IstModel, Kind
from schemas.enums import ComplaintKind, Status
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
    # Closed by the reviewer or its timer: undecided cases rolling over, in batches.
    CLOSING = "closing"
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
    # Escalated to a sitting that hears a bounded number (Sidhi Baat: those who asked to meet
    # the CM, then the worst N): not heard at this one; it rolls over at the close, one more
    # time undecided, so it comes before newer cases at the next (prepared at the weekly
    # reviews between, as every case bound for Sidhi Baat).
    DEFERRED = "deferred"


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
    status: Status
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
    # The citizen's own words (the meeting reads the complaint, not only the reply to it).
    description: str | None = None
    # An urgent case: its desk is the department's urgent desk (`nodal_officer_id` names it).
    urgent: bool = False

    # An interim reply asked for more time than the case's deadline: until when (the review
    # decides; its directive's deadline answers it). None: no extension asked.
    extension_requested_until: datetime | None = None
    # A "not actionable" report's reason code (the review sees them grouped).
    report_reason: str | None = None


class SessionBatches(BaseModel):
    """How a session works through its agenda (settings REVIEW_*_BATCH): every stage runs in
    bounded batches so that no payload, pending-activity count or workflow task grows with
    the agenda (Temporal refuses payloads over 2 MB and more than 2,000 pending activities)."""

    model_config = ConfigDict(frozen=True)

    # Agenda rows written per freeze activity.
    freeze: int = Field(default=500, ge=1, le=5000)
    # Notices and invitations in flight at once (each its own activity on the SMS queue).
    notices: int = Field(default=50, ge=1, le=500)
    # Cases per delivery activity (a bulk decision's, or the close's rollovers).
    decisions: int = Field(default=200, ge=1, le=2000)
    # Case updates in flight at once inside one delivery activity.
    concurrency: int = Field(default=20, ge=1, le=200)
    # Updates a run accepts before it continues as new (Temporal allows 2,000 per run).
    updates_per_run: int = Field(default=500, ge=2, le=1000)
    # Cases a sitting hears beyond those who asked to meet the CM, the worst first (the rest
    # are deferred to the next sitting); None: all (settings SIDHI_BAAT_HEARD_MAX).
    heard_max: int | None = Field(default=None, ge=0, le=100_000)
    # How long a notice or invitation keeps being retried through a gateway outage before it
    # is marked failed and listed with the session (a two-day outage is redelivered).
    notice_retry_for: timedelta = timedelta(days=3)


class SessionCarry(BaseModel):
    """What a batched session carries across continue-as-new: its stage and its counters,
    never its agenda (the read model's rows)."""

    model_config = ConfigDict(frozen=True)

    phase: SessionPhase
    notices_done: bool = False
    notices_sent: int = 0
    notices_failed: int = 0
    close_requested_by: str | None = None
    # Bulk decisions accepted and not yet applied to all their cases, oldest first.
    bulks: list[str] = Field(default_factory=list)
    # Bulk directives applied whose officers are still to be told (one SMS each), oldest first.
    bulk_notices: list[str] = Field(default_factory=list)


class ReviewSessionInput(BaseModel):
    """Start one session workflow (ID: prefix + `session_id`)."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
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
    # Batch sizes of a batched session (None: the defaults).
    batches: SessionBatches | None = None
    # A batched session continued as new: where it stood.
    carried: SessionCarry | None = None


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
    case_status: Status
    case_next_deadline: datetime | None


# A bulk decision names at most this many cases by number ("this page", or a list).
BULK_NUMBERS_MAX = 2000


class BulkSelection(IstModel):
    """Which undecided cases of a session's agenda a bulk decision is for: every criterion
    given must hold (a district AND a department...); at least one is required, so that no
    request decides a whole agenda by an empty form. Cases awaiting Sidhi Baat, and cases
    decided already, are never selected by criteria; named by number, they are refused with
    their reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    districts: list[str] = Field(default_factory=list, max_length=50)
    departments: list[str] = Field(default_factory=list, max_length=100)
    # Subjects: the complaint's category codes.
    categories: list[str] = Field(default_factory=list, max_length=100)
    escalation_levels: list[int] = Field(default_factory=list, max_length=10)
    # Registered at least this many days before the agenda was frozen.
    min_age_days: int | None = Field(default=None, ge=0, le=36500)
    # Left undecided by at least this many sessions.
    min_undecided_times: int | None = Field(default=None, ge=0, le=1000)
    urgent: bool | None = None
    wishes_to_meet_cm: bool | None = None
    # "This page" or a list of numbers.
    registration_numbers: list[str] = Field(default_factory=list, max_length=BULK_NUMBERS_MAX)

    def is_empty(self) -> bool:
        return not any(
            (
                self.districts,
                self.departments,
                self.categories,
                self.escalation_levels,
                self.min_age_days is not None,
                self.min_undecided_times is not None,
                self.urgent is not None,
                self.wishes_to_meet_cm is not None,
                self.registration_numbers,
            )
        )


class BulkDecisionRequest(IstModel):
    """One directive, or one closure at review, for every case a selection names (update of
    the session). Each case receives it as its own decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    selection: BulkSelection
    decision: DecisionKind
    text: str = Field(min_length=1, max_length=4000)
    decided_by: Actor = ""
    responsible_officer_id: str | None = None
    new_deadline: IstDateTime | None = None
    citizen_informed: bool = False

    def for_case(self, registration_number: str) -> DecisionRequest:
        """The decision one case of the selection receives."""
        return DecisionRequest(
            registration_number=registration_number,
            **self.model_dump(exclude={"selection"}),
        )


class BulkRefusal(BaseModel):
    registration_number: str
    key: str  # a refusal of `schemas.refusals`
    reason: str  # its English text


class BulkProgress(IstModel):
    """A bulk decision: how many of its cases have received it (N of M), and which refused."""

    bulk_id: str
    session_id: str
    decision: DecisionKind
    text: str
    decided_by: str
    responsible_officer_id: str | None = None
    new_deadline: datetime | None = None
    decided_at: datetime
    total: int  # M: the cases selected
    applied: int  # N: the cases that took it
    refused: int
    done: bool
    # The first refusals (at most 200; `refused` counts them all), with their reasons.
    refusals: list[BulkRefusal] = Field(default_factory=list)
    links: dict[str, str] = Field(default_factory=dict)


class CloseSessionRequest(BaseModel):
    """Close the session (update): undecided cases roll over, the minutes become final."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    closed_by: Actor = ""


class SessionSummary(IstModel):
    """Where a session stands (query), and its result.

    A batched session (every session opened since batched sessions) answers with counts
    alone: its agenda, decisions and rollovers are the read model's rows (`/v1/reviews`), so
    the answer stays small at any agenda size. The lists are filled only by sessions opened
    before, which held their agenda in the workflow.
    """

    session_id: str
    kind: Kind
    phase: SessionPhase
    starts_at: datetime
    cutoff_at: datetime
    agenda: list[AgendaItem] = Field(default_factory=list)
    decisions: list[DecisionRecord] = Field(default_factory=list)
    rolled_over: list[str] = Field(default_factory=list)
    notices_sent: int = 0
    closed_by: str | None = None
    agenda_count: int = 0
    decided_count: int = 0
    rolled_over_count: int = 0
    notices_failed: int = 0
    # Bulk decisions still being applied (their IDs).
    bulks_pending: list[str] = Field(default_factory=list)


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

    kind: Kind
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
    # Batch sizes of the sessions it opens (settings REVIEW_*; None: the defaults).
    batches: SessionBatches | None = None


class PlannerResult(BaseModel):
    opened: list[str]
    already_open: list[str]


# ---- activities -------------------------------------------------------------------------


class SessionRecordInput(BaseModel):
    """Create or update the session's row in the read model (idempotent)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    kind: Kind
    starts_at: datetime
    cutoff_at: datetime
    workflow_id: str
    phase: SessionPhase
    at: datetime
    closed_by: str | None = None
    # A batched session's notice counts (None: left as they are).
    notices_sent: int | None = None
    notices_failed: int | None = None


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
    kind: Kind
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


# ---- activities of batched sessions: ids and counts in, counts out ---------------------------


class FreezePageInput(BaseModel):
    """Freeze the next page of the agenda (complaints after `after_id`, by id)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    frozen_at: datetime
    section: AgendaSection
    after_id: int = 0
    limit: int


class DeferInput(BaseModel):
    """Keep a sitting to those who asked to meet the CM and the worst `heard_max` others."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    heard_max: int


class FreezePageResult(BaseModel):
    added: int
    last_id: int
    done: bool


class NoticePageInput(BaseModel):
    """The next page of a session's notice recipients after `after` (an officer id, or a
    registration number for invitations)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    citizens: bool
    after: str = ""
    limit: int


class NoticeRecipient(BaseModel):
    model_config = ConfigDict(frozen=True)

    # An officer with their districts and case count, or a citizen's registration number.
    key: str
    districts: list[str] = Field(default_factory=list)
    case_count: int = 0
    # A bulk directive's officer: the earliest deadline among their cases.
    due: datetime | None = None


class BulkNoticePageInput(BaseModel):
    """The next page (after officer id `after`) of the officers a bulk directive put cases
    with, each to be told once for all of them."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    bulk_id: str
    after: str = ""
    limit: int


class BulkNoticeInput(BaseModel):
    """One officer told of a bulk directive: how many of their cases, of which districts,
    by when (once per officer per bulk)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    bulk_id: str
    kind: Kind
    starts_at: datetime
    officer_id: str
    districts: list[str]
    case_count: int
    due: datetime


def bulk_notice_key(session_id: str, bulk_id: str, officer_id: str) -> str:
    """The SMS key of a bulk directive's notice to one officer (at most 70 characters:
    `<session>:bulk:<digest of bulk and officer>`), under the session's own prefix."""
    digest = hashlib.sha256(f"{bulk_id}\n{officer_id}".encode()).hexdigest()[:24]
    return f"{session_id}:bulk:{digest}"


class NoticePage(BaseModel):
    recipients: list[NoticeRecipient]


class NoticeFailedInput(BaseModel):
    """A notice or invitation no attempt could hand to the gateway before the session: its
    message is marked failed (listed with the session), never left pending."""

    model_config = ConfigDict(frozen=True)

    key: str
    reason: str


class DecideCaseInput(BaseModel):
    """One decision of the reviewer, checked against the agenda's row, delivered, recorded."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    request: DecisionRequest
    decided_at: datetime


class OpenBulkInput(BaseModel):
    """Record a bulk decision and mark the cases it selects (idempotent by `bulk_id`)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    bulk_id: str
    request: BulkDecisionRequest
    decided_at: datetime
    # A directive's officers told once each by the session, not once per case by the case
    # (False: the bulks of sessions that began before).
    tells_officers: bool = False


class BatchInput(BaseModel):
    """Deliver the next batch: a bulk decision's cases (`bulk_id`), or the close's rollovers
    (`bulk_id` None)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    bulk_id: str | None = None
    closed_by: str | None = None
    limit: int
    concurrency: int


class BatchResult(BaseModel):
    done: int  # decided (a bulk) or rolled over (the close) in this batch
    refused: int  # refused by their case (a bulk), or had moved already (the close)
    remaining: int


class SessionCounts(BaseModel):
    agenda: int
    decided: int
    rolled_over: int


# ---- the API's answers about sessions (`/v1/reviews`) ----------------------------------------


class SessionInfo(IstModel):
    session_id: str
    kind: Kind
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
    notices_sent: int = 0
    # Notices and invitations that never went within their window (listed as failed SMS).
    notices_failed: int = 0


class SessionList(BaseModel):
    data: list[SessionInfo]
    count: int


class AgendaCase(AgendaItem):
    outcome: ItemOutcome = ItemOutcome.PENDING
    decision_text: str | None = None
    decided_by: str | None = None
    new_deadline: datetime | None = None
    # The bulk decision that selected it, and its case's refusal of a decision, if any.
    bulk_id: str | None = None
    refusal: str | None = None


class DistrictAgenda(BaseModel):
    district: str
    nodal_officer_id: str | None
    cases: list[AgendaCase]


class AgendaSummaryRow(IstModel):
    """One district x department of an agenda: what a meeting reads before any case."""

    district: str
    department: str | None
    cases: int
    undecided: int  # not decided yet at this session
    oldest_registered_at: datetime | None
    # The most sessions any of its cases was left undecided by.
    most_undecided_times: int
    urgent: int
    wishes_to_meet_cm: int


class AgendaSummary(BaseModel):
    cases: int
    undecided: int
    urgent: int
    wishes_to_meet_cm: int
    rows: list[AgendaSummaryRow]


class SessionAgenda(BaseModel):
    """A session's agenda: its summary (district x department), then one page of its cases,
    worst first (for decision before awaiting Sidhi Baat; the most times undecided, then
    the oldest), grouped by district; `count` is all the cases the filters select."""

    session: SessionInfo
    frozen: bool
    summary: AgendaSummary | None = None
    count: int = 0
    limit: int = 0
    offset: int = 0
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
    # The bulk decision the case received its decision by (None: decided singly).
    bulk_id: str | None = None
    # Why its case refused a decision of this session (a bulk's), when it did.
    refusal: str | None = None


class BulkLine(IstModel):
    """A bulk decision as one line of the minutes' summary (each case has its own entry)."""

    bulk_id: str
    decision: DecisionKind
    text: str
    decided_by: str
    responsible_officer_id: str | None
    new_deadline: datetime | None
    decided_at: datetime
    total: int
    applied: int
    refused: int


class Minutes(BaseModel):
    session: SessionInfo
    final: bool
    entries: list[MinutesEntry]
    # All the entries (`entries` may be a page of them).
    count: int = 0
    # The bulk decisions, one line each (their cases are among `entries`).
    bulk_decisions: list[BulkLine] = Field(default_factory=list)
