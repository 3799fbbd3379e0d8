"""The dashboard's panel of verification by channel: how the cases' outcomes were verified
with the citizens in the period (the machine's call, a telecaller...), satisfied or not, and
how often a person's check of a sampled machine "solved" disagreed with it.

The period is the dashboard's (its dates, read here as the days the verification was
recorded), else the last 90 days; the district and department filters and the reader's scope
apply to the verified cases. One grouped query (`core.verifications.by_channel`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col

from api.services.scope import case_filter
from core.models import Complaint
from core.verifications import by_channel
from schemas.auth import Principal, Role
from schemas.calendar import IST
from schemas.voice import VerificationByChannel

PANEL_WINDOW = timedelta(days=90)


def period_of(
    registered_from: date | None, registered_to: date | None, now: datetime
) -> tuple[date, date]:
    """The panel's IST days, both included: the dashboard's period, else the last 90 days."""
    today = now.astimezone(IST).date()
    last = registered_to or today
    first = registered_from or min(last, today) - PANEL_WINDOW + timedelta(days=1)
    return first, last


def verification_figures(
    session: Session,
    principal: Principal,
    readers: tuple[Role, ...],
    *,
    first: date,
    last: date,
    district: str | None = None,
    department: str | None = None,
) -> VerificationByChannel:
    where = [case_filter(principal, readers)]
    if district:
        where.append(col(Complaint.district) == district)
    if department:
        where.append(col(Complaint.department) == department)
    return by_channel(
        session,
        since=datetime.combine(first, datetime.min.time(), tzinfo=IST),
        until=datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=IST),
        where=where,
    )
