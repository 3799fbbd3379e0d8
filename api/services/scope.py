"""Which cases a caller may see: the scope of nodal and department officers.

Roles decide which endpoints a caller may use (`api.auth.require`); scope decides which cases
they see there. Only the caller's roles that the endpoint admits count (a nodal officer who is
also a telecaller reads every case, but reports only on cases of their own district):

- reviewer, telecaller, administrator, engineer: every case of the state. Telecallers work at
  the state's 181 centre: they take calls about any district and call every citizen back, so
  they read any case; engineers only reach a case's live workflow state.
- nodal officer: cases of their district (the citizen's district, or a case transferred to an
  officer of that district) or of their department.
- department officer: urgent cases of their department (and of their district, when their
  token names one).
- An officer whose token names neither a district nor a department is a state-level officer
  (the state's own nodal cell): not limited.

A case outside the caller's scope answers 404 with the very message of a case that does not
exist, so that a number tried outside one's scope does not confirm the case exists.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from api.errors import ApiError
from core.models import Complaint, Officer
from core.permissions import (
    DISTRICT_OR_DEPARTMENT_ROLES,
    STATE_WIDE_ROLES,
    URGENT_OF_DEPARTMENT_ROLES,
)
from schemas.auth import Principal, Role


def case_filter(principal: Principal, admitted: Iterable[Role]) -> ColumnElement[bool]:
    """A WHERE clause on `Complaint`: the cases `principal` may see through an endpoint that
    admits the roles `admitted` (the union over the principal's roles it admits)."""
    roles = principal.roles.intersection(admitted)
    if roles & STATE_WIDE_ROLES:
        return sa.true()
    clauses: list[ColumnElement[bool]] = []
    if roles & DISTRICT_OR_DEPARTMENT_ROLES:
        clauses.append(_nodal_officer(principal))
    if roles & URGENT_OF_DEPARTMENT_ROLES:
        clauses.append(_department_officer(principal))
    # No admitted role (require() already refused such a caller): nothing, never everything.
    return sa.or_(*clauses) if clauses else sa.false()


def scope_parts(principal: Principal, admitted: Iterable[Role]) -> list[ColumnElement[bool]]:
    """`case_filter` as disjoint clauses whose union it is, for lists (`page_of`'s `parts`).

    A nodal officer of a district (and no department) sees the district's cases or a case
    transferred to one of its officers: two parts, `district = X` and `district <> X AND the
    officer is of X`, each read in order from an index of its own (migration 0025), where
    their `OR` would read and sort every open case of both. Any other scope is one part."""
    roles = principal.roles.intersection(admitted)
    if (
        roles & DISTRICT_OR_DEPARTMENT_ROLES
        and not roles & (STATE_WIDE_ROLES | URGENT_OF_DEPARTMENT_ROLES)
        and principal.district is not None
        and principal.department is None
    ):
        district = principal.district
        officers_of_district = select(Officer.id).where(Officer.district == district)
        return [
            col(Complaint.district) == district,
            sa.and_(
                col(Complaint.district) != district,
                col(Complaint.assigned_officer_id).in_(officers_of_district),
            ),
        ]
    return [case_filter(principal, admitted)]


def _nodal_officer(principal: Principal) -> ColumnElement[bool]:
    if principal.district is None and principal.department is None:
        return sa.true()
    clauses: list[ColumnElement[bool]] = []
    if principal.district is not None:
        # A transfer to another district changes the officer, not the citizen's district.
        officers_of_district = select(Officer.id).where(Officer.district == principal.district)
        clauses.append(col(Complaint.district) == principal.district)
        clauses.append(col(Complaint.assigned_officer_id).in_(officers_of_district))
    if principal.department is not None:
        clauses.append(col(Complaint.department) == principal.department)
    return sa.or_(*clauses)


def _department_officer(principal: Principal) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = [col(Complaint.urgent).is_(True)]
    if principal.department is not None:
        clauses.append(col(Complaint.department) == principal.department)
    if principal.district is not None:
        clauses.append(col(Complaint.district) == principal.district)
    return sa.and_(*clauses)


def current_officer_filter(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on `Complaint`: the cases whose *current* officer is the caller's (of
    their district or department), for the report — an officer who transferred a case away, or
    who merely sees it through the category's department, does not report on it. Roles that
    are state-wide and state-level officers (no district, no department) are not limited."""
    if principal.roles & STATE_WIDE_ROLES or (
        principal.district is None and principal.department is None
    ):
        return sa.true()
    officers = select(Officer.id)
    if principal.roles & DISTRICT_OR_DEPARTMENT_ROLES:
        mine: list[ColumnElement[bool]] = []
        if principal.district is not None:
            mine.append(col(Officer.district) == principal.district)
        if principal.department is not None:
            mine.append(col(Officer.department) == principal.department)
        officers = officers.where(sa.or_(*mine))
    elif principal.department is not None:  # a department officer: their department's desk
        officers = officers.where(col(Officer.department) == principal.department)
    else:
        return sa.true()
    # A case with no officer yet (not forwarded) is refused by its workflow, not hidden.
    return sa.or_(
        col(Complaint.assigned_officer_id).is_(None),
        col(Complaint.assigned_officer_id).in_(officers),
    )


def no_such_case(year: int, sequence: int) -> ApiError:
    """The one answer for a case that does not exist and for one outside the caller's scope."""
    return ApiError(404, f"no complaint {sequence}/{year}")


def find_case(
    session: Session, year: int, sequence: int, *, where: ColumnElement[bool]
) -> Complaint:
    """The case `sequence/year` if it satisfies `where`; otherwise 404 (`no_such_case`)."""
    # Numbers beyond a database integer name no case; binding them would fail in the driver.
    if not (0 <= year < 2**31 and 0 <= sequence < 2**31):
        raise no_such_case(year, sequence)
    row = session.exec(
        select(Complaint).where(Complaint.year == year, Complaint.sequence == sequence, where)
    ).first()
    if row is None:
        raise no_such_case(year, sequence)
    return row


def get_case(
    session: Session,
    year: int,
    sequence: int,
    principal: Principal,
    admitted: Iterable[Role],
    *,
    also: ColumnElement[bool] | None = None,
) -> Complaint:
    """The case `sequence/year` as seen by `principal` through an endpoint admitting
    `admitted` (and matching `also`, when given): 404, exactly as for a missing case, when it
    lies outside their scope."""
    where = case_filter(principal, admitted)
    return find_case(session, year, sequence, where=where if also is None else sa.and_(where, also))
