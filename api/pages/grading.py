"""The monthly grading on the pages: the month's officers, departments or districts on the
published formula (`core.grading`; docs/closure.md), a page the CM's office prints (`?print=1`:
the office's heading, the month, the formula and a signature block), and the dashboard's
panel of it (`_grading_panel.html`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session

from api.auth import signed_in
from api.deps import AppState
from api.pages.cases import common
from api.pages.reference import department_label, district_label, place_filters
from api.pages.web import gettext_for, language, render
from api.services.lists import PAGE_SIZE, pager
from api.services.scope import case_filter
from core.db import read_session
from core.grading import (
    LOWEST_GRADE,
    MIN_DUE,
    THRESHOLDS,
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
from schemas.i18n import local_name
from schemas.reference import DEPARTMENTS, DISTRICTS

router = APIRouter(include_in_schema=False, tags=["pages"])

Reader = Annotated[Principal, Depends(signed_in(*GRADING_READERS))]
# The dashboard's panel: the month's departments, best and worst first (a bounded list).
PANEL_ROWS = 5


@dataclass(frozen=True)
class GradingPanel:
    """The dashboard's panel: the current month's best and worst graded departments."""

    month: Month
    best: list[Grade]
    worst: list[Grade]
    count: int


def grading_panel(session: Session, principal: Principal, now: datetime) -> GradingPanel:
    """The current month's departments (IST) in the reader's scope: the best and the worst
    `PANEL_ROWS` on the score, each a page sorted in the database."""
    month = Month.of(now)
    scope = case_filter(principal, GRADING_READERS)
    filters = GradingFilters(month)
    best, count = grading(
        session, by=GradedBy.DEPARTMENT, filters=filters, scope=scope, now=now, limit=PANEL_ROWS
    )
    worst, _ = grading(
        session,
        by=GradedBy.DEPARTMENT,
        filters=filters,
        scope=scope,
        now=now,
        order=GradeOrder.WORST,
        limit=PANEL_ROWS,
    )
    return GradingPanel(month, best, worst, count)


def month_label(month: Month, code: str) -> str:
    """`November 2026` in the reader's language."""
    return format_date(month.first_day, "LLLL y", locale=code)


def row_label(grade: Grade, by: GradedBy, code: str) -> str:
    """A graded row's name in the reader's language: an officer's name (the directory's, else
    the id), a department's, a district's."""
    if by is GradedBy.DEPARTMENT:
        return department_label(grade.key, code)
    if by is GradedBy.DISTRICT:
        return district_label(grade.key, code)
    return grade.officer_name or grade.key


def _read(request: Request) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The query string's choices, the values as typed, and a message beside each field that
    names nothing the page knows (in the reader's language)."""
    _ = gettext_for(request)
    params = request.query_params
    values = {
        name: (params.get(name) or "").strip()
        for name in ("month", "by", "district", "department", "sort")
    }
    errors: dict[str, str] = {}
    month = Month.of(utcnow())
    if values["month"]:
        try:
            month = Month.parse(values["month"])
        except ValueError:
            errors["month"] = _("Not a month: write it as YYYY-MM, e.g. 2026-11.")
    choices: dict[str, StrEnum] = {"by": GradedBy.OFFICER, "sort": GradeOrder.BEST}
    for name, default in choices.items():
        if values[name]:
            try:
                choices[name] = type(default)(values[name])
            except ValueError:
                errors[name] = _("Choose one of the options.")
    by, order = GradedBy(choices["by"]), GradeOrder(choices["sort"])
    district, department = place_filters(values, errors, _)
    given = params.get("page", "1")
    page = min(max(1, int(given)), 10**6) if given.isdigit() else 1
    chosen = {
        "month": month,
        "by": by,
        "order": order,
        "district": district,
        "department": department,
        "page": page,
    }
    return chosen, values, errors


@router.get("/grading")
async def grading_page(request: Request, principal: Reader) -> Response:
    """The month's grading of officers, departments or districts (of one district and/or
    department when chosen), best first; `?print=1` is the page to print and sign."""
    app: AppState = request.app.state.jan_samvad
    chosen, values, errors = _read(request)
    now = utcnow()
    month: Month = chosen["month"]
    by: GradedBy = chosen["by"]

    def load() -> tuple[list[Grade], int]:
        with read_session(app.engine) as session:
            return grading(
                session,
                by=by,
                filters=GradingFilters(month, chosen["district"], chosen["department"]),
                scope=case_filter(principal, GRADING_READERS),
                now=now,
                order=chosen["order"],
                limit=PAGE_SIZE,
                offset=(chosen["page"] - 1) * PAGE_SIZE,
            )

    rows, count = await run_in_threadpool(load)
    code = language(request)
    given = {k: v for k, v in request.query_params.items() if k != "page"}
    return render(
        request,
        "grading.html",
        {
            **common(request),
            "rows": rows,
            "by": by,
            "month": month,
            "month_text": month_label(month, code),
            "previous_month": str(month.previous),
            "next_month": str(month.next),
            "chosen": chosen,
            "values": values,
            "errors": errors,
            "pager": pager("/grading", given, chosen["page"], count),
            "offset": (chosen["page"] - 1) * PAGE_SIZE,
            "label": lambda grade: row_label(grade, by, code),
            "designation": lambda grade: (
                local_name("designation", grade.officer_designation or "", code)
                if grade.officer_designation
                else ""
            ),
            "weights": dict(WEIGHTS),
            "thresholds": THRESHOLDS,
            "lowest_grade": LOWEST_GRADE,
            "min_due": MIN_DUE,
            "districts": DISTRICTS,
            "departments": DEPARTMENTS,
            "generated_at": now,
            "printable": request.query_params.get("print") == "1",
            "query": request.url.query,
        },
        principal=principal,
        status=422 if errors else 200,
    )
