"""The monthly grading of officers, departments and districts: one published formula over the
read model, computed, sorted and paged in the database (docs/closure.md states it).

The cases of a grading are those registered in one calendar month (IST) and not withdrawn,
within the reader's scope and the filters. Each is graded to the officer it is with (or was
with when it ended: `assigned_officer_id`), its department and its district. Per group:

    on time      A = reports in by the deadline then in force / cases whose report is due
                     (reported, or past the report stage, or past the deadline without one)
    satisfied    B = complaints closed "resolved, verified" / complaints closed
    rating       R = (average rating − 1) / 4, over the rated closures
    reopened     C = cases reopened / cases closed at least once
    appealed     D = cases appealed / cases closed at least once
    told why     I = late cases with an interim reply / late cases (due, not on time)

    score = 100 · (30·A + 25·B + 15·R + 10·(1 − C) + 10·(1 − D) + 10·I) / (sum of the
            weights of the shares that have something to count); None when none has.
    grade = A at 80 or more, B at 60, C at 40, D below; none with fewer than 5 cases due.

A fixed number of statements whatever the volume: one grouped query (the page, sorted on the
score in SQL) and one count of the groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from core.models import Complaint, Officer
from schemas.calendar import IST
from schemas.enums import ClosureReason, ComplaintKind, ComplaintStatus

# (share, weight), in the order of the formula.
WEIGHTS: tuple[tuple[str, int], ...] = (
    ("on_time", 30),
    ("satisfied", 25),
    ("rating", 15),
    ("not_reopened", 10),
    ("not_appealed", 10),
    ("told_why", 10),
)
# Grade thresholds on the score (0-100), best first; below the last: "D".
THRESHOLDS: tuple[tuple[str, float], ...] = (("A", 80.0), ("B", 60.0), ("C", 40.0))
LOWEST_GRADE = "D"
# Fewer cases due than this: a score is shown, no grade (too few to judge).
MIN_DUE = 5


class GradedBy(StrEnum):
    """What a grading's rows are: officers, departments or districts."""

    OFFICER = "officer"
    DEPARTMENT = "department"
    DISTRICT = "district"


class GradeOrder(StrEnum):
    """Best score first, worst first (groups without a score last in both), or by name."""

    BEST = "best"
    WORST = "worst"
    NAME = "name"


@dataclass(frozen=True)
class Month:
    """A calendar month in IST: its cases are those registered from `start` to before `end`."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM`; ValueError otherwise (a month 1-12 of a year 2000-2100)."""
        parts = text.strip().split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
            raise ValueError("a month is written YYYY-MM")
        year, month = int(parts[0]), int(parts[1])
        if not (1 <= month <= 12 and 2000 <= year <= 2100):
            raise ValueError("a month is written YYYY-MM")
        return cls(year, month)

    @classmethod
    def of(cls, moment: datetime) -> Month:
        day = moment.astimezone(IST)
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=IST)

    @property
    def end(self) -> datetime:
        return self.next.start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Grade:
    """One officer's, department's or district's figures for the month: the counts the
    formula divides, its shares (None: nothing to count), the score (0-100) and the grade."""

    key: str
    cases: int
    due: int
    on_time: int
    closed_complaints: int
    verified: int
    rated: int
    rating_sum: int
    closed_once: int
    reopened: int
    appealed: int
    late: int
    late_told_why: int
    interim_used: int
    score: float | None
    # The directory's entry of a graded officer (None for departments and districts).
    officer_name: str | None = None
    officer_designation: str | None = None
    officer_district: str | None = None

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rated if self.rated else None

    def share(self, name: str) -> float | None:
        """A share of the formula by its name in `WEIGHTS` (None: nothing to count)."""
        parts = {
            "on_time": (self.on_time, self.due),
            "satisfied": (self.verified, self.closed_complaints),
            "rating": (self.rating_sum - self.rated, 4 * self.rated),
            "not_reopened": (self.closed_once - self.reopened, self.closed_once),
            "not_appealed": (self.closed_once - self.appealed, self.closed_once),
            "told_why": (self.late_told_why, self.late),
        }
        numerator, denominator = parts[name]
        return numerator / denominator if denominator else None

    @property
    def grade(self) -> str | None:
        """A-D on the thresholds; None without a score or with fewer than MIN_DUE due."""
        if self.score is None or self.due < MIN_DUE:
            return None
        for letter, floor in THRESHOLDS:
            if self.score >= floor:
                return letter
        return LOWEST_GRADE


@dataclass(frozen=True)
class GradingFilters:
    """The cases graded: the month, and optionally one district and/or one department."""

    month: Month
    district: str | None = None
    department: str | None = None


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _key(by: GradedBy) -> Any:
    if by is GradedBy.OFFICER:
        return col(Complaint.assigned_officer_id)
    if by is GradedBy.DEPARTMENT:
        return col(Complaint.department)
    return col(Complaint.district)


def grading(
    session: Session,
    *,
    by: GradedBy,
    filters: GradingFilters,
    scope: ColumnElement[bool],
    now: datetime,
    order: GradeOrder = GradeOrder.BEST,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Grade], int]:
    """One page of the month's grading (`limit` rows from `offset`, sorted in the database)
    and the number of rows in all: officers, departments or districts with at least one case
    registered in the month within `scope` (a WHERE clause on `Complaint`, the reader's) and
    the filters; `now` decides which reports are due."""
    key = _key(by)
    closed = col(Complaint.status) == ComplaintStatus.CLOSED
    complaint = col(Complaint.kind) == ComplaintKind.COMPLAINT
    reported = col(Complaint.reported_at).is_not(None)
    due = sa.or_(
        reported,
        col(Complaint.status) != ComplaintStatus.AWAITING_REPORT,
        col(Complaint.next_deadline) <= now,
    )
    on_time = sa.and_(
        reported,
        col(Complaint.report_due_at).is_not(None),
        col(Complaint.reported_at) <= col(Complaint.report_due_at),
    )
    closed_once = sa.or_(closed, col(Complaint.reopens) > 0, col(Complaint.appeals) > 0)
    late = sa.and_(due, sa.not_(on_time))
    told = col(Complaint.interim_replies) > 0
    where: list[ColumnElement[bool]] = [
        scope,
        col(Complaint.created_at) >= filters.month.start,
        col(Complaint.created_at) < filters.month.end,
        col(Complaint.status) != ComplaintStatus.WITHDRAWN,
        key.is_not(None),
    ]
    if filters.district:
        where.append(col(Complaint.district) == filters.district)
    if filters.department:
        where.append(col(Complaint.department) == filters.department)
    counts = (
        sa.select(
            key.label("key"),
            sa.func.count().label("cases"),
            _count(due).label("due"),
            _count(on_time).label("on_time"),
            _count(sa.and_(closed, complaint)).label("closed_complaints"),
            _count(
                sa.and_(
                    closed,
                    complaint,
                    col(Complaint.closure_reason) == ClosureReason.RESOLVED_VERIFIED,
                )
            ).label("verified"),
            _count(col(Complaint.rating).is_not(None)).label("rated"),
            sa.func.coalesce(sa.func.sum(col(Complaint.rating)), 0).label("rating_sum"),
            _count(closed_once).label("closed_once"),
            _count(col(Complaint.reopens) > 0).label("reopened"),
            _count(col(Complaint.appeals) > 0).label("appealed"),
            _count(late).label("late"),
            _count(sa.and_(late, told)).label("late_told_why"),
            _count(told).label("interim_used"),
        )
        .where(*where)
        .group_by(key)
        .subquery("grading_counts")
    )
    c = counts.c

    def part(numerator: Any, denominator: Any, weight: int) -> tuple[Any, Any]:
        counted = sa.case((denominator > 0, weight), else_=0)
        value = sa.case(
            (
                denominator > 0,
                weight * sa.cast(numerator, sa.Float) / sa.cast(denominator, sa.Float),
            ),
            else_=0.0,
        )
        return value, counted

    weight = dict(WEIGHTS)
    parts = [
        part(c.on_time, c.due, weight["on_time"]),
        part(c.verified, c.closed_complaints, weight["satisfied"]),
        part(c.rating_sum - c.rated, 4 * c.rated, weight["rating"]),
        part(c.closed_once - c.reopened, c.closed_once, weight["not_reopened"]),
        part(c.closed_once - c.appealed, c.closed_once, weight["not_appealed"]),
        part(c.late_told_why, c.late, weight["told_why"]),
    ]
    weighted = sum((value for value, _ in parts[1:]), parts[0][0])
    weights = sum((counted for _, counted in parts[1:]), parts[0][1])
    score = sa.case(
        (weights > 0, 100.0 * weighted / sa.cast(weights, sa.Float)), else_=sa.null()
    ).label("score")
    columns: list[Any] = [*c, score]
    query = sa.select(*columns).select_from(counts)
    if by is GradedBy.OFFICER:
        query = query.add_columns(
            col(Officer.name), col(Officer.designation), col(Officer.district)
        ).outerjoin(Officer, col(Officer.id) == c.key)
    if order is GradeOrder.NAME:
        ordering = [c.key.asc()]
    elif order is GradeOrder.WORST:
        ordering = [score.asc().nulls_last(), c.key.asc()]
    else:
        ordering = [score.desc().nulls_last(), c.key.asc()]
    rows = session.execute(query.order_by(*ordering).offset(offset).limit(limit)).all()
    total = int(session.execute(sa.select(sa.func.count()).select_from(counts)).scalar_one())
    names = [column.name for column in c]
    grades = []
    for row in rows:
        values = dict(zip(names, row[: len(names)], strict=True))
        extra = row[len(names) + 1 :]
        grades.append(
            Grade(
                key=str(values.pop("key")),
                **{name: int(cast(int, value)) for name, value in values.items()},
                score=None if row[len(names)] is None else float(row[len(names)]),
                officer_name=extra[0] if extra else None,
                officer_designation=extra[1] if extra else None,
                officer_district=extra[2] if extra else None,
            )
        )
    return grades, total
