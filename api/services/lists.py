"""Lists of cases as every list route and page builds them: the filters, the search box, the
order stated, the page, and the count of everything that matched.

A list is complete and honest at any size: it is sorted in the database in the order it
states (ties broken by registration year and sequence, as numbers, so 13/2026 comes before
100/2026), cut into pages there, and `count` is every case that matched, never the page's
length. Registration dates are IST days, inclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import Query
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, True_, UnaryExpression
from sqlalchemy.sql.util import ClauseAdapter
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from api.errors import ApiError
from api.services.views import summary
from core.models import Complaint, utcnow
from core.readmodel import complaint_total, open_cases
from core.search import search_clause
from schemas.calendar import IST
from schemas.complaint import ComplaintList

# Page sizes: the API's bound, and what the pages show.
MAX_LIMIT = 500
PAGE_SIZE = 50

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Cases per page.")]
Offset = Annotated[
    int,
    Query(
        ge=0, le=2**31 - 1, description="Cases skipped (the page's start; `count` says how many)."
    ),
]
SearchText = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Search: a registration number (20983/2018, 20983-2018, 20983), a mobile "
        "number in any form, part of the citizen's name, or words of the complaint.",
    ),
]
RegisteredFrom = Annotated[date | None, Query(description="Registered on or after this day (IST).")]
RegisteredTo = Annotated[date | None, Query(description="Registered on or before this day (IST).")]


class CaseOrder(StrEnum):
    """The orders a case list may state (`sort=`)."""

    # Urgent first, then the nearest (the most overdue) deadline first; no deadline last.
    DEADLINE = "deadline"
    # Urgent first, then the newest registration first.
    NEWEST = "newest"
    # The oldest registration first.
    OLDEST = "oldest"


def order_by(order: CaseOrder) -> tuple[UnaryExpression[Any], ...]:
    """The ORDER BY of `order`, every tie broken by year and sequence as numbers."""
    year, sequence = col(Complaint.year), col(Complaint.sequence)
    if order is CaseOrder.DEADLINE:
        return (
            col(Complaint.urgent).desc(),
            col(Complaint.next_deadline).asc().nulls_last(),
            year.asc(),
            sequence.asc(),
        )
    if order is CaseOrder.OLDEST:
        return (col(Complaint.created_at).asc(), year.asc(), sequence.asc())
    return (
        col(Complaint.urgent).desc(),
        col(Complaint.created_at).desc(),
        year.desc(),
        sequence.desc(),
    )


def ist_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=IST)


@dataclass(frozen=True)
class CaseFilters:
    """The filters every case list offers (None: not filtered)."""

    status: str | None = None
    district: str | None = None
    department: str | None = None
    category: str | None = None
    urgent: bool | None = None
    overdue: bool | None = None
    open_only: bool = False
    registered_from: date | None = None
    registered_to: date | None = None
    q: str | None = None

    def check(self) -> None:
        """A 422 naming the field for a range that cannot hold anything."""
        if (
            self.registered_from
            and self.registered_to
            and self.registered_from > self.registered_to
        ):
            raise ApiError(
                422,
                "registered_from: after registered_to",
                errors=[{"field": "registered_from", "message": "after registered_to"}],
            )

    def apply(
        self, query: SelectOfScalar[Complaint], *, now: datetime, session: Session
    ) -> SelectOfScalar[Complaint]:
        self.check()
        if self.status is not None:
            query = query.where(Complaint.status == self.status)
        if self.district is not None:
            query = query.where(Complaint.district == self.district)
        if self.department is not None:
            query = query.where(Complaint.department == self.department)
        if self.category is not None:
            query = query.where(Complaint.category == self.category)
        if self.urgent is not None:
            query = query.where(Complaint.urgent == self.urgent)
        if self.open_only or self.overdue:
            query = query.where(is_open())
        if self.overdue is True:
            query = query.where(col(Complaint.next_deadline) < now)
        elif self.overdue is False:
            query = query.where(
                (col(Complaint.next_deadline).is_(None)) | (col(Complaint.next_deadline) >= now)
            )
        if self.registered_from is not None:
            query = query.where(col(Complaint.created_at) >= ist_day_start(self.registered_from))
        if self.registered_to is not None:
            end = ist_day_start(self.registered_to + timedelta(days=1))
            query = query.where(col(Complaint.created_at) < end)
        if self.q:
            found = search_clause(self.q, session)
            if found is not None:
                query = query.where(found)
        return query


def is_open() -> ColumnElement[bool]:
    """Open cases (any ladder's status but the closing ones): `core.readmodel.open_cases`."""
    return open_cases()


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def count_of(session: Session, query: Any) -> int:
    """How many rows `query` matches (all of them, not a page)."""
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def portable_order(
    order: tuple[UnaryExpression[Any], ...], dialect: str
) -> tuple[UnaryExpression[Any], ...]:
    """`order` as `dialect` can read it from an index. SQLite puts NULL first in an ascending
    index, so `x ASC NULLS LAST` is spelled `x IS NULL, x` there (the same order), which its
    expression indexes (migration 0025) hold; PostgreSQL's ascending indexes already keep
    NULL last."""
    if dialect != "sqlite":
        return order
    spelled: list[UnaryExpression[Any]] = []
    for term in order:
        inner = term.element
        if (
            term.modifier is operators.nulls_last_op
            and isinstance(inner, UnaryExpression)
            and inner.modifier is operators.asc_op
        ):
            spelled += [inner.element.is_(None).asc(), inner.element.asc()]
        else:
            spelled.append(term)
    return tuple(spelled)


def page_of(
    session: Session,
    query: SelectOfScalar[Complaint],
    order: tuple[UnaryExpression[Any], ...],
    *,
    limit: int,
    offset: int,
    parts: Sequence[ColumnElement[bool]] = (),
    matches_first: bool = False,
) -> tuple[list[Complaint], int]:
    """One page of `query` in `order`, and the count of every case it matches.

    `parts`, when given, are disjoint clauses (no case satisfies two) whose union the list
    is limited to: a scope of the form `A OR B` (`api.services.scope.scope_parts`). Each is
    counted and paged on its own, from the index that orders it, and the pages merged: an
    `OR` across two indexes would leave the database reading every case of both and
    sorting them. The rows, their order and the count are those of `query WHERE (A OR B)`.
    A list of every case (no filter, a state-wide scope) takes its count from the total the
    database keeps (`core.readmodel.complaint_total`).

    `matches_first`: `query` is answered from an index of its own (a search) and every match
    is read to be sorted anyway, so the page and the count come from one reading of the
    matches (`count(*) OVER ()`), not two.

    The page's ids are chosen first (ordering narrow rows, from an index where one serves),
    then only those cases are read whole: an officer's 20,000 open cases are not each read
    and sorted with their text to show 50."""
    dialect = dialect_of(session)
    spelled = portable_order(order, dialect)
    queries = [query.where(p) for p in parts if not isinstance(p, True_)] or [query]
    if matches_first and len(queries) == 1:
        found = session.execute(
            queries[0]
            .with_only_columns(col(Complaint.id), func.count().over())
            .order_by(*spelled)
            .offset(offset)
            .limit(limit)
        ).all()
        if found:
            return _whole(session, [row[0] for row in found]), int(found[0][1])
        return [], count_of(session, queries[0])  # no match, or a page beyond the last
    if queries[0].whereclause is None:  # every case: the total the database keeps
        count = complaint_total(session)
    else:
        count = sum(count_of(session, q) for q in queries)
    if offset >= count:
        return [], count
    page: Any
    if len(queries) == 1:
        page = (
            (queries[0].with_only_columns(col(Complaint.id)).order_by(*spelled))
            .offset(offset)
            .limit(limit)
        )
    else:
        # Each part's first offset + limit in order (its index's order, no sort), merged.
        keys = _order_columns(order)
        arms = [
            q.with_only_columns(col(Complaint.id), *keys)
            .order_by(*spelled)
            .limit(offset + limit)
            .subquery()
            .select()
            for q in queries
        ]
        merged = sa.union_all(*arms).subquery()
        adapt = ClauseAdapter(merged).traverse
        page = (
            sa.select(merged.c.id)
            .order_by(*(adapt(term) for term in order))
            .offset(offset)
            .limit(limit)
        )
    return _whole(session, list(session.execute(page).scalars().all())), count


def _whole(session: Session, ids: list[int]) -> list[Complaint]:
    """The cases `ids`, read whole, in that order."""
    if not ids:
        return []
    found = {
        row.id: row for row in session.exec(select(Complaint).where(col(Complaint.id).in_(ids)))
    }
    return [found[i] for i in ids if i in found]


def _order_columns(order: tuple[UnaryExpression[Any], ...]) -> list[Any]:
    """The columns `order` sorts by (besides the id), for the arms of a merged page."""
    columns: list[Any] = []
    for term in order:
        element: Any = term
        while isinstance(element, UnaryExpression):
            element = element.element
        if not any(element is c for c in columns):
            columns.append(element)
    return columns


def pager(
    path: str, given: dict[str, str], page: int, count: int, *, param: str = "page"
) -> dict[str, Any]:
    """The page's place in the list: first and last shown, the total, and the links (the
    page number in `param`, the other parameters as `given`)."""
    last_page = max(1, -(-count // PAGE_SIZE))

    def link(number: int) -> str:
        return f"{path}?{urlencode({**given, param: number})}"

    first_shown = (page - 1) * PAGE_SIZE + 1 if count else 0
    return {
        "page": page,
        "pages": last_page,
        "first_shown": min(first_shown, count),
        "last_shown": min(page * PAGE_SIZE, count),
        "count": count,
        "first": link(1) if page > 1 else None,
        "previous": link(min(page, last_page + 1) - 1) if page > 1 else None,
        "next": link(page + 1) if page < last_page else None,
        "last": link(last_page) if page < last_page else None,
    }


# Earlier cases shown for a caller (newest first); the case listing (`q=` the phone) has all.
HISTORY_SIZE = 20


def caller_cases(
    session: Session,
    where: ColumnElement[bool],
    phone: str,
    *,
    besides: tuple[int, int] | None = None,
    limit: int = HISTORY_SIZE,
) -> ComplaintList:
    """The cases of `phone` (E.164) that `where` admits, newest first, and how many there
    are; `besides` (year, sequence), the case being read, left out. From the phone's index."""
    query = select(Complaint).where(where, col(Complaint.citizen_phone) == phone)
    if besides is not None:
        query = query.where(
            sa.not_(
                sa.and_(col(Complaint.year) == besides[0], col(Complaint.sequence) == besides[1])
            )
        )
    rows, count = page_of(session, query, order_by(CaseOrder.NEWEST), limit=limit, offset=0)
    now = utcnow()
    return ComplaintList(data=[summary(r, now) for r in rows], count=count, limit=limit)
