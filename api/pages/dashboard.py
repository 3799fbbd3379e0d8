"""The CM dashboard: open cases by district and escalation level, ageing, the overdue trend
over the last 12 weeks, and the districts ranked on a published formula — SVG charts rendered
on the server (no JavaScript needed), each with its numbers in a table one click away.

The ranking (shown on the page, after MP CM Helpline's monthly grading), over the cases of
each district registered in the last 90 days:

    closed in time   A = cases closed within 21 days of registration (CPGRAMS' limit)
                         / cases registered at least 21 days ago, or closed
    satisfied        B = closures verified "satisfied" with the citizen on the callback
                         / cases closed
    reopened         C = closed cases the citizen had reopened / cases closed
    score            = 50·A + 30·B + 20·(1 − C)    (0–100; no closed case: B = C = 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from markupsafe import Markup
from sqlmodel import Session, col, select

from api.deps import AppState
from api.pages import charts
from api.pages.cases import common
from api.pages.reference import district_label
from api.pages.web import gettext_for, language, render, signed_in
from api.scope import case_filter
from core.db import read_session
from core.models import Complaint, TimelineEvent, utcnow
from schemas.auth import Principal, Role
from schemas.calendar import IST
from schemas.enums import ClosureReason, ComplaintKind, ComplaintStatus
from schemas.escalation import JHARKHAND, Ladder
from schemas.policy import Policy
from schemas.reference import DISTRICTS

router = APIRouter(include_in_schema=False, tags=["pages"])

DASHBOARD_READERS = (Role.REVIEWER, Role.ADMINISTRATOR)
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
    verified: int = 0
    reopened: int = 0

    @property
    def in_time_share(self) -> float:
        return self.closed_in_time / self.due if self.due else 0.0

    @property
    def satisfied_share(self) -> float:
        return self.verified / self.closed if self.closed else 0.0

    @property
    def reopened_share(self) -> float:
        return self.reopened / self.closed if self.closed else 0.0

    @property
    def score(self) -> float | None:
        if not self.due and not self.closed:
            return None
        a, b, c = WEIGHTS
        if not self.closed:
            return a * self.in_time_share
        return a * self.in_time_share + b * self.satisfied_share + c * (1 - self.reopened_share)


@dataclass
class Dashboard:
    open_by_district: dict[str, list[int]]  # district -> open cases per rung of the ladder
    ageing: list[int]  # open cases per AGE_BUCKETS
    trend_weeks: list[datetime]  # ends of the last 12 weeks (IST), oldest first
    trend: list[int]  # open and past their report window at each week's end
    ranking: list[DistrictRank] = field(default_factory=list)
    open_total: int = 0


def _window(row: Complaint, policy: Policy) -> timedelta:
    if row.urgent:
        return policy.report_deadline_urgent
    if row.kind is ComplaintKind.SUGGESTION:
        return policy.report_deadline_suggestion
    return policy.report_deadline_complaint


def _ended_at(row: Complaint) -> datetime | None:
    if row.status is ComplaintStatus.CLOSED:
        return row.closed_at or row.updated_at
    if row.status is ComplaintStatus.WITHDRAWN:
        return row.closed_at or row.updated_at
    return None


def compute(
    session: Session,
    principal: Principal,
    policy: Policy,
    now: datetime,
    ladder: Ladder = JHARKHAND,
) -> Dashboard:
    """Every number of the dashboard, over the cases the principal may read (open cases per
    rung of `ladder`, in its order; a level not on it counts on its top rung)."""
    position = {int(rung.level): i for i, rung in enumerate(ladder.rungs)}
    top = len(ladder.rungs) - 1
    rows = session.exec(select(Complaint).where(case_filter(principal, DASHBOARD_READERS))).all()
    reopened_ids = set(
        session.exec(
            select(TimelineEvent.complaint_id).where(col(TimelineEvent.event) == "reopened")
        ).all()
    )
    by_district: dict[str, list[int]] = {d: [0] * len(ladder.rungs) for d in DISTRICTS}
    ageing = [0] * len(AGE_BUCKETS)
    weeks = [now - timedelta(weeks=k) for k in range(11, -1, -1)]
    trend = [0] * len(weeks)
    ranks = {d: DistrictRank(d) for d in DISTRICTS}
    open_total = 0
    for row in rows:
        ended = _ended_at(row)
        if row.status.is_open:
            open_total += 1
            counts = by_district.setdefault(row.district, [0] * len(ladder.rungs))
            counts[position.get(row.escalation_level, top)] += 1
            age = (now - row.created_at).days
            for index, (_label, low, high) in enumerate(AGE_BUCKETS):
                if age >= low and (high is None or age <= high):
                    ageing[index] += 1
                    break
        late_from = row.created_at + _window(row, policy)
        for index, week_end in enumerate(weeks):
            if late_from < week_end and (ended is None or ended > week_end):
                trend[index] += 1
        if row.created_at >= now - RANKING_WINDOW and row.status is not ComplaintStatus.WITHDRAWN:
            rank = ranks.setdefault(row.district, DistrictRank(row.district))
            closed = row.status is ComplaintStatus.CLOSED
            if closed or row.created_at <= now - IN_TIME:
                rank.due += 1
            if closed:
                rank.closed += 1
                if ended is not None and ended - row.created_at <= IN_TIME:
                    rank.closed_in_time += 1
                if row.closure_reason is ClosureReason.RESOLVED_VERIFIED:
                    rank.verified += 1
                if row.id in reopened_ids:
                    rank.reopened += 1
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
    )


@router.get("/dashboard")
async def dashboard(request: Request, principal: Reader) -> Response:
    """The CM dashboard."""
    app: AppState = request.app.state.jan_samvad
    now = utcnow()

    def load() -> Dashboard:
        with read_session(app.engine) as session:
            return compute(session, principal, app.policy, now, app.ladder)

    data = await run_in_threadpool(load)
    _ = gettext_for(request)
    code = language(request)
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
        },
        principal=principal,
    )
