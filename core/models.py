"""The read model: tables owned by Alembic (see migrations/)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Column, Field, SQLModel

from schemas.auth import Role
from schemas.enums import (
    Channel,
    ClosureReason,
    ComplaintKind,
    MessageStatus,
    OfficerRole,
    RecipientKind,
    as_status,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class AwareDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC, returns timezone-aware datetimes on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(*, nullable: bool = True, index: bool = False) -> Column:
    return Column(AwareDateTime(), nullable=nullable, index=index)


def _enum(enum: type, *, nullable: bool = False, index: bool = False) -> Column:
    # Enums stored as plain strings: adding a value never needs a migration of a DB type.
    return Column(
        sa.Enum(enum, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e]),
        nullable=nullable,
        index=index,
    )


class LadderStatus(sa.types.TypeDecorator[str]):
    """A case's status as a plain string (VARCHAR(40)): the lifecycle's and shipped rungs'
    read back as `ComplaintStatus` members, a configured ladder's own as its string, so a
    ladder file's statuses need no migration."""

    impl = sa.String(40)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else as_status(value)


class District(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=60)


class Department(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=60)
    name: str = Field(max_length=200)


class Officer(SQLModel, table=True):
    """The nodal-officer directory (seeded from core/seed/directory.json)."""

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    designation: str = Field(max_length=200)
    # `office` names the office in an SMS (a DLT variable holds at most 30 characters, in
    # every language: checked when the directory is loaded). Translations of `office` and
    # `designation` are in the `names` catalogue.
    office: str = Field(default="", max_length=30)
    phone: str = Field(max_length=20)
    role: OfficerRole = Field(sa_column=_enum(OfficerRole, index=True))
    district: str | None = Field(default=None, max_length=60, index=True)
    department: str | None = Field(default=None, max_length=60, index=True)
    active: bool = True


class RegistrationCounter(SQLModel, table=True):
    """Last registration sequence issued per calendar year (IST); bumped in the insert's
    transaction so numbers are gap-free."""

    year: int = Field(primary_key=True)
    last_sequence: int = 0


class Complaint(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("year", "sequence", name="uq_complaint_year_sequence"),
        sa.Index("ix_complaint_worklist", "status", "urgent", "callback_due_at"),
        sa.Index("ix_complaint_filters", "district", "status", "escalation_level"),
        # The per-phone daily limit counts a phone's complaints of one day (api/services/intake.py).
        sa.Index("ix_complaint_phone_created", "citizen_phone", "created_at"),
        # The grading of an officer's cases of a month (core/grading.py).
        sa.Index("ix_complaint_officer_created", "assigned_officer_id", "created_at"),
        # A review session's cases worst first, in the order a provisional agenda's page reads
        # them (no sort); the status too, so counting them reads the index alone
        # (core/readmodel.py, `provisional_rows`).
        sa.Index(
            "ix_complaint_agenda_worst",
            "review_session_id",
            sa.text("undecided_times DESC"),
            "created_at",
            "year",
            "sequence",
            "status",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    year: int
    sequence: int = Field(index=True)  # a number typed without its year (core/search.py)
    registration_number: str = Field(max_length=20, unique=True)
    workflow_id: str = Field(max_length=60, unique=True)
    kind: ComplaintKind = Field(sa_column=_enum(ComplaintKind))
    channel: Channel = Field(sa_column=_enum(Channel))
    citizen_name: str = Field(max_length=200)
    citizen_phone: str = Field(max_length=16)  # indexed with created_at (daily limit)
    citizen_address: str = Field(max_length=1000)
    # The district the case is with now (a transfer to another district moves it): listings,
    # filters, scope and agendas go by it. The citizen's own district is `citizen_district`.
    district: str = Field(max_length=60)
    citizen_district: str | None = Field(default=None, max_length=60)
    pincode: str | None = Field(default=None, max_length=6)
    language: str = Field(sa_column=Column(sa.String(40), nullable=False))  # ISO 639 code
    category: str | None = Field(default=None, max_length=40, index=True)
    # The department concerned (named, else the category's): filters, scope, search
    # attributes. The case is routed by `department_requested` (named at registration, or an
    # urgent category's): without one, a routine case goes to its district's nodal officer.
    department: str | None = Field(default=None, max_length=60, index=True)
    department_requested: str | None = Field(default=None, max_length=60)
    # Sessions in a row that left it undecided on a review's agenda (the workflow's count).
    undecided_times: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    description: str = Field(sa_column=Column(sa.Text, nullable=False))
    urgent: bool = False
    wishes_to_meet_cm: bool = False

    status: str = Field(sa_column=Column(LadderStatus(), nullable=False, index=True))
    escalation_level: int = 0
    next_deadline: datetime | None = Field(default=None, sa_column=_ts(index=True))
    assigned_officer_id: str | None = Field(default=None, max_length=100, index=True)
    assigned_officer_name: str | None = Field(default=None, max_length=200)
    assigned_officer_designation: str | None = Field(default=None, max_length=200)
    review_kind: str | None = Field(default=None, max_length=20)
    review_session_id: str | None = Field(default=None, max_length=40, index=True)
    review_date: datetime | None = Field(default=None, sa_column=_ts())
    closure_reason: ClosureReason | None = Field(
        default=None, sa_column=_enum(ClosureReason, nullable=True)
    )
    # Indexed with the columns the dashboard reads beside it (migration 0027).
    closed_at: datetime | None = Field(default=None, sa_column=_ts())
    last_reply: str | None = Field(default=None, sa_column=Column(sa.Text))
    citizen_remark: str | None = Field(default=None, sa_column=Column(sa.Text))
    callback_due_at: datetime | None = Field(default=None, sa_column=_ts())
    callback_attempts: int = 0
    # Calls from the citizen about this case after it was registered, linked to it instead of
    # registered again (a repeat call is a sign of a stuck case).
    repeat_contacts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Interim replies of late officers: how many, the last one's reason and
    # expected date, the extension it asks the next review for; a report's reason code.
    interim_replies: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    interim_reason: str | None = Field(default=None, max_length=40)
    interim_expected_by: datetime | None = Field(default=None, sa_column=_ts())
    extension_requested_until: datetime | None = Field(default=None, sa_column=_ts())
    report_reason: str | None = Field(default=None, max_length=40)
    # The citizen's rating (1-5) of the latest closure, and appeals against closures.
    rating: int | None = None
    appeals: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The latest report (or a suggestion's answer): when it came and the deadline then in
    # force (on time: reported_at <= report_due_at); times the citizen reopened the case.
    reported_at: datetime | None = Field(default=None, sa_column=_ts())
    report_due_at: datetime | None = Field(default=None, sa_column=_ts())
    reopens: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The workflow's event sequence last projected here: older projections never overwrite.
    state_version: int = 0

    registered_by: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    request_fingerprint: str = Field(max_length=64)
    # Outbox pointer: NULL until Temporal has accepted the workflow start.
    workflow_started_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    created_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class TimelineEvent(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("complaint_id", "seq", name="uq_timeline_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    seq: int
    at: datetime = Field(sa_column=_ts(nullable=False))
    event: str = Field(max_length=60)
    # Who acted (a staff member's or integration's token subject, `citizen`, `timer`...);
    # how the action came in is `channel`; `for_citizen` when the actor acted for the citizen.
    actor: str = Field(max_length=200)
    channel: str | None = Field(default=None, max_length=30)
    for_citizen: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    note: str | None = Field(default=None, sa_column=Column(sa.Text))


class Message(SQLModel, table=True):
    """Every SMS, to a citizen or an officer, keyed so that a retry never sends it twice."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    template: str = Field(max_length=40)
    recipient_kind: RecipientKind = Field(sa_column=_enum(RecipientKind))
    recipient: str = Field(max_length=16)
    language: str = Field(sa_column=Column(sa.String(40), nullable=False))  # ISO 639 code
    text: str = Field(sa_column=Column(sa.Text, nullable=False))
    segments: int = 1
    status: MessageStatus = Field(sa_column=_enum(MessageStatus, index=True))
    provider: str = Field(max_length=20)
    provider_sid: str | None = Field(default=None, max_length=64, index=True)
    error: str | None = Field(default=None, sa_column=Column(sa.Text))
    # `sms` or `whatsapp` (the same gateway, queue and keys; activities/whatsapp.py).
    channel: str = Field(default="sms", max_length=10, sa_column_kwargs={"server_default": "sms"})
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts())
    delivered_at: datetime | None = Field(default=None, sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class ReviewSession(SQLModel, table=True):
    """One weekly review or Sidhi Baat session, written by its session workflow."""

    __tablename__ = "review_session"

    session_id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=20, index=True)
    starts_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    cutoff_at: datetime = Field(sa_column=_ts(nullable=False))
    workflow_id: str = Field(max_length=80)
    phase: str = Field(max_length=20)
    agenda_count: int = 0
    decided_count: int = 0
    rolled_over_count: int = 0
    notices_sent: int = 0
    # Notices and invitations no attempt could hand to the gateway before the session.
    notices_failed: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    frozen_at: datetime | None = Field(default=None, sa_column=_ts())
    closed_at: datetime | None = Field(default=None, sa_column=_ts())
    closed_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class ReviewItem(SQLModel, table=True):
    """A case on a session's frozen agenda, and what the session decided for it (minutes)."""

    __tablename__ = "review_item"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "registration_number", name="uq_review_item_case"),
        # The agenda worst first, in the order a page reads it (no sort); its summary from
        # the index alone; a session's undecided cases (bulk, rollovers).
        sa.Index(
            "ix_review_item_worst",
            "session_id",
            sa.text("section DESC"),
            sa.text("undecided_times DESC"),
            "registered_at",
            "id",
        ),
        sa.Index(
            "ix_review_item_summary",
            "session_id",
            "district",
            "department",
            "outcome",
            "registered_at",
            "undecided_times",
            "urgent",
            "wishes_to_meet_cm",
        ),
        sa.Index("ix_review_item_outcome", "session_id", "outcome", "bulk_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="review_session.session_id", max_length=40, index=True)
    registration_number: str = Field(max_length=20)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    district: str = Field(max_length=60)
    position: int = 0
    # The agenda item as frozen (schemas.review.AgendaItem as JSON).
    item: str = Field(sa_column=Column(sa.Text, nullable=False))
    outcome: str = Field(default="pending", max_length=20)
    decision_text: str | None = Field(default=None, sa_column=Column(sa.Text))
    decided_by: str | None = Field(default=None, max_length=200)
    responsible_officer_id: str | None = Field(default=None, max_length=100)
    new_deadline: datetime | None = Field(default=None, sa_column=_ts())
    citizen_informed: bool = False
    decided_at: datetime | None = Field(default=None, sa_column=_ts())
    # The item's facts as columns, so agendas are filtered, summarised and paged in the
    # database (rows frozen before them carry the defaults; `item` has the facts).
    section: str = Field(default="for_decision", max_length=30)
    department: str | None = Field(default=None, max_length=60)
    category: str | None = Field(default=None, max_length=40)
    escalation_level: int = 0
    undecided_times: int = 0
    registered_at: datetime | None = Field(default=None, sa_column=_ts())
    urgent: bool = False
    wishes_to_meet_cm: bool = False
    # Who answers for it at the meeting and is sent the notice (the district's nodal officer,
    # an urgent case's department desk).
    nodal_officer_id: str | None = Field(default=None, max_length=100)
    # The bulk decision that selected it, and why its case refused a decision.
    bulk_id: str | None = Field(default=None, max_length=120)
    refusal: str | None = Field(default=None, sa_column=Column(sa.Text))


class ReviewBulk(SQLModel, table=True):
    """One bulk decision of a session: the decision, and how far it has been applied (each
    case's own row is its `ReviewItem`, naming this bulk)."""

    __tablename__ = "review_bulk"

    bulk_id: str = Field(primary_key=True, max_length=120)
    session_id: str = Field(foreign_key="review_session.session_id", max_length=40, index=True)
    decision: str = Field(max_length=20)
    text: str = Field(sa_column=Column(sa.Text, nullable=False))
    decided_by: str = Field(max_length=200)
    responsible_officer_id: str | None = Field(default=None, max_length=100)
    new_deadline: datetime | None = Field(default=None, sa_column=_ts())
    citizen_informed: bool = False
    # The selection as sent (schemas.review.BulkSelection as JSON).
    selection: str = Field(sa_column=Column(sa.Text, nullable=False))
    decided_at: datetime = Field(sa_column=_ts(nullable=False))
    total: int = 0
    applied: int = 0
    refused: int = 0
    # Numbers named that are not on the agenda (JSON list of [number, refusal key]).
    unlisted: str = Field(default="[]", sa_column=Column(sa.Text, nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=_ts())
    # A directive's officers told by the session, one SMS each for all their cases (the cases
    # send them none); False: each case told its own officer (bulks recorded before).
    tells_officers: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class RateCounter(SQLModel, table=True):
    """A fixed-window request counter (api/ratelimit.py), shared by every API replica."""

    __tablename__ = "rate_counter"

    key: str = Field(primary_key=True, max_length=120)
    window_start: datetime = Field(sa_column=Column(AwareDateTime(), primary_key=True, index=True))
    count: int = 0


class SmsChoice(SQLModel, table=True):
    """A citizen's choice about SMS from the centre, by phone (core/sms_choice.py): `STOP`
    (or UNSUBSCRIBE, बंद) sets `opted_out`, `START` clears it. One row per phone, its last word;
    a phone without a row gets every SMS."""

    __tablename__ = "sms_choice"

    phone: str = Field(primary_key=True, max_length=20)  # E.164, as complaints store it
    opted_out: bool
    changed_at: datetime = Field(sa_column=_ts(nullable=False))
    # The inbound SMS that said it (Twilio's MessageSid), for the record.
    message_sid: str | None = Field(default=None, max_length=64)


class WhatsAppContact(SQLModel, table=True):
    """A phone's channel preference and its WhatsApp customer-service window (core/whatsapp.py).

    One row per phone (E.164). `preference` is `sms`, `whatsapp` or `both` (a phone without a
    row gets SMS); `last_inbound_at` is the citizen's last WhatsApp message, which opens the
    24-hour window in which free text may be sent (outside it only approved templates)."""

    __tablename__ = "whatsapp_contact"

    phone: str = Field(primary_key=True, max_length=20)
    preference: str = Field(max_length=10)
    # Who set it: `registration`, `desk:<user>` or `whatsapp` (the citizen's first message).
    preference_by: str = Field(max_length=80)
    changed_at: datetime = Field(sa_column=_ts(nullable=False))
    last_inbound_at: datetime | None = Field(default=None, sa_column=_ts())


class WhatsAppConversation(SQLModel, table=True):
    """A complaint being filed over WhatsApp, one step at a time (core/whatsapp.py): one row
    per phone while the conversation lasts; removed when the complaint is registered or
    when it expires (idle longer than WHATSAPP_CONVERSATION_IDLE_MINUTES)."""

    __tablename__ = "whatsapp_conversation"

    phone: str = Field(primary_key=True, max_length=20)
    # `language`, `name`, `district`, `problem` (the answer expected next).
    step: str = Field(max_length=20)
    language: str = Field(default="hi", max_length=10)
    citizen_name: str | None = Field(default=None, max_length=200)
    district: str | None = Field(default=None, max_length=60)
    description: str | None = Field(default=None, sa_column=Column(sa.Text))
    # A photo the citizen sent during the conversation (Twilio's MediaUrl0), fetched into
    # the case's attachments once it is registered.
    media_url: str | None = Field(default=None, sa_column=Column(sa.Text))
    started_at: datetime = Field(sa_column=_ts(nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False, index=True))


# ---- API users and their tokens (the token store: core/auth.py) ----------------------------


class ApiUser(SQLModel, table=True):
    """A person or a client system allowed to call the API."""

    __tablename__ = "api_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    roles: str = Field(max_length=300)  # comma-separated Role values, sorted
    district: str | None = Field(default=None, max_length=60)
    department: str | None = Field(default=None, max_length=60)
    active: bool = True
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    created_by: str = Field(default="cli", max_length=100)

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles.split(",") if r)


class ApiToken(SQLModel, table=True):
    """One bearer token of a user: its public id and the hash of its secret."""

    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="api_user.id", index=True)
    secret_hash: str = Field(max_length=64)  # sha256 hex of the secret part
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts())
    last_used_at: datetime | None = Field(default=None, sa_column=_ts())


# ---- the audit trail (core/audit.py) ---------------------------------------------------------

AUDIT_SUMMARY_LENGTH = 500


class AuditEntry(SQLModel, table=True):
    """One state-changing request. Never updated, never deleted (see the module docstring)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    subject: str | None = Field(default=None, max_length=200, index=True)  # None: no token
    roles: str = Field(default="", max_length=300)  # comma-separated, sorted
    token_id: str | None = Field(default=None, max_length=32)
    client_address: str | None = Field(default=None, max_length=64)
    method: str = Field(max_length=10)
    route: str = Field(max_length=200)  # the route template, never the raw path
    complaint_year: int | None = None
    complaint_sequence: int | None = None
    summary: str = Field(default="", max_length=AUDIT_SUMMARY_LENGTH)
    status_code: int
    outcome: str = Field(max_length=20, index=True)

    __table_args__ = (sa.Index("ix_audit_entry_complaint", "complaint_year", "complaint_sequence"),)

    @property
    def registration_number(self) -> str | None:
        if self.complaint_year is None or self.complaint_sequence is None:
            return None
        return f"{self.complaint_sequence}/{self.complaint_year}"


# ---- attachments (core/attachments.py; the bytes are in a blob store: core/blobs.py) ---------


class Attachment(SQLModel, table=True):
    """A reference to a scanned, cleaned file of a case: its blob's hash, type and size, who
    added it and when, and whether staff have made it public. Deleted by an administrator
    (or by the retention rule): the row stays with who, when and why; the blob goes."""

    __tablename__ = "attachment"
    __table_args__ = (
        # One reference per file per case: a retried upload finds the first.
        sa.UniqueConstraint("complaint_id", "sha256", name="uq_attachment_case_blob"),
    )

    id: str = Field(primary_key=True, max_length=32)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    media_type: str = Field(max_length=40)
    size: int
    # evidence (the citizen's) or action_taken_report (the officer's).
    kind: str = Field(max_length=30)
    source: str = Field(max_length=30)  # desk, api, open311, report
    filename: str | None = Field(default=None, max_length=120)
    width: int | None = None
    height: int | None = None
    thumbnail_sha256: str | None = Field(default=None, max_length=64)
    public: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    published_by: str | None = Field(default=None, max_length=200)
    published_at: datetime | None = Field(default=None, sa_column=_ts())
    uploaded_by: str = Field(max_length=200)
    uploaded_at: datetime = Field(sa_column=_ts(nullable=False))
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    deleted_at: datetime | None = Field(default=None, sa_column=_ts())
    deleted_by: str | None = Field(default=None, max_length=200)
    deletion_reason: str | None = Field(default=None, max_length=40)


class IvrCall(SQLModel, table=True):
    """One IVR verification call (activities/voice.py, api/routes/voice.py), keyed so that a
    retried activity places no second call; its CallSid acted on once (`acted_at`)."""

    __tablename__ = "ivr_call"
    __table_args__ = (
        sa.Index("ix_ivr_call_case", "registration_number", "created_at"),
        sa.Index("ix_ivr_call_audit", "audit", "checked_at", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    registration_number: str = Field(max_length=20)
    attempt: int = 1
    call_sid: str | None = Field(default=None, max_length=64, unique=True)
    # Twilio's CallStatus, moving forward only (pending before Twilio has it).
    status: str = Field(default="pending", max_length=20, index=True)
    # The case's reading of the call (schemas.voice.CallResult), once known.
    result: str | None = Field(default=None, max_length=20)
    digits: str | None = Field(default=None, max_length=8)
    recording_url: str | None = Field(default=None, max_length=500)
    # When the citizen's answer (1 or 2) was applied to the case, and when the final status
    # was signalled to it: each once, whatever Twilio redelivers.
    acted_at: datetime | None = Field(default=None, sa_column=_ts())
    signalled_at: datetime | None = Field(default=None, sa_column=_ts())
    # A closure the machine verified, sampled for a person to check (policy ivr_audit_percent).
    audit: bool = False
    # Whether the case's own policy (`ivr_audit_percent`, as the case carries it) puts this
    # call's "solved" in the sample a person checks: decided by the workflow when it places it.
    sampled: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # A person's check of a sampled closure: when, by whom, and whether the citizen agreed
    # with the machine (the dashboard's disagreement rate).
    checked_at: datetime | None = Field(default=None, sa_column=_ts())
    checked_by: str | None = Field(default=None, max_length=200)
    check_agrees: bool | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Verification(SQLModel, table=True):
    """One verification of a case's outcome with the citizen (the callback): by which channel
    (`schemas.voice.VerificationChannel`), with which result (satisfied / not satisfied), and,
    for a machine's "solved" a person checked, whether the citizen told the person otherwise.

    Written by the projection of the case's timeline (activities/case.py `record_transition`)
    once per timeline entry, so the dashboard counts verifications by period and channel in
    one grouped, indexed query instead of reading the timeline."""

    __tablename__ = "verification"
    __table_args__ = (
        sa.UniqueConstraint("complaint_id", "seq", name="uq_verification_seq"),
        sa.Index("ix_verification_period", "verified_at", "channel", "result"),
        sa.Index("ix_verification_case", "complaint_id", "channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    seq: int  # the timeline entry that recorded it
    verified_at: datetime = Field(sa_column=_ts(nullable=False))
    channel: str = Field(max_length=20)
    result: str = Field(max_length=20)
    # A person's check of a machine's "solved" (the sampled ones): when, and whether the
    # citizen disagreed with the machine (True: the problem was not solved after all).
    checked_at: datetime | None = Field(default=None, sa_column=_ts())
    check_disagreed: bool | None = None
