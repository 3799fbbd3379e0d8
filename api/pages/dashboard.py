"""The CM dashboard: open cases by district and escalation level, ageing, the overdue trend
over the last 12 weeks, and the districts ranked on a published formula — SVG charts rendered
on the server (no JavaScript needed), each with its numbers in a table one click away.

The ranking (shown on the page, after MP CM Helpline's monthly grading), over the cases of
each district registered in the last 90 days:

    closed in time   A = cases closed within 21 days of registration (CPGRAMS' limit)
                         / cases registered at least 21 days ago, or closed
    satisfied        B = complaints verified "satisfied" with the citizen on the callback
                         / complaints closed (a suggestion is answered, never verified)
    reopened         C = closed cases the citizen had reopened / cases closed
    score            = 50·A + 30·B + 20·(1 − C)    (0–100; a share with nothing to count is
                                                    None, shown "—", and adds nothing)

Every number is a grouped query in the database over the cases the reader may see and the
filters admit (period of registration, district, department): four statements whatever the
volume, each reading an index that holds every column it needs (migration 0027), no case's
row (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any, cast
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from api.auth import signed_in
from api.deps import AppState
from api.pages import charts
from api.pages.cases import common
from api.pages.dashboard_verification import period_of, verification_figures
from api.pages.grading import GradingPanel, grading_panel, month_label
from api.pages.reference import district_label, place_filters
from api.pages.web import gettext_for, language, render
from api.services.scope import case_filter
from core.db import read_session
from core.models import AwareDateTime, Complaint, utcnow
from core.permissions import DASHBOARD_READERS
from core.readmodel import open_cases
from schemas.auth import Principal
from schemas.calendar import IST, within_calendar
from schemas.enums import ClosureReason, ComplaintKind, ComplaintStatus
from schemas.escalation import JHARKHAND, Ladder
from schemas.policy import Policy
from schemas.reference import DEPARTMENTS, DISTRICTS
from schemas.voice import VerificationByChannel

router = APIRouter(include_in_schema=False, tags=["pages"])

Reader = Annotated[Principal, Depends(signed_in(*DASHBOARD_READERS))]

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–7", 0, 7),
    ("8–15", 8, 15),
    ("16–30", 16, 30),
    ("31–60", 31, 60),
    ("61–180", 61, 180),
    ("181+", 181, None),
)
RANKING_WINDOW = timedelta(days=90)
IN_TIME = timedelta(days=21)
WEIGHTS = (50, 30, 20)


@dataclass
class DistrictRank:
    district: str
    due: int = 0  # registered at least 21 days ago, or closed
    closed: int = 0
    closed_in_time: int = 0
    # B counts complaints only: a suggestion is answered, never "verified" with the citizen.
    closed_complaints: int = 0
    verified: int = 0
    reopened: int = 0

    @property
    def in_time_share(self) -> float | None:
        return self.closed_in_time / self.due if self.due else None

    @property
    def satisfied_share(self) -> float | None:
        return self.verified / self.closed_complaints if self.closed_complaints else None

    @property
    def reopened_share(self) -> float | None:
        return self.reopened / self.closed if self.closed else None

    @property
    def score(self) -> float | None:
        if not self.due and not self.closed:
            return None
        a, b, c = WEIGHTS
        return (
            a * (self.in_time_share or 0.0)
            + b * (self.satisfied_share or 0.0)
            + (c * (1 - self.reopened_share) if self.reopened_share is not None else 0.0)
        )


@dataclass(frozen=True)
class Filters:
    """What the dashboard is narrowed to: a registration period (IST days, both included), a
    district, a department. The ranking's window is the period when one is given."""

    district: str | None = None
    department: str | None = None
    registered_from: date | None = None
    registered_to: date | None = None

    @property
    def period(self) -> bool:
        return self.registered_from is not None or self.registered_to is not None

    def where(
        self,
        district: Callable[[Any], Any] = lambda column: column,
        department: Callable[[Any], Any] = lambda column: column,
    ) -> list[ColumnElement[bool]]:
        """The conditions on `Complaint`; `district` and `department` wrap those columns
        (`_plain`: so that a statement reads through another index than theirs)."""
        found: list[ColumnElement[bool]] = []
        if self.district:
            found.append(district(col(Complaint.district)) == self.district)
        if self.department:
            found.append(department(col(Complaint.department)) == self.department)
        if self.registered_from is not None:
            found.append(col(Complaint.created_at) >= _day_start(self.registered_from))
        if self.registered_to is not None:
            found.append(
                col(Complaint.created_at) < _day_start(self.registered_to + timedelta(days=1))
            )
        return found

    def query(self) -> dict[str, str]:
        """The filters as the case listing's query parameters."""
        found = {
            "district": self.district,
            "department": self.department,
            "registered_from": self.registered_from.isoformat() if self.registered_from else None,
            "registered_to": self.registered_to.isoformat() if self.registered_to else None,
        }
        return {k: v for k, v in found.items() if v}


@dataclass
class Dashboard:
    open_by_district: dict[str, list[int]]  # district -> open cases per rung of the ladder
    ageing: list[int]  # open cases per AGE_BUCKETS
    trend_weeks: list[datetime]  # ends of the last 12 weeks (IST), oldest first
    trend: list[int]  # open and past their report window at each week's end
    ranking: list[DistrictRank] = field(default_factory=list)
    open_total: int = 0
    # The registration days (IST) of each age bucket, oldest first: (from, to), both included.
    bucket_days: list[tuple[date | None, date]] = field(default_factory=list)
    ranking_from: date | None = None
    # district -> (repeat calls on its open cases, open cases with at least one)
    repeats_by_district: dict[str, tuple[int, int]] = field(default_factory=dict)
    repeat_calls: int = 0  # repeat calls linked to open cases (the citizen called again)
    repeat_cases: int = 0  # open cases with at least one repeat call

    @property
    def repeat_share(self) -> float | None:
        """The share of open cases with any repeat call (0–1); None with no open case."""
        return self.repeat_cases / self.open_total if self.open_total else None


def _day_start(day: date) -> datetime:
    """The first moment of an IST day."""
    return datetime.combine(day, time(0, 0), tzinfo=IST)


def _withdrawn() -> ColumnElement[bool]:
    """`status = 'withdrawn'`, the status written into the statement (as `open_cases`), so
    that SQLite sees that the partial index over withdrawn cases (ix_complaint_withdrawn)
    applies."""
    withdrawn: sa.BindParameter[str] = sa.bindparam(
        "withdrawn_status", ComplaintStatus.WITHDRAWN.value, literal_execute=True
    )
    return col(Complaint.status) == withdrawn


def _ladder(value: Any, ends: list[datetime], *, strict: bool) -> Any:
    """The index of the first of `ends` (ascending) that `value` is before (`strict`) or at;
    `len(ends)` after the last: comparisons of moments alone, no date arithmetic per case."""
    return sa.case(
        *(
            (value < bound if strict else value <= bound, index)
            for index, bound in enumerate(sa.literal(end, AwareDateTime()) for end in ends)
        ),
        else_=len(ends),
    )


def _late_week(policy: Policy, weeks: list[datetime]) -> Any:
    """The first of `weeks` (their ends, a week apart) at whose end a case was past its
    report window: registered before that end less the window (one ladder per window length:
    urgent, suggestion, complaint); `len(weeks)` when none."""

    def late(window: timedelta) -> Any:
        return _ladder(col(Complaint.created_at), [w - window for w in weeks], strict=True)

    return sa.case(
        (col(Complaint.urgent).is_(True), late(policy.report_deadline_urgent)),
        (
            col(Complaint.kind) == ComplaintKind.SUGGESTION,
            late(policy.report_deadline_suggestion),
        ),
        else_=late(policy.report_deadline_complaint),
    )


def _trend(
    session: Session,
    weeks: list[datetime],
    first: Any,
    open_first: dict[int, int],
    by_moment: list[ColumnElement[bool]],
) -> list[int]:
    """Cases open past their report window at each week's end (`weeks`, a week apart).

    A case counts at week k when its report window ended before that week's end (`first`,
    `_late_week`) and it had not ended (closed or withdrawn) by then: a run of weeks
    [first, stop). `open_first`: the open cases (never ended: to the last week) per first
    week, read with the open pass. Here the cases ended since the oldest week's end are
    counted per (first, stop) pair (at most 13 x 13 groups), in two reads each from an index
    that holds every column it needs (an OR of them would read every case on SQLite): those
    closed (a closed case's end is its `closed_at`) and those withdrawn (the withdrawal's
    moment, its last update). `by_moment`: the cases to count, their conditions written so
    that neither read goes through the district's or the department's index (`_plain`)."""
    count = len(weeks)
    grouped = [(begins, count, cases) for begins, cases in open_first.items()]
    first_col = first.label("first_week")
    withdrawn_at = sa.func.coalesce(col(Complaint.closed_at), col(Complaint.updated_at))
    for moment, where in (
        (
            col(Complaint.closed_at),
            [
                *by_moment,
                _plain(session, col(Complaint.status)) == ComplaintStatus.CLOSED,
                col(Complaint.closed_at) > weeks[0],
            ],
        ),
        (withdrawn_at, [*by_moment, _withdrawn(), withdrawn_at > weeks[0]]),
    ):
        stop_col = _ladder(moment, weeks, strict=False).label("stop_week")
        grouped += [
            (cast(int, begins), cast(int, ends), cast(int, cases))
            for begins, ends, cases in session.execute(
                sa.select(first_col, stop_col, sa.func.count())
                .where(*where)
                .group_by(first_col, stop_col)
            ).all()
        ]
    trend = [0] * count
    for begins, ends, cases in grouped:
        for week in range(begins, min(ends, count)):
            trend[week] += cases
    return trend


def _plain(session: Session, column: Any) -> Any:
    """`column` as SQLite's planner should not read it through its own index (`+column`).

    Without the column statistics of SQLITE_ENABLE_STAT4 SQLite guesses an equality on any
    indexed column more selective than a range: it would read every closed case through the
    status index rather than the few closed since a date through `closed_at`'s, or every case
    of a district (in its index's order, to group by it) rather than the period's through
    `created_at`'s. PostgreSQL has the statistics and gets the column itself."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.literal_column(f"+{column.table.name}.{column.name}", type_=column.type)
    return column


def _within(session: Session, later: Any, earlier: Any, span: timedelta) -> ColumnElement[bool]:
    """`later - earlier <= span`, in the database's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        days = sa.func.julianday(later) - sa.func.julianday(earlier)
        return days <= span.total_seconds() / 86400
    return (later - earlier) <= sa.literal(span, sa.Interval())


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def compute(
    session: Session,
    principal: Principal,
    policy: Policy,
    now: datetime,
    ladder: Ladder = JHARKHAND,
    filters: Filters | None = None,
) -> Dashboard:
    """Every number of the dashboard, over the cases the principal may read and `filters`
    admit, each a grouped query in the database (open cases per rung of `ladder`, in its order;
    a level not on it counts on its top rung): nothing is loaded case by case."""
    filters = filters or Filters()
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL compiles a statement estimated dearer than `jit_above_cost` to machine
        # code first: some 180 ms of each dashboard read at 1,000,000 cases, to save less on
        # the 100,000 rows a grouped statement reads. Off for this transaction only.
        session.execute(sa.text("SET LOCAL jit = off"))
    position = {int(rung.level): i for i, rung in enumerate(ladder.rungs)}
    top = len(ladder.rungs) - 1
    # The filters as each statement's index needs them (`_plain`): the open cases are read
    # from their own index, which leads with the district (not from the department's, which
    # holds every case the department ever had); the others from an index of a span of
    # moments (not from the district's or the department's).
    plain = partial(_plain, session)
    scope = [case_filter(principal, DASHBOARD_READERS), *filters.where(department=plain)]
    by_moment = [
        case_filter(principal, DASHBOARD_READERS),
        *filters.where(district=plain, department=plain),
    ]
    is_open = open_cases()

    # Age in whole IST days since the registration day: a bucket is a range of days, so its
    # list is the case listing between two registration dates.
    today = now.astimezone(IST).date()
    bucket_days: list[tuple[date | None, date]] = [
        (today - timedelta(days=high) if high is not None else None, today - timedelta(days=low))
        for _label, low, high in AGE_BUCKETS
    ]
    # The bucket of a case: the first whose oldest registration day it is not before.
    bucket = sa.case(
        *(
            (col(Complaint.created_at) >= _day_start(first), index)
            for index, (first, _last) in enumerate(bucket_days)
            if first is not None
        ),
        else_=len(bucket_days) - 1,
    ).label("bucket")
    # The ends of the trend's twelve weeks, oldest first.
    weeks = [now - timedelta(weeks=k) for k in range(11, -1, -1)]
    first = _late_week(policy, weeks)
    # One pass over the open cases (ix_complaint_open_dashboard holds every column it reads):
    # per district, level, age bucket and the trend's first week past the report window,
    # with the repeat calls linked to them (the read model's count per case) and the cases
    # that have any.
    by_district: dict[str, list[int]] = {d: [0] * len(ladder.rungs) for d in DISTRICTS}
    repeats: dict[str, tuple[int, int]] = {}
    ageing = [0] * len(AGE_BUCKETS)
    open_first: dict[int, int] = {}
    open_total = 0
    late_col = first.label("first_week")
    grouped = session.execute(
        sa.select(
            col(Complaint.district),
            col(Complaint.escalation_level),
            bucket,
            late_col,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(col(Complaint.repeat_contacts)), 0),
            _count(col(Complaint.repeat_contacts) > 0),
        )
        .where(is_open, *scope)
        .group_by(col(Complaint.district), col(Complaint.escalation_level), bucket, late_col)
    ).all()
    for district, level, age, late, number, calls, called in grouped:
        count = cast(int, number)
        counts = by_district.setdefault(str(district), [0] * len(ladder.rungs))
        counts[position.get(cast(int, level), top)] += count
        ageing[cast(int, age)] += count
        open_first[cast(int, late)] = open_first.get(cast(int, late), 0) + count
        open_total += count
        before = repeats.get(str(district), (0, 0))
        repeats[str(district)] = (before[0] + cast(int, calls), before[1] + cast(int, called))

    trend = _trend(session, weeks, first, open_first, by_moment)
    suggestion = col(Complaint.kind) == ComplaintKind.SUGGESTION

    ranking_from = filters.registered_from if filters.period else None
    window = [] if filters.period else [col(Complaint.created_at) >= now - RANKING_WINDOW]
    closed = col(Complaint.status) == ComplaintStatus.CLOSED
    # The read model's count of the case's reopenings (not its timeline: every event of
    # every case, ten or more to a case, read for a few).
    reopened = col(Complaint.reopens) > 0
    ranked = session.execute(
        sa.select(
            col(Complaint.district),
            _count(sa.or_(closed, col(Complaint.created_at) <= now - IN_TIME)),
            _count(closed),
            _count(
                sa.and_(
                    closed,
                    _within(session, col(Complaint.closed_at), col(Complaint.created_at), IN_TIME),
                )
            ),
            _count(sa.and_(closed, sa.not_(suggestion))),
            _count(
                sa.and_(
                    closed,
                    sa.not_(suggestion),
                    col(Complaint.closure_reason) == ClosureReason.RESOLVED_VERIFIED,
                )
            ),
            _count(sa.and_(closed, reopened)),
        )
        .where(*by_moment, *window, col(Complaint.status) != ComplaintStatus.WITHDRAWN)
        .group_by(_plain(session, col(Complaint.district)))
    ).all()
    ranks = {d: DistrictRank(d) for d in DISTRICTS}
    for name, *numbers in ranked:
        due, n_closed, in_time, complaints_closed, verified, n_reopened = (
            cast(int, n) for n in numbers
        )
        ranks[str(name)] = DistrictRank(
            str(name),
            due=due,
            closed=n_closed,
            closed_in_time=in_time,
            closed_complaints=complaints_closed,
            verified=verified,
            reopened=n_reopened,
        )
    if filters.district:
        ranks = {d: r for d, r in ranks.items() if d == filters.district}
        by_district = {d: v for d, v in by_district.items() if d == filters.district}
        repeats = {d: v for d, v in repeats.items() if d == filters.district}
    ranking = sorted(
        ranks.values(),
        key=lambda r: (r.score is None, -(r.score or 0.0), r.district),
    )
    return Dashboard(
        open_by_district=by_district,
        ageing=ageing,
        trend_weeks=weeks,
        trend=trend,
        ranking=ranking,
        open_total=open_total,
        bucket_days=bucket_days,
        ranking_from=ranking_from or (now - RANKING_WINDOW).astimezone(IST).date(),
        repeats_by_district=repeats,
        repeat_calls=sum(calls for calls, _cases in repeats.values()),
        repeat_cases=sum(cases for _calls, cases in repeats.values()),
    )


# The case listing behind each number (the lists' page, `/cases`), and the names its query
# string gives the API's filters where they differ (the registration period); `open_only`
# and `escalation_level` are the API's own (`GET /v1/complaints`).
CASE_LIST = "/cases"
LIST_PARAMS = {"registered_from": "from", "registered_to": "to"}


def read_filters(request: Request) -> tuple[Filters, dict[str, str], dict[str, str]]:
    """The filters of the query string, the values as typed, and a message beside each field
    that names nothing the dashboard knows (in the reader's language)."""
    _ = gettext_for(request)
    params = request.query_params
    values = {
        name: (params.get(name) or "").strip()
        for name in ("district", "department", "registered_from", "registered_to")
    }
    errors: dict[str, str] = {}
    district, department = place_filters(values, errors, _)
    days: dict[str, date | None] = {}
    for name in ("registered_from", "registered_to"):
        days[name] = None
        if values[name]:
            try:
                days[name] = within_calendar(date.fromisoformat(values[name]))
            except ValueError:
                errors[name] = _("Not a date.")
    first, last = days["registered_from"], days["registered_to"]
    if first and last and first > last:
        errors["registered_to"] = _("The end of the period comes before its start.")
        last = None
    return Filters(district, department, first, last), values, errors


def _href(query: dict[str, str], **more: Any) -> str:
    """The case listing with the dashboard's filters and `more` (None: left out)."""
    merged = dict(query)
    for name, value in more.items():
        if value is not None:
            merged[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return f"{CASE_LIST}?{urlencode({LIST_PARAMS.get(k, k): v for k, v in merged.items()})}"


def _overlap(filters: Filters, first: date | None, last: date) -> tuple[date | None, date]:
    """A bucket's registration days within the filters' period."""
    if filters.registered_from and (first is None or filters.registered_from > first):
        first = filters.registered_from
    if filters.registered_to and filters.registered_to < last:
        last = filters.registered_to
    return first, last


@router.get("/dashboard")
async def dashboard(request: Request, principal: Reader) -> Response:
    """The CM dashboard, narrowed by period (registration dates), district and department;
    each number links to the case listing behind it."""
    app: AppState = request.app.state.jan_samvad
    now = utcnow()
    filters, values, errors = read_filters(request)

    first, last = period_of(filters.registered_from, filters.registered_to, now)

    def load() -> tuple[Dashboard, GradingPanel, VerificationByChannel]:
        with read_session(app.engine) as session:
            data = compute(session, principal, app.policy, now, app.ladder, filters)
            verification = verification_figures(
                session,
                principal,
                DASHBOARD_READERS,
                first=first,
                last=last,
                district=filters.district,
                department=filters.department,
            )
            return data, grading_panel(session, principal, now), verification

    data, panel, verification = await run_in_threadpool(load)
    _ = gettext_for(request)
    code = language(request)
    query = filters.query()
    today = now.astimezone(IST).date()
    with_cases = [d for d, levels in data.open_by_district.items() if sum(levels)]
    week_labels = [w.astimezone(IST).strftime("%d/%m") for w in data.trend_weeks]
    levels = [rung.label(code) for rung in app.ladder.rungs]
    svg = {
        "by_district": charts.stacked_bars(
            _("Open cases by district and level"),
            [district_label(d, code) for d in with_cases],
            [
                (name, [data.open_by_district[d][i] for d in with_cases])
                for i, name in enumerate(levels)
            ],
        ),
        "ageing": charts.columns(
            _("Open cases by age (days since registration)"),
            [label for label, _low, _high in AGE_BUCKETS],
            data.ageing,
        ),
        "trend": charts.line(
            _("Cases open past their report deadline, at the end of each week"),
            week_labels,
            data.trend,
        ),
        "ranking": charts.columns(
            _("District score (0–100)"),
            [district_label(r.district, code)[:10] for r in data.ranking if r.score is not None][
                :12
            ],
            [round(r.score or 0) for r in data.ranking if r.score is not None][:12],
        ),
    }
    return render(
        request,
        "dashboard.html",
        {
            **common(request),
            "data": data,
            "with_cases": with_cases,
            "levels": levels,
            "week_labels": week_labels,
            "buckets": [label for label, _low, _high in AGE_BUCKETS],
            # Built from numbers and escaped labels only (charts.py escapes every text).
            "svg": {name: Markup(chart) for name, chart in svg.items()},
            "weights": WEIGHTS,
            "generated_at": now,
            "filters": filters,
            "values": values,
            "errors": errors,
            "districts": DISTRICTS,
            "departments": DEPARTMENTS,
            "rung_levels": [int(rung.level) for rung in app.ladder.rungs],
            "link": lambda **more: _href(query, **more),
            "bucket_link": lambda index: _href(
                query,
                open_only=True,
                **dict(
                    zip(
                        ("registered_from", "registered_to"),
                        (
                            d.isoformat() if d else None
                            for d in _overlap(filters, *data.bucket_days[index])
                        ),
                        strict=True,
                    )
                ),
            ),
            "ranking_from": data.ranking_from.isoformat() if data.ranking_from else None,
            "periods": [
                (_("Last 7 days"), (today - timedelta(days=6)).isoformat()),
                (_("Last 30 days"), (today - timedelta(days=29)).isoformat()),
                (_("Last 90 days"), (today - timedelta(days=89)).isoformat()),
            ],
            "today": today.isoformat(),
            # The month's grading (its own include, _grading_panel.html).
            "grading": panel,
            "grading_month": month_label(panel.month, code),
            "verification": verification,
            "verification_days": (first, last),
        },
        principal=principal,
        status=422 if errors else 200,
    )
