"""The officer's inbox and the case listing behind the header's search box: the API's own list
(`GET /v1/complaints`) with its filters, search, order and pages, so the pages show exactly
what the API answers, every case reachable, and the total always on the page.

    /inbox    the officer's open cases by deadline (urgent first, the longest overdue next)
    /cases    every case the reader may see, filtered or searched (`q`: the header's box)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.auth import signed_in
from api.deps import AppState
from api.errors import ApiError
from api.pages.cases import common
from api.pages.web import PageError, gettext_for, redirect, render
from api.services import cases as case_service
from api.services import files as file_service
from api.services.lists import PAGE_SIZE, CaseFilters, CaseOrder, pager
from core.db import read_session
from core.permissions import CASE_READERS, REPORTERS
from core.search import parse
from schemas.auth import Principal
from schemas.complaint import ComplaintList
from schemas.escalation import all_statuses
from schemas.reference import CATEGORIES, DEPARTMENTS, DISTRICTS

router = APIRouter(include_in_schema=False, tags=["pages"])

Reader = Annotated[Principal, Depends(signed_in(*CASE_READERS))]
Officer = Annotated[Principal, Depends(signed_in(*REPORTERS))]

# The filters a list page reads from its address (the search text is `q`).
FILTERS = ("q", "status", "overdue", "urgent", "category", "department", "district", "from", "to")


@dataclass(frozen=True)
class ListRequest:
    """A list page's filters as given (kept for its links), and those the API takes."""

    given: dict[str, str]
    api: dict[str, Any]
    page: int
    ignored: tuple[str, ...]


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def read_filters(request: Request) -> ListRequest:
    """The page's filters from its query string; a value that names nothing is ignored (and
    said so on the page), never a reason to show an error page instead of the cases."""
    params = request.query_params
    given = {name: params[name].strip() for name in FILTERS if params.get(name, "").strip()}
    api: dict[str, Any] = {}
    ignored: list[str] = []
    for name, value in given.items():
        if name == "q":
            api["q"] = value[:200]
        elif name == "status" and value in all_statuses():
            api["status"] = value
        elif name in ("overdue", "urgent") and value in ("true", "false"):
            api[name] = value == "true"
        elif name == "category" and value in {c.code for c in CATEGORIES}:
            api["category"] = value
        elif name == "department" and value in {d.code for d in DEPARTMENTS}:
            api["department"] = value
        elif name == "district" and value in DISTRICTS:
            api["district"] = value
        elif name in ("from", "to") and _day(value):
            api["registered_from" if name == "from" else "registered_to"] = _day(value)
        else:
            ignored.append(name)
    if api.get("registered_from") and api.get("registered_to"):
        if api["registered_from"] > api["registered_to"]:
            api.pop("registered_from")
            ignored.append("from")
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    return ListRequest(
        given={k: v for k, v in given.items() if k not in ignored},
        api=api,
        page=page,
        ignored=tuple(ignored),
    )


def _app(request: Request) -> AppState:
    state: AppState = request.app.state.jan_samvad
    return state


def _list(app: AppState, principal: Principal, api: dict[str, Any], page: int) -> ComplaintList:
    """A page of the cases `GET /v1/complaints` would list with the filters `api` (and
    `sort`)."""
    filters = dict(api)
    sort = filters.pop("sort", None)
    with read_session(app.engine) as session:
        return case_service.list_cases(
            session,
            principal,
            CaseFilters(**filters),
            sort=sort,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )


async def _list_page(
    request: Request,
    principal: Principal,
    *,
    path: str,
    template_title: str,
    base: dict[str, Any],
) -> Response:
    wanted = read_filters(request)
    try:
        listed = await run_in_threadpool(
            _list, _app(request), principal, {**base, **wanted.api}, wanted.page
        )
    except ApiError as err:
        raise PageError(err.status_code, err.detail) from None
    return render(
        request,
        "inbox.html",
        {
            **common(request),
            "title": template_title,
            "path": path,
            "rows": listed.data,
            "filters": wanted.given,
            "ignored": wanted.ignored,
            "pager": pager(path, wanted.given, wanted.page, listed.count),
            "statuses": all_statuses(),
            "categories": CATEGORIES,
            "departments": DEPARTMENTS,
            "districts": DISTRICTS,
            "done": request.query_params.get("done"),
            "file_counts": await run_in_threadpool(
                file_service.counts_by_number,
                _app(request).engine,
                [r.registration_number for r in listed.data],
            ),
        },
        principal=principal,
    )


@router.get("/inbox")
async def inbox(request: Request, principal: Officer) -> Response:
    """My open cases: urgent on top, then by deadline (the longest overdue first; ties by
    registration year and sequence), in pages with the total; filters and search."""
    _ = gettext_for(request)
    return await _list_page(
        request,
        principal,
        path="/inbox",
        template_title=_("My cases"),
        base={"open_only": True, "sort": CaseOrder.DEADLINE},
    )


@router.get("/cases")
async def cases(request: Request, principal: Reader) -> Response:
    """Every case the reader may see, found by the header's search box or the filters; a
    registration number typed in full opens its case."""
    _ = gettext_for(request)
    q = request.query_params.get("q", "").strip()
    terms = parse(q)
    if terms.year is not None and terms.sequence is not None:
        return redirect(f"/cases/{terms.year}/{terms.sequence}")
    return await _list_page(
        request,
        principal,
        path="/cases",
        template_title=_("Cases"),
        base={"sort": CaseOrder.DEADLINE},
    )
