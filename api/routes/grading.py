"""The monthly grading of officers, departments and districts (`GET /v1/grading`), on the
published formula of `core.grading`, over the cases the caller may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import require
from api.deps import SessionDep
from api.errors import ApiError
from api.services.lists import Offset
from api.services.scope import case_filter
from core.grading import (
    WEIGHTS,
    Grade,
    GradedBy,
    GradeOrder,
    GradingFilters,
    Month,
    grading,
)
from core.models import utcnow
from core.permissions import GRADING_READERS
from schemas.auth import Principal
from schemas.grading import GradeEntry, GradeShares, GradingList
from schemas.reference import DepartmentName, DistrictName

router = APIRouter(prefix="/v1", tags=["grading"])


def month_of(text: str | None) -> Month:
    """The month asked for (`YYYY-MM`), the current one (IST) when none; 422 naming `month`."""
    if not text:
        return Month.of(utcnow())
    try:
        return Month.parse(text)
    except ValueError as problem:
        raise ApiError(
            422, f"month: {problem}", errors=[{"field": "month", "message": str(problem)}]
        ) from None


def entry(grade: Grade) -> GradeEntry:
    """A row of the grading as the API gives it."""
    shares = {name: grade.share(name) for name, _weight in WEIGHTS}
    return GradeEntry(
        key=grade.key,
        officer_name=grade.officer_name,
        officer_designation=grade.officer_designation,
        officer_district=grade.officer_district,
        cases=grade.cases,
        due=grade.due,
        on_time=grade.on_time,
        closed_complaints=grade.closed_complaints,
        verified=grade.verified,
        rated=grade.rated,
        average_rating=grade.average_rating,
        closed_once=grade.closed_once,
        reopened=grade.reopened,
        appealed=grade.appealed,
        late=grade.late,
        late_told_why=grade.late_told_why,
        interim_used=grade.interim_used,
        shares=GradeShares(**shares),
        score=grade.score,
        grade=grade.grade,
    )


@router.get("/grading", response_model=GradingList)
def get_grading(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*GRADING_READERS))],
    by: GradedBy = GradedBy.OFFICER,
    month: Annotated[
        str | None, Query(description="YYYY-MM (IST); the current month when left out.")
    ] = None,
    district: DistrictName | None = None,
    department: DepartmentName | None = None,
    sort: GradeOrder = GradeOrder.BEST,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> GradingList:
    """The month's grading of officers (`by=officer`), departments or districts over the
    cases registered in it that the caller may see (docs/closure.md gives the formula):
    `data` a page sorted in the database (`sort`: best score first, worst first, or by
    name), `count` every row."""
    period = month_of(month)
    rows, count = grading(
        session,
        by=by,
        filters=GradingFilters(period, district, department),
        scope=case_filter(principal, GRADING_READERS),
        now=utcnow(),
        order=sort,
        limit=limit,
        offset=offset,
    )
    return GradingList(
        data=[entry(r) for r in rows],
        count=count,
        month=str(period),
        by=by.value,
        limit=limit,
        offset=offset,
    )
