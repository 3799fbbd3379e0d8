"""The CM dashboard's numbers: open cases by district and level, ageing, the
overdue trend and the published district score, computed over rows of the read model."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.pages import charts
from api.pages.dashboard import compute
from core.db import read_session
from core.models import Complaint, TimelineEvent, utcnow
from harness.factories import insert_case
from schemas.auth import Principal, Role
from schemas.enums import ClosureReason, ComplaintStatus
from schemas.policy import Policy


def aged(
    engine: Engine,
    district: str,
    *,
    age: timedelta,
    closed_after: timedelta | None = None,
    verified: bool = False,
    reopened: bool = False,
    level: int = 0,
    now: datetime,
) -> Complaint:
    row = insert_case(engine, district=district)
    with Session(engine, expire_on_commit=False) as session:
        stored = session.get(Complaint, row.id)
        assert stored is not None and stored.id is not None
        stored.created_at = now - age
        stored.escalation_level = level
        if closed_after is not None:
            stored.status = ComplaintStatus.CLOSED
            stored.closed_at = stored.created_at + closed_after
            stored.closure_reason = (
                ClosureReason.RESOLVED_VERIFIED if verified else ClosureReason.CLOSED_AT_REVIEW
            )
        if reopened:
            # As the projection records a reopening: the count on the case and the event.
            stored.reopens = 1
            session.add(
                TimelineEvent(
                    complaint_id=stored.id, seq=1, at=now - age, event="reopened", actor="t"
                )
            )
        session.add(stored)
        session.commit()
        return stored


def test_the_published_score_and_the_counts(engine: Engine) -> None:
    now = utcnow()
    day = timedelta(days=1)
    # Ranchi: 4 cases due; 3 closed (2 within 21 days, 2 verified, 1 reopened), 1 open late.
    aged(engine, "Ranchi", age=40 * day, closed_after=10 * day, verified=True, now=now)
    aged(engine, "Ranchi", age=40 * day, closed_after=5 * day, verified=True, now=now)
    aged(engine, "Ranchi", age=60 * day, closed_after=30 * day, reopened=True, now=now)
    aged(engine, "Ranchi", age=25 * day, level=1, now=now)
    aged(engine, "Ranchi", age=3 * day, now=now)  # not due yet: counts for nothing
    # Dhanbad: 1 due, closed in time, verified, never reopened: the best possible score.
    aged(engine, "Dhanbad", age=30 * day, closed_after=2 * day, verified=True, now=now)
    # Older than the 90-day window: not ranked, but open and counted elsewhere.
    aged(engine, "Dumka", age=200 * day, level=2, now=now)

    reviewer = Principal(subject="r", roles=frozenset({Role.REVIEWER}))
    with read_session(engine) as session:
        data = compute(session, reviewer, Policy(), now)

    ranks = {r.district: r for r in data.ranking}
    ranchi = ranks["Ranchi"]
    assert (ranchi.due, ranchi.closed, ranchi.closed_in_time) == (4, 3, 2)
    assert (ranchi.verified, ranchi.reopened) == (2, 1)
    assert ranchi.score is not None
    assert abs(ranchi.score - (50 * 2 / 4 + 30 * 2 / 3 + 20 * (1 - 1 / 3))) < 1e-9
    assert ranks["Dhanbad"].score == 100
    assert ranks["Dumka"].score is None and ranks["Bokaro"].score is None
    assert [r.district for r in data.ranking[:2]] == ["Dhanbad", "Ranchi"]
    assert data.ranking[-1].score is None

    assert data.open_total == 3
    assert data.open_by_district["Ranchi"] == [1, 1, 0]
    assert data.open_by_district["Dumka"] == [0, 0, 1]
    # 0–7: the 3-day case; 16–30: the 25-day one; 181+: Dumka's.
    assert data.ageing == [1, 0, 1, 0, 0, 1]
    # Now: the 25-day and 200-day open cases are past their 15 days; a week ago too.
    assert data.trend[-1] == 2
    # Twelve weeks ago the 60-day Ranchi case did not exist; Dumka's was already late.
    assert data.trend[0] == 1
    assert len(data.trend) == len(data.trend_weeks) == 12


def test_a_chart_escapes_its_labels_and_carries_its_numbers() -> None:
    svg = charts.columns("Cases <by> age", ["0–7", "<b>"], [3, 0])
    assert "<b>" not in svg.replace("<title>", "").replace("</title>", "")
    assert "&lt;b&gt;" in svg and "<title>0–7: 3</title>" in svg
    bars = charts.stacked_bars("t", ["Ranchi"], [("Nodal", [2]), ("Review", [1])])
    assert "Ranchi · Nodal: 2" in bars and "Ranchi · Review: 1" in bars
