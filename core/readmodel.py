"""Read-model queries that the API and the activities share: the directory's officers, a review
session's agenda (as it stands, or frozen: filtered, summarised and paged in the database),
and a gateway's delivery receipt recorded on its message.

Plain functions of a database session or engine (no Temporal here): the activities call them
inside their own transactions, the API to answer reads and webhooks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core.models import (
    Complaint,
    Message,
    Officer,
    ReviewBulk,
    ReviewItem,
    ReviewSession,
    TimelineEvent,
    utcnow,
)
from schemas.delivery import STATUS_RANK
from schemas.enums import CLOSED_STATUSES, MessageStatus, OfficerRole, RecipientKind
from schemas.escalation import ladders, prepared_at, review_statuses
from schemas.reference import CATEGORY_BY_CODE
from schemas.refusals import english
from schemas.review import (
    AgendaItem,
    AgendaSection,
    AgendaSummary,
    AgendaSummaryRow,
    BulkProgress,
    BulkRefusal,
    BulkSelection,
    HistoryEntry,
    ItemOutcome,
)
from schemas.workflow import DecisionKind


def active_officer(
    session: Session, role: OfficerRole, *, district: str | None, department: str | None
) -> Officer | None:
    """The directory's active officer of `role` for a district and/or department."""
    query = select(Officer).where(Officer.role == role, col(Officer.active).is_(True))
    if department is not None:
        query = query.where(Officer.department == department)
    if district is not None:
        query = query.where(Officer.district == district)
    return session.exec(query.order_by(Officer.id)).first()


def complaint_total(session: Session) -> int:
    """How many cases the read model holds: `complaint_total`, kept exact by the database's
    triggers on every insert and delete (migration 0025), not a count of every row."""
    return int(session.execute(sa.text("SELECT cases FROM complaint_total")).scalar_one())


def open_cases() -> sa.ColumnElement[bool]:
    """Cases still being dealt with, on any ladder: `status NOT IN ('closed', 'withdrawn')`,
    the statuses written into the statement, so SQLite sees that the partial indexes over
    open cases (migration 0020: the same predicate) apply."""
    closed: sa.BindParameter[list[str]] = sa.bindparam(
        "closed_statuses",
        [status.value for status in CLOSED_STATUSES],
        expanding=True,
        literal_execute=True,
    )
    return col(Complaint.status).not_in(closed)


def agenda_cases() -> sa.ColumnElement[bool]:
    """Cases on some forum's agenda: a status of a rung with a forum on the configured ladder
    or a shipped one (`schemas.escalation.review_statuses`)."""
    return col(Complaint.status).in_([str(s) for s in review_statuses()])


def escalation_events() -> tuple[str, ...]:
    """A case's escalation to each forum (the configured and shipped ladders' session kinds)."""
    kinds = dict.fromkeys(str(f.session_kind) for ladder in ladders() for _, f in ladder.forums())
    return tuple(f"escalated_to_{kind}" for kind in kinds)


# Timeline events that make up a case's escalation history on the agenda (with
# `escalation_events`).
HISTORY_EVENTS = (
    "review_rolled_over",
    "directive_given",
    "citizen_not_satisfied",
    "review_requested",
    "reopened",
)


def subject_of(row: Complaint) -> str:
    """A short subject line: the category's label, else the start of the description."""
    if row.category and row.category in CATEGORY_BY_CODE:
        return CATEGORY_BY_CODE[row.category].label
    text = " ".join(row.description.split())
    return text if len(text) <= 80 else text[:77] + "..."


def district_nodal_officer(session: Session, district: str) -> Officer | None:
    """The district's nodal officer, or the state fallback when none is on record."""
    return active_officer(
        session, OfficerRole.NODAL, district=district, department=None
    ) or active_officer(session, OfficerRole.STATE_FALLBACK, district=None, department=None)


# Ids per IN (...) list: well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_BATCH = 500


# A case's round at the reviews starts again at an escalation or a directive; rollovers after
# it are counted.
def _round_starts(event: str) -> bool:
    return event.startswith("escalated_to_") or event == "directive_given"


def _undecided_times(events: list[TimelineEvent]) -> int:
    count = 0
    for event in events:
        if _round_starts(event.event):
            count = 0
        elif event.event == "review_rolled_over":
            count += 1
    return count


def agenda_items(session: Session, session_id: str, now: datetime) -> list[AgendaItem]:
    """The cases of `session_id`'s agenda: those escalated to it that still await it, the
    longest-undecided first within each district; for a weekly review, then every case bound
    for a later Sidhi Baat ("awaiting Sidhi Baat", prepared here).

    The freeze of sessions opened before batched sessions, in one activity; a batched
    session freezes its agenda page by page (`agenda_page`), and the API reads a provisional
    agenda a page at a time (`provisional_rows`, `provisional_summary`).
    """
    rows: list[tuple[Complaint, AgendaSection]] = [
        (row, AgendaSection.FOR_DECISION)
        for row in session.exec(_agenda_query(session, session_id, AgendaSection.FOR_DECISION))
    ]
    awaiting = _agenda_query(session, session_id, AgendaSection.AWAITING_SIDHI_BAAT)
    if awaiting is not None:
        rows += [(row, AgendaSection.AWAITING_SIDHI_BAAT) for row in session.exec(awaiting)]
    items = _items_of(session, rows, now)
    # Decisions first; within a section by district, the longest-undecided, then the oldest.
    items.sort(
        key=lambda i: (
            i.section is AgendaSection.AWAITING_SIDHI_BAAT,
            i.district,
            -i.undecided_times,
            i.registered_at,
        )
    )
    return items


def _agenda_where(session: Session, session_id: str, section: AgendaSection) -> list[Any] | None:
    """The WHERE clauses of one section of a session's agenda over the complaints (None: the
    session's kind has no such section, or the session is unknown)."""
    if section is AgendaSection.FOR_DECISION:
        return [Complaint.review_session_id == session_id, agenda_cases()]
    meeting = session.get(ReviewSession, session_id)
    prepared = prepared_at(meeting.kind) if meeting is not None else ()
    if meeting is None or not prepared:
        return None
    return [col(Complaint.status).in_(prepared), col(Complaint.review_date) > meeting.starts_at]


def _agenda_query(session: Session, session_id: str, section: AgendaSection) -> Any:
    """The complaints of one section of a session's agenda (None: no such section)."""
    where = _agenda_where(session, session_id, section)
    return None if where is None else select(Complaint).where(*where)


def agenda_page(
    session: Session,
    session_id: str,
    section: AgendaSection,
    now: datetime,
    *,
    after_id: int,
    limit: int,
) -> tuple[list[tuple[int, AgendaItem]], bool]:
    """One page of a section of the agenda, by complaint id after `after_id`: the items with
    their complaint ids, and whether it was the last page. A batched session freezes its
    agenda with these pages, so no query or activity result grows with the agenda."""
    query = _agenda_query(session, session_id, section)
    if query is None:
        return [], True
    rows = session.exec(
        query.where(col(Complaint.id) > after_id).order_by(col(Complaint.id)).limit(limit + 1)
    ).all()
    page = [(row, section) for row in rows[:limit]]
    items = _items_of(session, page, now)
    return [(row.id or 0, item) for (row, _), item in zip(page, items, strict=True)], (
        len(rows) <= limit
    )


def _items_of(
    session: Session, rows: list[tuple[Complaint, AgendaSection]], now: datetime
) -> list[AgendaItem]:
    """Agenda items of `rows`, in their order; their escalation histories in one query per
    _IN_BATCH cases (not one per case)."""
    history: defaultdict[int, list[TimelineEvent]] = defaultdict(list)
    ids = [row.id for row, _ in rows]
    for start in range(0, len(ids), _IN_BATCH):
        for event in session.exec(
            select(TimelineEvent)
            .where(
                col(TimelineEvent.complaint_id).in_(ids[start : start + _IN_BATCH]),
                col(TimelineEvent.event).in_((*escalation_events(), *HISTORY_EVENTS)),
            )
            .order_by(col(TimelineEvent.complaint_id), col(TimelineEvent.seq))
        ):
            history[event.complaint_id].append(event)
    officers: dict[tuple[str, str | None], str | None] = {}
    items = []
    for row, section in rows:
        assert row.id is not None
        desk = _desk(session, row, officers)
        events = history[row.id]
        items.append(
            AgendaItem(
                registration_number=row.registration_number,
                workflow_id=row.workflow_id,
                kind=row.kind,
                district=row.district,
                department=row.department,
                category=row.category,
                subject=subject_of(row),
                registered_at=row.created_at,
                age_days=max(0, (now - row.created_at).days),
                status=row.status,
                escalation_level=row.escalation_level,
                escalation_history=[
                    HistoryEntry(at=e.at, event=e.event, note=e.note) for e in events
                ],
                last_reply=row.last_reply,
                citizen_remark=row.citizen_remark,
                wishes_to_meet_cm=row.wishes_to_meet_cm,
                assigned_officer_id=row.assigned_officer_id,
                nodal_officer_id=desk,
                section=section,
                undecided_times=_undecided_times(events),
                sidhi_baat_at=row.review_date
                if section is AgendaSection.AWAITING_SIDHI_BAAT
                else None,
                description=row.description,
                urgent=row.urgent,
                extension_requested_until=row.extension_requested_until,
                report_reason=row.report_reason,
            )
        )
    return items


def _desk(
    session: Session, row: Complaint, cache: dict[tuple[str, str | None], str | None]
) -> str | None:
    """Who answers for a case at the meeting: an urgent case's department urgent desk (it
    went there directly, not to the district), else the district's nodal officer."""
    department = row.department_requested or row.department
    if row.urgent and department:
        key: tuple[str, str | None] = ("urgent", department)
        if key not in cache:
            desk = active_officer(
                session, OfficerRole.URGENT_DESK, district=None, department=department
            )
            cache[key] = desk.id if desk else None
        if cache[key] is not None:
            return cache[key]
    key = ("district", row.district)
    if key not in cache:
        officer = district_nodal_officer(session, row.district)
        cache[key] = officer.id if officer else None
    return cache[key]


# ---- an agenda in the database: selections; a frozen agenda's summary, pages, bulk decisions --


@dataclass(frozen=True)
class AgendaColumns:
    """The columns an agenda is selected by: a frozen agenda's rows (`ITEM_COLUMNS`), or the
    cases of a provisional one (`CASE_COLUMNS`: a case's `created_at` is its item's
    `registered_at`)."""

    district: Any
    department: Any
    category: Any
    escalation_level: Any
    registered_at: Any
    undecided_times: Any
    urgent: Any
    wishes_to_meet_cm: Any
    registration_number: Any


ITEM_COLUMNS = AgendaColumns(
    district=col(ReviewItem.district),
    department=col(ReviewItem.department),
    category=col(ReviewItem.category),
    escalation_level=col(ReviewItem.escalation_level),
    registered_at=col(ReviewItem.registered_at),
    undecided_times=col(ReviewItem.undecided_times),
    urgent=col(ReviewItem.urgent),
    wishes_to_meet_cm=col(ReviewItem.wishes_to_meet_cm),
    registration_number=col(ReviewItem.registration_number),
)
CASE_COLUMNS = AgendaColumns(
    district=col(Complaint.district),
    department=col(Complaint.department),
    category=col(Complaint.category),
    escalation_level=col(Complaint.escalation_level),
    registered_at=col(Complaint.created_at),
    undecided_times=col(Complaint.undecided_times),
    urgent=col(Complaint.urgent),
    wishes_to_meet_cm=col(Complaint.wishes_to_meet_cm),
    registration_number=col(Complaint.registration_number),
)


def selection_where(
    selection: BulkSelection, now: datetime, columns: AgendaColumns = ITEM_COLUMNS
) -> list[Any]:
    """The WHERE clauses of a bulk decision's selection (the agenda's filters) over a
    session's agenda rows, or over the cases of a provisional agenda (`CASE_COLUMNS`)."""
    c = columns
    where: list[Any] = []
    if selection.districts:
        where.append(c.district.in_(selection.districts))
    if selection.departments:
        where.append(c.department.in_(selection.departments))
    if selection.categories:
        where.append(c.category.in_(selection.categories))
    if selection.escalation_levels:
        where.append(c.escalation_level.in_(selection.escalation_levels))
    if selection.min_age_days is not None:
        where.append(c.registered_at <= now - timedelta(days=selection.min_age_days))
    if selection.min_undecided_times is not None:
        where.append(c.undecided_times >= selection.min_undecided_times)
    if selection.urgent is not None:
        where.append(c.urgent.is_(selection.urgent))
    if selection.wishes_to_meet_cm is not None:
        where.append(c.wishes_to_meet_cm.is_(selection.wishes_to_meet_cm))
    if selection.registration_numbers:
        where.append(c.registration_number.in_(selection.registration_numbers))
    return where


# Refusals a bulk's progress lists (its `refused` counts them all).
_REFUSALS_LISTED = 200


def bulk_progress(session: Session, bulk_id: str) -> BulkProgress | None:
    """A bulk decision: its terms, N of M applied, and its first refusals with reasons."""
    bulk = session.get(ReviewBulk, bulk_id)
    if bulk is None:
        return None
    refusals = [
        BulkRefusal(
            registration_number=number,
            key=key,
            reason=english(key, {"reg": number, "session": bulk.session_id, "date": "-"}),
        )
        for number, key in json.loads(bulk.unlisted)
    ][:_REFUSALS_LISTED]
    if len(refusals) < _REFUSALS_LISTED:
        refusals += [
            BulkRefusal(registration_number=number, key="other", reason=reason or "")
            for number, reason in session.exec(
                select(ReviewItem.registration_number, ReviewItem.refusal)
                .where(
                    ReviewItem.session_id == bulk.session_id,
                    ReviewItem.bulk_id == bulk_id,
                    col(ReviewItem.refusal).is_not(None),
                )
                .order_by(col(ReviewItem.registration_number))
                .limit(_REFUSALS_LISTED - len(refusals))
            ).all()
        ]
    return BulkProgress(
        bulk_id=bulk.bulk_id,
        session_id=bulk.session_id,
        decision=DecisionKind(bulk.decision),
        text=bulk.text,
        decided_by=bulk.decided_by,
        responsible_officer_id=bulk.responsible_officer_id,
        new_deadline=bulk.new_deadline,
        decided_at=bulk.decided_at,
        total=bulk.total,
        applied=bulk.applied,
        refused=bulk.refused,
        done=bulk.done_at is not None,
        refusals=refusals,
    )


def agenda_summary(session: Session, session_id: str) -> AgendaSummary:
    """A frozen agenda by district x department: cases, undecided, oldest, most times
    undecided, urgent, wishes to meet the CM (one grouped query)."""
    pending = sa.case((col(ReviewItem.outcome) == ItemOutcome.PENDING.value, 1), else_=0)
    urgent = sa.case((col(ReviewItem.urgent).is_(True), 1), else_=0)
    wishes = sa.case((col(ReviewItem.wishes_to_meet_cm).is_(True), 1), else_=0)
    rows = session.exec(
        select(  # type: ignore[call-overload]
            ReviewItem.district,
            ReviewItem.department,
            func.count(),
            func.sum(pending),
            func.min(ReviewItem.registered_at),
            func.max(ReviewItem.undecided_times),
            func.sum(urgent),
            func.sum(wishes),
        )
        .where(ReviewItem.session_id == session_id)
        .group_by(col(ReviewItem.district), col(ReviewItem.department))
        .order_by(col(ReviewItem.district), col(ReviewItem.department))
    ).all()
    return _summary(rows)


def _summary(rows: Any) -> AgendaSummary:
    """An agenda's summary from its grouped rows (district, department, cases, undecided,
    oldest, most times undecided, urgent, wishes to meet the CM), and its totals."""
    summary = [
        AgendaSummaryRow(
            district=district,
            department=department,
            cases=n,
            undecided=int(undecided or 0),
            oldest_registered_at=oldest,
            most_undecided_times=int(most or 0),
            urgent=int(u or 0),
            wishes_to_meet_cm=int(w or 0),
        )
        for district, department, n, undecided, oldest, most, u, w in rows
    ]
    return AgendaSummary(
        cases=sum(r.cases for r in summary),
        undecided=sum(r.undecided for r in summary),
        urgent=sum(r.urgent for r in summary),
        wishes_to_meet_cm=sum(r.wishes_to_meet_cm for r in summary),
        rows=summary,
    )


def agenda_rows(
    session: Session,
    session_id: str,
    selection: BulkSelection,
    now: datetime,
    *,
    limit: int,
    offset: int,
) -> tuple[list[ReviewItem], int]:
    """One page of a frozen agenda's rows the selection names, worst first: for decision
    before awaiting Sidhi Baat, the most times undecided, the oldest, then by number; and
    how many the selection names in all."""
    where = [ReviewItem.session_id == session_id, *selection_where(selection, now)]
    total = session.exec(select(func.count()).select_from(ReviewItem).where(*where)).one()
    rows = session.exec(
        select(ReviewItem)
        .where(*where)
        # "for_decision" sorts after "awaiting_sidhi_baat": descending puts it first.
        .order_by(
            col(ReviewItem.section).desc(),
            col(ReviewItem.undecided_times).desc(),
            col(ReviewItem.registered_at),
            col(ReviewItem.id),
        )
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


# ---- a provisional agenda (before the cutoff) in the database: the cases as they stand ----

# A section's cases worst first, as a frozen agenda's page reads them (`agenda_rows`): the
# most times undecided, the oldest, then by number (year and sequence as numbers). A session's
# cases for decision are read in this order from `ix_complaint_agenda_worst` (no sort).
_WORST_FIRST = (
    col(Complaint.undecided_times).desc(),
    col(Complaint.created_at),
    col(Complaint.year),
    col(Complaint.sequence),
)
_SECTIONS = (AgendaSection.FOR_DECISION, AgendaSection.AWAITING_SIDHI_BAAT)


def provisional_rows(
    session: Session,
    session_id: str,
    selection: BulkSelection,
    now: datetime,
    *,
    limit: int,
    offset: int,
) -> tuple[list[AgendaItem], int]:
    """One page of a provisional agenda's cases the selection names, worst first as a frozen
    agenda's (`agenda_rows`): for decision before awaiting Sidhi Baat; within each, the most
    times undecided, the oldest, then by number; and how many the selection names in all.
    Counted and paged in the database, one section after the other; only the page's cases
    become items (with their histories)."""
    filters = selection_where(selection, now, CASE_COLUMNS)
    page: list[tuple[Complaint, AgendaSection]] = []
    total = 0
    skip = offset  # of the cases before the page, those still to skip in this section
    for section in _SECTIONS:
        where = _agenda_where(session, session_id, section)
        if where is None:
            continue
        where += filters
        count = session.exec(select(func.count()).select_from(Complaint).where(*where)).one()
        total += count
        room = limit - len(page)
        if room > 0 and skip < count:
            rows = session.exec(
                select(Complaint).where(*where).order_by(*_WORST_FIRST).offset(skip).limit(room)
            ).all()
            page += [(row, section) for row in rows]
        skip = max(0, skip - count)
    return _items_of(session, page, now), total


def provisional_summary(session: Session, session_id: str) -> AgendaSummary:
    """A provisional agenda by district x department, as a frozen one's (`agenda_summary`;
    every case is undecided yet): one grouped query over its sections' cases."""
    branches: list[Any] = []
    for section in _SECTIONS:
        where = _agenda_where(session, session_id, section)
        if where is not None:
            branches.append(
                sa.select(
                    col(Complaint.district),
                    col(Complaint.department),
                    col(Complaint.created_at),
                    col(Complaint.undecided_times),
                    col(Complaint.urgent),
                    col(Complaint.wishes_to_meet_cm),
                ).where(*where)
            )
    cases = (branches[0].union_all(*branches[1:]) if len(branches) > 1 else branches[0]).subquery()
    c = cases.c
    grouped: Any = (
        sa.select(
            c.district,
            c.department,
            func.count(),
            func.count(),
            func.min(c.created_at),
            func.max(c.undecided_times),
            func.sum(sa.case((c.urgent.is_(True), 1), else_=0)),
            func.sum(sa.case((c.wishes_to_meet_cm.is_(True), 1), else_=0)),
        )
        .group_by(c.district, c.department)
        .order_by(c.district, c.department)
    )
    rows = session.execute(grouped).all()
    return _summary(rows)


@dataclass(frozen=True)
class AppliedReceipt:
    """A delivery receipt that changed a message (None is returned when it changed nothing)."""

    key: str
    registration_number: str | None
    workflow_id: str | None
    template: str
    recipient_kind: RecipientKind
    status: MessageStatus
    error: str | None


def apply_receipt(
    engine: Engine,
    *,
    key: str | None,
    provider_sid: str,
    status: MessageStatus,
    error_code: str | None = None,
) -> AppliedReceipt | None:
    """Record a gateway's delivery receipt on its message, once.

    The message is found by its key (from the status-callback URL) or else by the gateway's
    SID, and only a message handed to the gateway under that SID takes it (a receipt for a
    message never sent, or with another SID, is ignored). Duplicate, late and out-of-order
    receipts change nothing (None).
    """
    with Session(engine, expire_on_commit=False) as session:
        query = select(Message).where(
            Message.key == key if key else Message.provider_sid == provider_sid
        )
        message = session.exec(query.with_for_update()).first()
        if message is None:
            return None
        # Only for a message this provider took under that very SID: a receipt for a message
        # never handed over (the outbox, a pending one) or for another SID changes nothing.
        if message.provider_sid != provider_sid:
            return None
        if STATUS_RANK[status] <= STATUS_RANK[message.status]:
            return None
        now = utcnow()
        message.status = status
        message.provider_sid = provider_sid
        message.updated_at = now
        if status is MessageStatus.DELIVERED:
            message.delivered_at = now
        if status in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
            message.error = f"Twilio error {error_code}" if error_code else status.value
        session.add(message)
        complaint = session.get(Complaint, message.complaint_id) if message.complaint_id else None
        session.commit()
        return AppliedReceipt(
            key=message.key,
            registration_number=complaint.registration_number if complaint else None,
            workflow_id=complaint.workflow_id if complaint else None,
            template=message.template,
            recipient_kind=message.recipient_kind,
            status=status,
            error=message.error,
        )
