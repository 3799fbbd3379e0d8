"""Activities of the review sessions: the session's rows in the read model, the frozen agenda,
meeting notices, and delivering decisions and rollovers to the complaints' workflows.

All are idempotent. A notice's `Message` row is written under a unique key
(`<session-id>:<officer-id>`, `<session-id>:<registration-number>`) before the gateway is
called, so a retried activity never sends a notice twice. Decisions and rollovers are sent to
the complaint as updates with a fixed update ID, which Temporal deduplicates.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.case import find_complaint
from activities.sms import (
    OFFICER_LANGUAGE,
    OutgoingSms,
    PermanentSmsError,
    SmsGateway,
    deliver_once,
    new_message,
)
from activities.templates import template_for
from core.models import Officer, ReviewItem, ReviewSession
from core.readmodel import agenda_items
from core.settings import Settings
from schemas.calendar import fmt_ist
from schemas.enums import Language, RecipientKind
from schemas.escalation import forum_rung
from schemas.reference import DLT_VARIABLE_MAX
from schemas.review import (
    DEFAULT_TELECONFERENCE,
    DEFAULT_VENUE,
    Agenda,
    AgendaItem,
    AgendaSection,
    CitizenInvitationInput,
    FreezeAgendaInput,
    ItemOutcome,
    NoticeResult,
    OfficerNoticeInput,
    SessionPhase,
    SessionRecordInput,
)

# Officers are written to in English; citizens in their own language.
OFFICER_NOTICE = template_for("review_notice")
SIDHI_BAAT_INVITATION = template_for("sidhi_baat_invitation")


def _short(value: str, default: str) -> str:
    """A venue or bridge for an SMS variable (at most 30 characters): sessions opened before
    the limit carry longer texts, which give way to the current default."""
    return value if len(value) <= DLT_VARIABLE_MAX else default


class ReviewActivities:
    """Read-model writes, notices and deliveries of the review sessions."""

    def __init__(
        self, engine: Engine, client: Client, gateway: SmsGateway, settings: Settings
    ) -> None:
        self._engine = engine
        self._client = client
        self._gateway = gateway
        self._settings = settings

    # ---- read model -----------------------------------------------------------------------

    @activity.defn
    def record_session(self, input: SessionRecordInput) -> None:
        """Create or update the session's row (phase, counts) in the read model."""
        with Session(self._engine) as session:
            row = session.get(ReviewSession, input.session_id)
            if row is None:
                row = ReviewSession(
                    session_id=input.session_id,
                    kind=input.kind.value,
                    starts_at=input.starts_at,
                    cutoff_at=input.cutoff_at,
                    workflow_id=input.workflow_id,
                    phase=input.phase.value,
                    created_at=input.at,
                    updated_at=input.at,
                )
            row.phase = input.phase.value
            row.updated_at = input.at
            items = session.exec(
                select(ReviewItem).where(ReviewItem.session_id == input.session_id)
            ).all()
            row.agenda_count = len(items)
            row.decided_count = sum(
                i.outcome in (ItemOutcome.DIRECTIVE, ItemOutcome.CLOSED) for i in items
            )
            if input.phase is SessionPhase.AGENDA_FROZEN and row.frozen_at is None:
                row.frozen_at = input.at
            if input.phase is SessionPhase.CLOSED:
                # Whatever is still pending at the close rolled over (or had moved already);
                # an "awaiting Sidhi Baat" case was prepared here, for Sidhi Baat to decide.
                for item in items:
                    if item.outcome == ItemOutcome.PENDING:
                        awaiting = (
                            AgendaItem.model_validate_json(item.item).section
                            is AgendaSection.AWAITING_SIDHI_BAAT
                        )
                        item.outcome = ItemOutcome.PREPARED if awaiting else ItemOutcome.ROLLED_OVER
                        session.add(item)
                row.rolled_over_count = sum(i.outcome == ItemOutcome.ROLLED_OVER for i in items)
                row.closed_at = row.closed_at or input.at
                row.closed_by = input.closed_by
            session.add(row)
            session.commit()

    @activity.defn
    def freeze_agenda(self, input: FreezeAgendaInput) -> Agenda:
        """Freeze the agenda at the cutoff: the cases escalated to this session, as they stand.

        A retry returns the agenda frozen by the first attempt.
        """
        with Session(self._engine) as session:
            existing = session.exec(
                select(ReviewItem)
                .where(ReviewItem.session_id == input.session_id)
                .order_by(col(ReviewItem.position))
            ).all()
            if existing:
                return Agenda(items=[AgendaItem.model_validate_json(i.item) for i in existing])
            items = agenda_items(session, input.session_id, input.frozen_at)
            for position, item in enumerate(items):
                complaint = find_complaint(session, item.registration_number)
                session.add(
                    ReviewItem(
                        session_id=input.session_id,
                        registration_number=item.registration_number,
                        complaint_id=complaint.id,
                        district=item.district,
                        position=position,
                        item=item.model_dump_json(),
                    )
                )
            session.commit()
            return Agenda(items=items)

    # ---- notices --------------------------------------------------------------------------

    @activity.defn
    def send_officer_notice(self, input: OfficerNoticeInput) -> NoticeResult:
        """The meeting notice to one district nodal officer, at most once per session."""
        with Session(self._engine) as session:
            officer = session.get(Officer, input.officer_id)
            if officer is None:
                raise ApplicationError(f"no officer {input.officer_id!r}", non_retryable=True)
            body = OFFICER_NOTICE.render(
                OFFICER_LANGUAGE,
                {
                    "count": str(input.case_count),
                    "district": _short(
                        ", ".join(input.districts), f"{len(input.districts)} districts"
                    ),
                    "forum": forum_rung(input.kind).sms_name(OFFICER_LANGUAGE),
                    "date": fmt_ist(input.starts_at),
                    "teleconference": _short(input.teleconference, DEFAULT_TELECONFERENCE),
                },
            )
            return self._send_once(
                session,
                key=f"{input.session_id}:{officer.id}",
                template="review_notice",
                recipient_kind=RecipientKind.OFFICER,
                to=officer.phone,
                language=OFFICER_LANGUAGE,
                body=body,
                dlt_id=OFFICER_NOTICE.dlt_id(OFFICER_LANGUAGE),
                complaint_id=None,
            )

    @activity.defn
    def send_citizen_invitation(self, input: CitizenInvitationInput) -> NoticeResult:
        """The Sidhi Baat invitation to a citizen who asked to meet the CM (in their language)."""
        with Session(self._engine) as session:
            complaint = find_complaint(session, input.registration_number)
            language = SIDHI_BAAT_INVITATION.sent_in(complaint.language)
            body = SIDHI_BAAT_INVITATION.render(
                language,
                {
                    "reg": complaint.registration_number,
                    "date": fmt_ist(input.starts_at),
                    "venue": _short(input.venue, DEFAULT_VENUE),
                    "helpline": self._settings.helpline_number,
                },
            )
            return self._send_once(
                session,
                key=f"{input.session_id}:{complaint.registration_number}",
                template="sidhi_baat_invitation",
                recipient_kind=RecipientKind.CITIZEN,
                to=complaint.citizen_phone,
                language=language,
                body=body,
                dlt_id=SIDHI_BAAT_INVITATION.dlt_id(language),
                complaint_id=complaint.id,
            )

    def _send_once(
        self,
        session: Session,
        *,
        key: str,
        template: str,
        recipient_kind: RecipientKind,
        to: str,
        language: Language,
        body: str,
        dlt_id: str,
        complaint_id: int | None,
    ) -> NoticeResult:
        message = new_message(
            key=key,
            complaint_id=complaint_id,
            template=template,
            recipient_kind=recipient_kind,
            to=to,
            language=language,
            body=body,
            provider=self._gateway.name,
        )
        sms = OutgoingSms(key=key, to=to, body=body, dlt_template_id=dlt_id)
        try:
            delivery = deliver_once(session, self._gateway, message, sms)
        except PermanentSmsError as err:
            return NoticeResult(key=key, sent=False, error=str(err))
        return NoticeResult(key=key, sent=not delivery.duplicate)
