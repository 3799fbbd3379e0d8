"""Activities of the review sessions: the session's rows in the read model, the frozen agenda,
meeting notices, and delivering decisions and rollovers to the complaints' workflows.

All are idempotent. A notice's `Message` row is written under a unique key
(`<session-id>:<officer-id>`, `<session-id>:<registration-number>`) before the gateway is
called, so a retried activity never sends a notice twice. Decisions and rollovers are sent to
the complaint as updates with a fixed update ID, which Temporal deduplicates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.case import find_complaint
from activities.delivery import deliver_once, new_message
from activities.gateway import OutgoingSms, PermanentSmsError, SmsGateway
from activities.sms import OFFICER_LANGUAGE
from activities.templates import Template, template_for
from core.models import Message, Officer, ReviewBulk, ReviewItem, ReviewSession, utcnow
from core.readmodel import agenda_items, agenda_page, bulk_progress, selection_where
from core.settings import Settings
from schemas.calendar import fmt_ist
from schemas.enums import Language, MessageStatus, RecipientKind
from schemas.escalation import forum_rung
from schemas.reference import DLT_VARIABLE_MAX
from schemas.review import (
    DEFAULT_TELECONFERENCE,
    DEFAULT_VENUE,
    Agenda,
    AgendaItem,
    AgendaSection,
    BulkNoticeInput,
    BulkNoticePageInput,
    BulkProgress,
    CitizenInvitationInput,
    DeferInput,
    FreezeAgendaInput,
    FreezePageInput,
    FreezePageResult,
    ItemOutcome,
    NoticeFailedInput,
    NoticePage,
    NoticePageInput,
    NoticeRecipient,
    NoticeResult,
    OfficerNoticeInput,
    OpenBulkInput,
    SessionCounts,
    SessionPhase,
    SessionRecordInput,
    bulk_notice_key,
)
from schemas.workflow import DecisionKind

DECIDED = (ItemOutcome.DIRECTIVE.value, ItemOutcome.CLOSED.value)
# Refusals a bulk decision lists for a number it names (schemas.refusals keys).
UNLISTED = "not_on_agenda"

# Officers are written to in English; citizens in their own language.
OFFICER_NOTICE = template_for("review_notice")
BULK_DIRECTIVE_NOTICE = template_for("review_bulk_directive")
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
    def record_session(self, input: SessionRecordInput) -> SessionCounts | None:
        """Create or update the session's row (phase, counts) in the read model; the counts
        as they stand (counted in the database, never loaded row by row)."""
        with Session(self._engine) as session:
            row = session.get(ReviewSession, input.session_id)
            if row is None:
                row = ReviewSession(
                    session_id=input.session_id,
                    kind=str(input.kind),
                    starts_at=input.starts_at,
                    cutoff_at=input.cutoff_at,
                    workflow_id=input.workflow_id,
                    phase=input.phase.value,
                    created_at=input.at,
                    updated_at=input.at,
                )
            row.phase = input.phase.value
            row.updated_at = input.at
            if input.notices_sent is not None:
                row.notices_sent = input.notices_sent
            if input.notices_failed is not None:
                row.notices_failed = input.notices_failed
            if input.phase is SessionPhase.AGENDA_FROZEN and row.frozen_at is None:
                row.frozen_at = input.at
            if input.phase is SessionPhase.CLOSED:
                _settle_pending(session, input.session_id)
                row.closed_at = row.closed_at or input.at
                row.closed_by = input.closed_by
            counts = session_counts(session, input.session_id)
            row.agenda_count = counts.agenda
            row.decided_count = counts.decided
            row.rolled_over_count = counts.rolled_over
            session.add(row)
            session.commit()
            return counts

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
                session.add(item_row(input.session_id, complaint.id, position, item))
            session.commit()
            return Agenda(items=items)

    @activity.defn
    def freeze_agenda_page(self, input: FreezePageInput) -> FreezePageResult:
        """Freeze one page of a batched session's agenda: the section's cases after
        `after_id` (by complaint id), as they stand. A retried page adds no row twice."""
        with Session(self._engine) as session:
            page, done = agenda_page(
                session,
                input.session_id,
                input.section,
                input.frozen_at,
                after_id=input.after_id,
                limit=input.limit,
            )
            numbers = [item.registration_number for _, item in page]
            existing = (
                set(
                    session.exec(
                        select(ReviewItem.registration_number).where(
                            ReviewItem.session_id == input.session_id,
                            col(ReviewItem.registration_number).in_(numbers),
                        )
                    ).all()
                )
                if numbers
                else set()
            )
            added = 0
            for complaint_id, item in page:
                if item.registration_number in existing:
                    continue
                session.add(item_row(input.session_id, complaint_id, complaint_id, item))
                added += 1
            session.commit()
            return FreezePageResult(
                added=added, last_id=page[-1][0] if page else input.after_id, done=done
            )

    # ---- notices --------------------------------------------------------------------------

    @activity.defn
    def send_officer_notice(self, input: OfficerNoticeInput) -> NoticeResult:
        """The meeting notice to one district nodal officer, at most once per session."""
        return self._officer_sms(
            OFFICER_NOTICE,
            officer_id=input.officer_id,
            key=lambda officer: f"{input.session_id}:{officer}",
            districts=input.districts,
            params={
                "count": str(input.case_count),
                "forum": forum_rung(input.kind).sms_name(OFFICER_LANGUAGE),
                "date": fmt_ist(input.starts_at),
                "teleconference": _short(input.teleconference, DEFAULT_TELECONFERENCE),
            },
        )

    @activity.defn
    def send_bulk_directive_notice(self, input: BulkNoticeInput) -> NoticeResult:
        """A bulk directive told to one officer, at most once per officer and bulk: how many
        of their cases it directs, of which districts, and the earliest deadline."""
        return self._officer_sms(
            BULK_DIRECTIVE_NOTICE,
            officer_id=input.officer_id,
            key=lambda officer: bulk_notice_key(input.session_id, input.bulk_id, officer),
            districts=input.districts,
            params={
                "count": str(input.case_count),
                "forum": forum_rung(input.kind).sms_name(OFFICER_LANGUAGE),
                "date": fmt_ist(input.starts_at),
                "due": fmt_ist(input.due),
            },
        )

    def _officer_sms(
        self,
        template: Template,
        *,
        officer_id: str,
        key: Callable[[str], str],
        districts: list[str],
        params: dict[str, str],
    ) -> NoticeResult:
        """`template` to one officer (in English), with their `districts` as one variable,
        once under the message `key(officer id)`. Raises a non-retryable ApplicationError
        for an officer the directory does not hold."""
        with Session(self._engine) as session:
            officer = session.get(Officer, officer_id)
            if officer is None:
                raise ApplicationError(f"no officer {officer_id!r}", non_retryable=True)
            body = template.render(
                OFFICER_LANGUAGE,
                {
                    **params,
                    "district": _short(", ".join(districts), f"{len(districts)} districts"),
                },
            )
            return self._send_once(
                session,
                key=key(officer.id),
                template=template.context,
                recipient_kind=RecipientKind.OFFICER,
                to=officer.phone,
                language=OFFICER_LANGUAGE,
                body=body,
                dlt_id=template.dlt_id(OFFICER_LANGUAGE),
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

    @activity.defn
    def defer_beyond_heard(self, input: DeferInput) -> int:
        """Keep a sitting to the citizens who asked to meet the CM and the worst `heard_max`
        others (most times undecided, then the oldest); the rest are deferred (idempotent:
        the same rows every time). Answers how many were deferred."""
        with Session(self._engine) as session:
            mine = col(ReviewItem.session_id) == input.session_id
            heard = select(ReviewItem.id).where(
                mine,
                col(ReviewItem.section) == AgendaSection.FOR_DECISION.value,
                col(ReviewItem.wishes_to_meet_cm).is_(False),
            )
            ranked = heard.order_by(
                col(ReviewItem.undecided_times).desc(),
                col(ReviewItem.registered_at),
                col(ReviewItem.id),
            ).offset(input.heard_max)
            ids = list(session.exec(ranked).all())
            for start in range(0, len(ids), 500):
                session.execute(
                    update(ReviewItem)
                    .where(col(ReviewItem.id).in_(ids[start : start + 500]))
                    .values(section=AgendaSection.DEFERRED.value)
                )
            session.commit()
            return len(ids)

    @activity.defn
    def notice_recipients(self, input: NoticePageInput) -> NoticePage:
        """A page of a session's notice recipients after `input.after`: officers (with their
        districts and case counts), or the citizens who asked to meet the CM."""
        with Session(self._engine) as session:
            mine = ReviewItem.session_id == input.session_id
            if input.citizens:
                numbers = session.exec(
                    select(ReviewItem.registration_number)
                    .where(
                        mine,
                        col(ReviewItem.wishes_to_meet_cm).is_(True),
                        col(ReviewItem.registration_number) > input.after,
                    )
                    .order_by(col(ReviewItem.registration_number))
                    .limit(input.limit)
                ).all()
                return NoticePage(recipients=[NoticeRecipient(key=n) for n in numbers])
            return _officers_page(
                session,
                col(ReviewItem.nodal_officer_id),
                (mine,),
                after=input.after,
                limit=input.limit,
            )

    @activity.defn
    def bulk_notice_recipients(self, input: BulkNoticePageInput) -> NoticePage:
        """A page of the officers (after `input.after`, by id) a bulk directive put cases
        with, each with the count, districts and earliest deadline of those cases; none for
        a closure, or for a bulk whose cases told their officers themselves."""
        with Session(self._engine) as session:
            bulk = session.get(ReviewBulk, input.bulk_id)
            if bulk is None or not bulk.tells_officers:
                return NoticePage(recipients=[])
            mine = (
                ReviewItem.session_id == input.session_id,
                ReviewItem.bulk_id == input.bulk_id,
                ReviewItem.outcome == ItemOutcome.DIRECTIVE.value,
            )
            return _officers_page(
                session,
                col(ReviewItem.responsible_officer_id),
                mine,
                after=input.after,
                limit=input.limit,
                due=col(ReviewItem.new_deadline),
            )

    @activity.defn
    def mark_notice_failed(self, input: NoticeFailedInput) -> None:
        """A notice no attempt could hand to the gateway within its window: failed, with the
        reason, so it is listed with the session (never left `pending`)."""
        with Session(self._engine) as session:
            message = session.exec(select(Message).where(Message.key == input.key)).first()
            if message is None or message.status is not MessageStatus.PENDING:
                return
            message.status = MessageStatus.FAILED
            message.error = f"not sent within its window: {input.reason}"[:500]
            message.updated_at = utcnow()
            session.add(message)
            session.commit()

    # ---- bulk decisions -------------------------------------------------------------------

    @activity.defn
    def open_bulk(self, input: OpenBulkInput) -> BulkProgress:
        """Record a bulk decision and mark its cases: the undecided cases for decision that
        its criteria select, and each number it names (one not on the agenda, decided,
        awaiting Sidhi Baat or in another bulk is refused with its reason). Idempotent: a
        bulk recorded already answers with its progress."""
        with Session(self._engine) as session:
            if session.get(ReviewBulk, input.bulk_id) is None:
                _open_bulk(session, input)
                session.commit()
            progress = bulk_progress(session, input.bulk_id)
            assert progress is not None
            return progress

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


def _officers_page(
    session: Session,
    officer: Any,
    where: tuple[Any, ...],
    *,
    after: str,
    limit: int,
    due: Any = None,
) -> NoticePage:
    """A page of the officers in the agenda column `officer` (by id, after `after`) among
    the rows `where` selects, each with their count of those rows, their districts and, with
    `due` (a column), the earliest of it."""
    rows = session.execute(
        select(officer, func.count(), func.min(due) if due is not None else sa.null())
        .where(*where, officer.is_not(None), officer > after)
        .group_by(officer)
        .order_by(officer)
        .limit(limit)
    ).all()
    ids = [row[0] for row in rows]
    districts: dict[str, set[str]] = {}
    if ids:
        for one, district in session.execute(
            select(officer, ReviewItem.district).where(*where, officer.in_(ids)).distinct()
        ).all():
            districts.setdefault(str(one), set()).add(str(district))
    return NoticePage(
        recipients=[
            NoticeRecipient(
                key=str(one),
                districts=sorted(districts.get(str(one), set())),
                case_count=n,
                due=earliest,
            )
            for one, n, earliest in rows
        ]
    )


def item_row(
    session_id: str, complaint_id: int | None, position: int, item: AgendaItem
) -> ReviewItem:
    """The agenda row of `item`: the item as frozen, and its facts as columns (filters,
    summaries and pages are the database's)."""
    return ReviewItem(
        session_id=session_id,
        registration_number=item.registration_number,
        complaint_id=complaint_id,
        district=item.district,
        position=position,
        item=item.model_dump_json(),
        section=item.section.value,
        department=item.department,
        category=item.category,
        escalation_level=item.escalation_level,
        undecided_times=item.undecided_times,
        registered_at=item.registered_at,
        urgent=item.urgent,
        wishes_to_meet_cm=item.wishes_to_meet_cm,
        nodal_officer_id=item.nodal_officer_id,
    )


def session_counts(session: Session, session_id: str) -> SessionCounts:
    """A session's agenda, decided and rolled-over counts, counted in the database."""
    rows = session.exec(
        select(ReviewItem.outcome, func.count())
        .where(ReviewItem.session_id == session_id)
        .group_by(col(ReviewItem.outcome))
    ).all()
    by = dict(rows)
    return SessionCounts(
        agenda=sum(by.values()),
        decided=sum(by.get(o, 0) for o in DECIDED),
        rolled_over=by.get(ItemOutcome.ROLLED_OVER.value, 0),
    )


def _settle_pending(session: Session, session_id: str) -> None:
    """At the close: whatever is still pending rolled over (or had moved already); an
    "awaiting Sidhi Baat" case was prepared here, for Sidhi Baat to decide. Rows frozen
    before the columns (no `registered_at`) say their section in their JSON."""
    pending = (
        col(ReviewItem.session_id) == session_id,
        col(ReviewItem.outcome) == ItemOutcome.PENDING.value,
    )
    for item in session.exec(
        select(ReviewItem).where(*pending, col(ReviewItem.registered_at).is_(None))
    ).all():
        awaiting = (
            AgendaItem.model_validate_json(item.item).section is AgendaSection.AWAITING_SIDHI_BAAT
        )
        item.outcome = ItemOutcome.PREPARED if awaiting else ItemOutcome.ROLLED_OVER
        session.add(item)
    session.flush()
    for section, outcome in (
        (AgendaSection.AWAITING_SIDHI_BAAT, ItemOutcome.PREPARED),
        (AgendaSection.FOR_DECISION, ItemOutcome.ROLLED_OVER),
        (AgendaSection.DEFERRED, ItemOutcome.ROLLED_OVER),
    ):
        session.execute(
            update(ReviewItem)
            .where(*pending, col(ReviewItem.section) == section.value)
            .values(outcome=outcome.value)
        )


def _open_bulk(session: Session, input: OpenBulkInput) -> None:
    request = input.request
    selection = request.selection
    mine = col(ReviewItem.session_id) == input.session_id
    unlisted: list[list[str]] = []
    named = sorted(set(selection.registration_numbers))
    if named:
        on_agenda = {
            row.registration_number: row
            for row in session.exec(
                select(ReviewItem).where(mine, col(ReviewItem.registration_number).in_(named))
            ).all()
        }
        for number in named:
            row = on_agenda.get(number)
            if row is None:
                unlisted.append([number, UNLISTED])
            elif row.outcome in DECIDED or (row.bulk_id is not None and row.refusal is None):
                unlisted.append([number, "already_decided"])
            elif row.section == AgendaSection.AWAITING_SIDHI_BAAT.value:
                unlisted.append([number, "awaits_sidhi_baat"])
            elif row.section == AgendaSection.DEFERRED.value:
                unlisted.append([number, "deferred"])
            elif row.outcome != ItemOutcome.PENDING.value:
                unlisted.append([number, "session_closed"])
    selected = session.execute(
        update(ReviewItem)
        .where(
            mine,
            col(ReviewItem.outcome) == ItemOutcome.PENDING.value,
            col(ReviewItem.section) == AgendaSection.FOR_DECISION.value,
            # Not in another bulk still being applied (a refused case may be chosen again).
            (col(ReviewItem.bulk_id).is_(None)) | (col(ReviewItem.refusal).is_not(None)),
            *selection_where(selection, input.decided_at),
        )
        .values(bulk_id=input.bulk_id, refusal=None)
    )
    session.add(
        ReviewBulk(
            bulk_id=input.bulk_id,
            session_id=input.session_id,
            decision=request.decision.value,
            text=request.text,
            decided_by=request.decided_by,
            responsible_officer_id=request.responsible_officer_id,
            new_deadline=request.new_deadline
            if request.decision is DecisionKind.DIRECTIVE
            else None,
            citizen_informed=request.citizen_informed,
            selection=selection.model_dump_json(),
            decided_at=input.decided_at,
            total=selected.rowcount or 0,  # type: ignore[attr-defined]
            refused=len(unlisted),
            unlisted=json.dumps(unlisted),
            done_at=None if selected.rowcount else input.decided_at,  # type: ignore[attr-defined]
            tells_officers=input.tells_officers and request.decision is DecisionKind.DIRECTIVE,
        )
    )
