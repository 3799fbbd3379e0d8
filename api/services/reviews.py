"""Review sessions: the sessions of the ladder's forums listed (held, opened or expected),
a session's agenda (filtered, paged, summarised), its decisions one by one or in bulk, its
closing, and its minutes. The application service of `/v1/reviews` and of the review room's
pages: reads come from the read model; actions are updates of the session's workflow.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import Query
from sqlmodel import Session, col, func, select

from api.csvfile import csv_response
from api.deps import AppState
from api.errors import ApiError, refusal, require_future
from api.services.views import ist
from api.updates import execute_within, update_id_for
from core import audit
from core.models import Complaint, Officer, ReviewBulk, ReviewItem, ReviewSession, utcnow
from core.readmodel import (
    agenda_cases,
    agenda_rows,
    agenda_summary,
    bulk_progress,
    provisional_rows,
    provisional_summary,
)
from schemas.actions import BulkDecisionBody, CloseSessionBody, SessionDecisionBody
from schemas.auth import Principal
from schemas.calendar import CalendarDay, session_start
from schemas.escalation import (
    LADDERS,
    DayRule,
    Forum,
    is_sitting_day,
    parse_session_id,
    session_id,
)
from schemas.reference import CATEGORY_BY_CODE, canonical_department, canonical_district
from schemas.review import (
    AgendaCase,
    AgendaItem,
    BulkLine,
    BulkProgress,
    BulkSelection,
    DecisionRecord,
    DistrictAgenda,
    ItemOutcome,
    Minutes,
    MinutesEntry,
    SessionAgenda,
    SessionInfo,
    SessionList,
    SessionPhase,
    SessionSummary,
)
from schemas.workflow import DecisionKind
from workflows.review import ReviewSessionWorkflow, session_workflow_id


def forum_of(app: AppState, kind: str) -> Forum | None:
    """The forum whose sessions are of `kind` (`weekly_review` or `weekly-review`): the
    configured ladder's, else a shipped ladder's (cases registered under an earlier ladder
    keep theirs); None if no ladder has one."""
    kind = kind.replace("-", "_")
    for ladder in (app.ladder, *LADDERS.values()):
        rung = ladder.for_kind(kind)
        if rung is not None and rung.forum is not None:
            return rung.forum
    return None


def _parse_kind(app: AppState, kind: str) -> Forum:
    forum = forum_of(app, kind)
    if forum is None:
        kinds = " or ".join(f.session_kind for _, f in app.ladder.forums())
        raise ApiError(404, f"no kind of session {kind!r} ({kinds})")
    return forum


def _district_of(forum: Forum, district: str | None) -> str | None:
    """The session's district: required (and a known one) for a forum each district holds,
    refused for a forum of the whole state."""
    kind = forum.session_kind
    if forum.held_by == "division":
        if district in forum.divisions:
            return district
        raise ApiError(
            422,
            f"district: each division holds its own {kind}; name one of "
            + ", ".join(forum.divisions),
        )
    if not forum.per_district:
        if district is not None:
            raise ApiError(422, f"district: the {kind} is one session for the whole state")
        return None
    name = canonical_district(district) if district else None
    if name is None:
        raise ApiError(
            422,
            f"district: each district holds its own {kind}; name one"
            + (f" ({district!r} is not a district)" if district else ""),
        )
    return name


def _links(kind: str, day: date, district: str | None = None) -> dict[str, str]:
    base = f"/v1/reviews/{kind}/{day.isoformat()}"
    query = f"?{urlencode({'district': district}, quote_via=quote)}" if district else ""
    return {
        "self": base + query,
        "decisions": f"{base}/decisions{query}",
        "bulk_decisions": f"{base}/bulk-decisions{query}",
        "minutes": f"{base}/minutes{query}",
    }


def _info(row: ReviewSession) -> SessionInfo:
    kind = row.kind
    starts = ist(row.starts_at)
    assert starts is not None
    district = parse_session_id(row.session_id)[2]
    return SessionInfo(
        session_id=row.session_id,
        kind=kind,
        district=district,
        date=starts.date(),
        starts_at=starts,
        cutoff_at=ist(row.cutoff_at) or row.cutoff_at,
        phase=SessionPhase(row.phase),
        agenda_count=row.agenda_count,
        decided_count=row.decided_count,
        rolled_over_count=row.rolled_over_count,
        notices_sent=row.notices_sent,
        notices_failed=row.notices_failed,
        links=_links(kind, starts.date(), district),
    )


def _expected(forum: Forum, day: date, district: str | None, cases: int) -> SessionInfo:
    """A session not opened yet (its planner has not run), known from the cases sent to it."""
    kind = forum.session_kind
    starts = session_start(day, forum.session_time)
    return SessionInfo(
        session_id=session_id(kind, starts, district),
        kind=kind,
        district=district,
        date=day,
        starts_at=starts,
        cutoff_at=starts - forum.agenda_cutoff_before,
        phase=SessionPhase.SCHEDULED,
        agenda_count=cases,
        decided_count=0,
        rolled_over_count=0,
        links=_links(kind, day, district),
    )


def _pending_counts(session: Session, only: str | None = None) -> dict[str, int]:
    """Cases escalated per session id, for sessions whose agenda is not frozen yet (`only`:
    that session's alone, from its index rather than a count over every review case)."""
    which = (
        col(Complaint.review_session_id).is_not(None)
        if only is None
        else col(Complaint.review_session_id) == only
    )
    rows = session.exec(
        select(Complaint.review_session_id, func.count())
        .where(which, agenda_cases())
        .group_by(col(Complaint.review_session_id))
    ).all()
    return {sid: n for sid, n in rows if sid}


def _find(
    session: Session, app: AppState, kind_: str, day: date, district: str | None = None
) -> SessionInfo:
    forum = _parse_kind(app, kind_)
    where = _district_of(forum, district)
    sid = session_id(forum.session_kind, session_start(day, forum.session_time), where)
    row = session.get(ReviewSession, sid)
    # A session already held or opened is found by its day; otherwise the day must be one the
    # forum's calendar gives (its day rule, or the working day one due on a holiday moved to).
    calendar = app.policy.working_calendar()
    if row is None and not is_sitting_day(forum, day, district=where, calendar=calendar):
        raise ApiError(
            404,
            f"no {forum.session_kind} on {day.isoformat()}: sessions are on "
            f"{_rule(forum, where)}, or the next working day when that is a holiday",
        )
    if row is not None:
        info = _info(row)
        if info.phase is SessionPhase.SCHEDULED:
            info.agenda_count = _pending_counts(session, only=sid).get(sid, 0)
        return info
    return _expected(forum, day, where, _pending_counts(session, only=sid).get(sid, 0))


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _rule(forum: Forum, district: str | None) -> str:
    """`a Tuesday`, `the last Tuesday of a month` (the district's weekday where it has one)."""
    weekday = _WEEKDAYS[forum.weekday_for(district)]
    if forum.day_rule is DayRule.LAST_OF_MONTH:
        return f"the last {weekday} of a month"
    return f"a {weekday}"


def list_sessions(
    session: Session,
    app: AppState,
    kind: str | None = None,
    when: Literal["upcoming", "past", "all"] = "all",
    limit: int = 50,
    offset: int = 0,
) -> SessionList:
    """A page of the sessions (held, opened or expected from the pending cases) of `kind`,
    `when` (upcoming, past or all), with their agenda counts; `count` is all of them. A
    `kind` no forum holds is refused (422 naming it)."""
    if kind is not None and forum_of(app, kind) is None:
        kinds = ", ".join(str(f.session_kind) for _, f in app.ladder.forums())
        raise ApiError(422, f"kind: no forum's sessions are {kind!r} ({kinds})")
    pending = _pending_counts(session)
    infos: dict[str, SessionInfo] = {}
    for row in session.exec(select(ReviewSession)).all():
        info = _info(row)
        if info.phase is SessionPhase.SCHEDULED:
            info.agenda_count = pending.get(row.session_id, 0)
        infos[row.session_id] = info
    for sid in pending:
        if sid in infos:
            continue
        session_kind, day, district = parse_session_id(sid)
        forum = forum_of(app, session_kind)
        if forum is not None:
            infos[sid] = _expected(forum, day, district, pending[sid])
    selected = [
        i
        for i in infos.values()
        if (kind is None or i.kind == kind.replace("-", "_"))
        and (when == "all" or (when == "upcoming") == (i.phase is not SessionPhase.CLOSED))
    ]
    upcoming = sorted(
        (i for i in selected if i.phase is not SessionPhase.CLOSED), key=lambda i: i.starts_at
    )
    past = sorted(
        (i for i in selected if i.phase is SessionPhase.CLOSED),
        key=lambda i: i.starts_at,
        reverse=True,
    )
    ordered = upcoming + past
    return SessionList(data=ordered[offset : offset + limit], count=len(ordered))


def _items(
    session: Session, sid: str, *, limit: int | None = None, offset: int = 0
) -> list[ReviewItem]:
    """A session's agenda rows in agenda order (by district, worst first), paged."""
    query = (
        select(ReviewItem)
        .where(ReviewItem.session_id == sid)
        .order_by(
            col(ReviewItem.section).desc(),
            col(ReviewItem.district),
            col(ReviewItem.undecided_times).desc(),
            col(ReviewItem.registered_at),
            col(ReviewItem.position),
        )
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def selection(
    in_district: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006 (FastAPI copies)
    department: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
    category: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
    level: Annotated[list[int], Query(max_length=10)] = [],  # noqa: B006
    min_age_days: Annotated[int | None, Query(ge=0, le=36500)] = None,
    min_undecided_times: Annotated[int | None, Query(ge=0, le=1000)] = None,
    urgent: bool | None = None,
    wishes_to_meet_cm: bool | None = None,
    number: Annotated[list[str], Query(max_length=500)] = [],  # noqa: B006
) -> BulkSelection:
    """The agenda's filters (the same criteria a bulk decision selects by), names checked."""
    districts = []
    for name in in_district:
        district = canonical_district(name)
        if district is None:
            raise ApiError(422, f"in_district: {name!r} is not a district")
        districts.append(district)
    departments = []
    for name in department:
        code = canonical_department(name)
        if code is None:
            raise ApiError(422, f"department: {name!r} is not a department")
        departments.append(code)
    for code in category:
        if code not in CATEGORY_BY_CODE:
            raise ApiError(422, f"category: {code!r} is not a subject code")
    return BulkSelection(
        districts=districts,
        departments=departments,
        categories=category,
        escalation_levels=level,
        min_age_days=min_age_days,
        min_undecided_times=min_undecided_times,
        urgent=urgent,
        wishes_to_meet_cm=wishes_to_meet_cm,
        registration_numbers=number,
    )


def get_agenda(
    kind: str,
    day: CalendarDay,
    session: Session,
    app: AppState,
    filters: BulkSelection,
    district: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> SessionAgenda:
    """The agenda of the session `kind`/`day` (of `district`, for a forum each district holds):
    its summary and a page of the cases `filters` select, worst first; provisional before the
    cutoff."""
    info = _find(session, app, kind, day, district)
    cases: list[AgendaCase]
    if info.phase is SessionPhase.SCHEDULED:
        # Provisional: the cases escalated so far, as they stand (the frozen agenda is rows);
        # summarised, counted and paged in the database all the same.
        summary = provisional_summary(session, info.session_id)
        items, total = provisional_rows(
            session, info.session_id, filters, utcnow(), limit=limit, offset=offset
        )
        cases = [AgendaCase(**item.model_dump()) for item in items]
    else:
        summary = agenda_summary(session, info.session_id)
        rows, total = agenda_rows(
            session, info.session_id, filters, utcnow(), limit=limit, offset=offset
        )
        cases = [
            AgendaCase(
                **AgendaItem.model_validate_json(row.item).model_dump(),
                outcome=ItemOutcome(row.outcome),
                decision_text=row.decision_text,
                decided_by=row.decided_by,
                new_deadline=ist(row.new_deadline),
                bulk_id=row.bulk_id,
                refusal=row.refusal,
            )
            for row in rows
        ]
    districts: dict[str, DistrictAgenda] = {}
    for case in cases:
        group = districts.setdefault(
            case.district,
            DistrictAgenda(district=case.district, nodal_officer_id=None, cases=[]),
        )
        # The district's nodal officer (an urgent case answers at its department's desk).
        if not case.urgent and group.nodal_officer_id is None:
            group.nodal_officer_id = case.nodal_officer_id
        group.cases.append(case)
    return SessionAgenda(
        session=info,
        frozen=info.phase is not SessionPhase.SCHEDULED,
        summary=summary,
        count=total,
        limit=limit,
        offset=offset,
        # Districts in the order of their worst case on the page.
        districts=list(districts.values()),
    )


async def _session_update(
    session: Session,
    app: AppState,
    kind: str,
    day: CalendarDay,
    update: Any,
    arg: Any,
    *,
    district: str | None = None,
    budget: float | None = None,
    update_id: str | None = None,
) -> Any:
    info = _find(session, app, kind, day, district)
    row = session.get(ReviewSession, info.session_id)
    if row is None:
        raise ApiError(404, f"the session {info.session_id} is not open yet")
    if row.phase == SessionPhase.CLOSED:
        # Its workflow has finished: answer for it rather than with a raw "not found".
        raise refusal("session_closed", session=info.session_id)
    # Give the (read-only) connection back to the pool rather than hold it through the wait.
    session.close()
    handle = app.client.get_workflow_handle_for(
        ReviewSessionWorkflow.run,
        session_workflow_id(app.settings.workflow_id_prefix, info.session_id),
    )
    # A decision is delivered to its case before the session answers: the case's transition
    # is recorded at once (its SMS follow), so the API's budget holds here too.
    return await execute_within(
        handle,
        update,
        arg,
        budget=budget or app.settings.action_timeout_seconds,
        update_id=update_id,
    )


async def record_decision(
    kind: str,
    day: CalendarDay,
    body: SessionDecisionBody,
    session: Session,
    app: AppState,
    principal: Principal,
    idempotency_key: str | None = None,
    district: str | None = None,
) -> DecisionRecord:
    """One decision of the session on a case of its agenda, as `principal`'s: an update of the
    session's workflow, which delivers it to the case."""
    if body.responsible_officer_id and session.get(Officer, body.responsible_officer_id) is None:
        raise ApiError(
            422, f"responsible_officer_id: unknown officer {body.responsible_officer_id!r}"
        )
    require_future("new_deadline", body.new_deadline)
    decision = body.as_update(principal.subject)
    audit.describe(
        "record_decision",
        complaint=audit.complaint_of_number(decision.registration_number),
        session=f"{kind}/{day.isoformat()}",
        facts=audit.summarize(decision),
    )
    record: DecisionRecord = await _session_update(
        session,
        app,
        kind,
        day,
        ReviewSessionWorkflow.record_decision,
        decision,
        district=district,
        update_id=update_id_for("record_decision", principal, idempotency_key),
    )
    return record


async def record_bulk_decision(
    kind: str,
    day: CalendarDay,
    body: BulkDecisionBody,
    session: Session,
    app: AppState,
    principal: Principal,
    idempotency_key: str | None = None,
    district: str | None = None,
) -> BulkProgress:
    """One decision for every undecided case the body's selection names, as `principal`'s:
    accepted at once (M cases selected, the refused ones with their reasons), applied case by
    case."""
    if body.responsible_officer_id and session.get(Officer, body.responsible_officer_id) is None:
        raise ApiError(
            422, f"responsible_officer_id: unknown officer {body.responsible_officer_id!r}"
        )
    require_future("new_deadline", body.new_deadline)
    # Names as the agenda's filters take them (Hindi, any case) become the canonical ones.
    checked = selection(
        body.selection.districts,
        body.selection.departments,
        body.selection.categories,
        body.selection.escalation_levels,
        body.selection.min_age_days,
        body.selection.min_undecided_times,
        body.selection.urgent,
        body.selection.wishes_to_meet_cm,
        body.selection.registration_numbers,
    )
    if checked.is_empty():
        raise ApiError(422, "selection: name at least one criterion (or numbers)")
    request = body.model_copy(update={"selection": checked}).as_update(principal.subject)
    audit.describe(
        "record_bulk_decision",
        session=f"{kind}/{day.isoformat()}",
        facts=audit.summarize(request),
    )
    progress: BulkProgress = await _session_update(
        session,
        app,
        kind,
        day,
        ReviewSessionWorkflow.record_bulk_decision,
        request,
        district=district,
        update_id=update_id_for("record_bulk_decision", principal, idempotency_key),
    )
    progress.links = _bulk_links(kind, day, district, progress.bulk_id)
    return progress


def _bulk_links(kind: str, day: date, district: str | None, bulk_id: str) -> dict[str, str]:
    query = f"?{urlencode({'district': district}, quote_via=quote)}" if district else ""
    base = f"/v1/reviews/{kind}/{day.isoformat()}"
    return {"progress": f"{base}/bulk-decisions/{quote(bulk_id, safe='')}{query}"}


def get_bulk_decision(
    kind: str,
    day: CalendarDay,
    bulk_id: str,
    session: Session,
    app: AppState,
    district: str | None = None,
) -> BulkProgress:
    """A bulk decision's progress: N of M applied, done or not, and its first refusals."""
    info = _find(session, app, kind, day, district)
    progress = bulk_progress(session, bulk_id)
    if progress is None or progress.session_id != info.session_id:
        raise ApiError(404, f"no bulk decision {bulk_id!r} at {info.session_id}")
    progress.links = _bulk_links(kind, day, district, bulk_id)
    return progress


_CLOSE_BUDGET = 60.0


async def close_session(
    kind: str,
    day: CalendarDay,
    body: CloseSessionBody,
    session: Session,
    app: AppState,
    principal: Principal,
    idempotency_key: str | None = None,
    district: str | None = None,
) -> SessionSummary:
    """The session closed: undecided cases roll over and the minutes become final."""
    request = body.as_update(principal.subject)
    audit.describe("close", session=f"{kind}/{day.isoformat()}")
    # Closing rolls every undecided case over (one update each): a budget of its own.
    summary: SessionSummary = await _session_update(
        session,
        app,
        kind,
        day,
        ReviewSessionWorkflow.close,
        request,
        district=district,
        budget=_CLOSE_BUDGET,
        update_id=update_id_for("close", principal, idempotency_key),
    )
    return summary


def _minutes(
    session: Session,
    app: AppState,
    kind: str,
    day: date,
    district: str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> Minutes:
    info = _find(session, app, kind, day, district)
    entries = []
    rows = _items(session, info.session_id, limit=limit, offset=offset)
    for row in rows:
        item = AgendaItem.model_validate_json(row.item)
        entries.append(
            MinutesEntry(
                registration_number=row.registration_number,
                district=row.district,
                subject=item.subject,
                category=item.category,
                outcome=ItemOutcome(row.outcome),
                decision_text=row.decision_text,
                decided_by=row.decided_by,
                responsible_officer_id=row.responsible_officer_id,
                new_deadline=ist(row.new_deadline),
                citizen_informed=row.citizen_informed,
                decided_at=ist(row.decided_at),
                bulk_id=row.bulk_id,
                refusal=row.refusal,
            )
        )
    bulks = session.exec(
        select(ReviewBulk)
        .where(ReviewBulk.session_id == info.session_id)
        .order_by(col(ReviewBulk.decided_at))
    ).all()
    return Minutes(
        session=info,
        final=info.phase is SessionPhase.CLOSED,
        entries=entries,
        count=session.exec(
            select(func.count())
            .select_from(ReviewItem)
            .where(ReviewItem.session_id == info.session_id)
        ).one(),
        bulk_decisions=[
            BulkLine(
                bulk_id=b.bulk_id,
                decision=DecisionKind(b.decision),
                text=b.text,
                decided_by=b.decided_by,
                responsible_officer_id=b.responsible_officer_id,
                new_deadline=ist(b.new_deadline),
                decided_at=ist(b.decided_at) or b.decided_at,
                total=b.total,
                applied=b.applied,
                refused=b.refused,
            )
            for b in bulks
        ],
    )


CSV_COLUMNS = (
    "session_id",
    "registration_number",
    "district",
    "subject",
    "outcome",
    "decision_text",
    "decided_by",
    "responsible_officer_id",
    "new_deadline",
    "citizen_informed",
    "decided_at",
)


def get_minutes(
    kind: str,
    day: CalendarDay,
    session: Session,
    app: AppState,
    format: Literal["json", "csv"] = "json",
    district: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Any:
    """The session's minutes (a page of their entries), as JSON or as a CSV file (`format`)."""
    minutes = _minutes(
        session, app, kind, day, district, limit=None if format == "csv" else limit, offset=offset
    )
    if format == "json":
        return minutes
    rows = (
        [
            minutes.session.session_id,
            e.registration_number,
            e.district,
            e.subject,
            e.outcome.value,
            e.decision_text or "",
            e.decided_by or "",
            e.responsible_officer_id or "",
            e.new_deadline.isoformat() if e.new_deadline else "",
            "yes" if e.citizen_informed else "no",
            e.decided_at.isoformat() if e.decided_at else "",
        ]
        for e in minutes.entries
    )
    # Stable column codes for programs; the review room's CSV has the reader's words.
    return csv_response(f"minutes-{minutes.session.session_id}.csv", CSV_COLUMNS, rows)
