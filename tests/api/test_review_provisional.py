"""A review session's provisional agenda (before its cutoff) through the API, on SQLite and
PostgreSQL: summarised, counted, filtered and paged in the database worst first (the most
times undecided, the oldest, then by number as numbers), for decision before awaiting Sidhi
Baat; and the same summary, order and selections as the frozen agenda of the same cases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from activities.review import ReviewActivities
from api.main import create_app
from core.models import Complaint, ReviewSession, TimelineEvent, utcnow
from core.readmodel import _WORST_FIRST, agenda_cases  # a page's own order and rule
from core.settings import Settings
from schemas.calendar import IST, SessionKind, next_session
from schemas.enums import Channel, ComplaintKind, ComplaintStatus
from schemas.escalation import session_id
from schemas.policy import Policy
from schemas.review import AgendaSection, FreezePageInput, SessionPhase
from tests.helpers import api_client


@dataclass(frozen=True)
class Case:
    """A case on the agenda as the test sets it up (its row and its timeline agree)."""

    year: int
    sequence: int
    district: str
    department: str | None
    category: str | None
    age_days: int
    undecided: int
    section: AgendaSection = AgendaSection.FOR_DECISION
    urgent: bool = False
    wishes: bool = False
    level: int = 1

    @property
    def number(self) -> str:
        return f"{self.sequence}/{self.year}"


# Ties on (undecided, age) are broken by number as numbers: 9 before 10 before 100 (as text
# "10" < "100" < "9"), and an earlier year first.
CASES = (
    Case(2026, 100, "Ranchi", "drinking_water_sanitation", "drinking_water", 40, 1),
    Case(2026, 9, "Ranchi", "drinking_water_sanitation", "drinking_water", 40, 1),
    Case(2026, 10, "Dhanbad", "police", "crime", 40, 1, urgent=True, wishes=True, level=2),
    Case(2025, 700, "Dhanbad", "police", "crime", 40, 1),
    Case(2026, 11, "Ranchi", None, "sanitation", 90, 0),
    Case(2026, 12, "Bokaro", "police", "crime", 5, 3, urgent=True),
    Case(2026, 13, "Bokaro", "drinking_water_sanitation", "drinking_water", 20, 2),
    Case(2026, 14, "Ranchi", "drinking_water_sanitation", "drinking_water", 1, 2, wishes=True),
    Case(2026, 15, "Dhanbad", None, None, 60, 0, level=2),
    Case(2026, 16, "Ranchi", "police", "crime", 30, 0),
    # Bound for a later Sidhi Baat: prepared at this weekly review, after its cases.
    Case(2026, 17, "Ranchi", "police", "crime", 70, 1, AgendaSection.AWAITING_SIDHI_BAAT),
    Case(2026, 18, "Bokaro", None, None, 10, 4, AgendaSection.AWAITING_SIDHI_BAAT, wishes=True),
    Case(2026, 19, "Dhanbad", "police", "crime", 10, 1, AgendaSection.AWAITING_SIDHI_BAAT),
)


def worst_first(cases: list[Case]) -> list[str]:
    """The agenda's order, independently: for decision first, then the most times undecided,
    the oldest, then the year and the sequence as numbers."""
    ordered = sorted(
        cases,
        key=lambda c: (
            c.section is not AgendaSection.FOR_DECISION,
            -c.undecided,
            -c.age_days,
            c.year,
            c.sequence,
        ),
    )
    return [c.number for c in ordered]


DISTRICT = {c.number: c.district for c in CASES}


def as_shown(numbers: list[str], limit: int) -> list[str]:
    """`numbers` as pages of `limit` show them: each page's cases by district, the districts
    in the order of their worst case on the page, each district's worst first."""
    shown: list[str] = []
    for start in range(0, len(numbers), limit):
        groups: dict[str, list[str]] = {}
        for number in numbers[start : start + limit]:
            groups.setdefault(DISTRICT[number], []).append(number)
        shown += [n for group in groups.values() for n in group]
    return shown


@dataclass
class Agenda:
    http: httpx.AsyncClient
    engine: Engine
    path: str
    sid: str
    now: datetime

    async def get(self, **params: Any) -> dict[str, Any]:
        response = await self.http.get(self.path, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def numbers(self, **params: Any) -> tuple[list[str], int]:
        """Every case the filters select, page by page (3 a page), and the count."""
        seen: list[str] = []
        offset = 0
        while True:
            page = await self.get(limit=3, offset=offset, **params)
            numbers = [c["registration_number"] for d in page["districts"] for c in d["cases"]]
            seen += numbers
            offset += 3
            if offset >= page["count"]:
                return seen, page["count"]
            assert len(numbers) == 3


def _add(db: Session, case: Case, *, sid: str, starts: datetime, now: datetime, n: int) -> None:
    awaiting = case.section is AgendaSection.AWAITING_SIDHI_BAAT
    at = now - timedelta(days=case.age_days)
    row = Complaint(
        year=case.year,
        sequence=case.sequence,
        registration_number=case.number,
        workflow_id=f"provisional-{case.year}-{case.sequence}",
        kind=ComplaintKind.COMPLAINT,
        channel=Channel.CALL_CENTRE,
        citizen_name="Sita Devi",
        citizen_phone=f"+9198765{n:05d}",
        citizen_address="Ward 4",
        district=case.district,
        language="hi",
        category=case.category,
        department=case.department,
        description="No water in the ward",
        urgent=case.urgent,
        wishes_to_meet_cm=case.wishes,
        status=ComplaintStatus.SIDHI_BAAT if awaiting else ComplaintStatus.WEEKLY_REVIEW,
        escalation_level=case.level,
        undecided_times=case.undecided,
        review_kind="sidhi_baat" if awaiting else "weekly_review",
        review_session_id="sidhi-baat-2099-01-27" if awaiting else sid,
        review_date=starts + timedelta(days=20) if awaiting else starts,
        request_fingerprint="provisional",
        created_at=at,
        updated_at=at,
    )
    db.add(row)
    db.flush()
    assert row.id is not None
    escalated = "escalated_to_sidhi_baat" if awaiting else "escalated_to_weekly_review"
    events = [escalated] + ["review_rolled_over"] * case.undecided
    for seq, event in enumerate(events, 1):
        db.add(TimelineEvent(complaint_id=row.id, seq=seq, at=at, event=event, actor="t"))


def _not_on_it(db: Session, *, sid: str, starts: datetime, now: datetime) -> None:
    """Cases that are not on this agenda: decided (back with the officer), another session's,
    and one bound for a Sidhi Baat before this review."""
    others = (
        Case(2026, 50, "Ranchi", "police", "crime", 100, 5),
        Case(2026, 51, "Ranchi", "police", "crime", 100, 5),
        Case(2026, 52, "Ranchi", "police", "crime", 100, 5, AgendaSection.AWAITING_SIDHI_BAAT),
    )
    for n, case in enumerate(others, 900):
        _add(db, case, sid=sid, starts=starts, now=now, n=n)
    db.flush()
    rows = {
        r.sequence: r
        for r in db.exec(select(Complaint).where(col(Complaint.sequence).in_([50, 51, 52])))
    }
    rows[50].status = ComplaintStatus.AWAITING_REPORT
    rows[51].review_session_id = "weekly-review-2099-01-06"
    rows[52].review_date = starts - timedelta(days=1)
    for row in rows.values():
        db.add(row)


@pytest.fixture
async def agenda(any_engine: Engine, settings: Settings) -> AsyncIterator[Agenda]:
    policy = Policy()
    now = utcnow()
    starts = next_session(
        SessionKind.WEEKLY_REVIEW,
        now,
        at=policy.weekly_review_time,
        cutoff_before=policy.agenda_cutoff_before,
    )
    sid = session_id(SessionKind.WEEKLY_REVIEW, starts)
    with Session(any_engine) as db:
        db.add(
            ReviewSession(
                session_id=sid,
                kind=SessionKind.WEEKLY_REVIEW.value,
                starts_at=starts,
                cutoff_at=starts - policy.agenda_cutoff_before,
                workflow_id="-",
                phase=SessionPhase.SCHEDULED.value,
                created_at=now,
                updated_at=now,
            )
        )
        # In the order of their numbers, as registration gives ids.
        for n, case in enumerate(sorted(CASES, key=lambda c: (c.year, c.sequence))):
            _add(db, case, sid=sid, starts=starts, now=now, n=n)
        _not_on_it(db, sid=sid, starts=starts, now=now)
        db.commit()
    path = f"/v1/reviews/weekly_review/{starts.astimezone(IST).date().isoformat()}"
    async with api_client(create_app(settings, engine=any_engine)) as http:
        yield Agenda(http=http, engine=any_engine, path=path, sid=sid, now=now)


def freeze(agenda: Agenda, settings: Settings) -> None:
    """The agenda frozen as a batched session freezes it (pages of 4 per section)."""
    activities = ReviewActivities(agenda.engine, cast(Any, None), cast(Any, None), settings)
    for section in (AgendaSection.FOR_DECISION, AgendaSection.AWAITING_SIDHI_BAAT):
        after, done = 0, False
        while not done:
            result = activities.freeze_agenda_page(
                FreezePageInput(
                    session_id=agenda.sid,
                    frozen_at=utcnow(),
                    section=section,
                    after_id=after,
                    limit=4,
                )
            )
            after, done = result.last_id, result.done
    with Session(agenda.engine) as db:
        row = db.get(ReviewSession, agenda.sid)
        assert row is not None
        row.phase = SessionPhase.AGENDA_FROZEN.value
        db.add(row)
        db.commit()


# Each filter of the agenda, and which of CASES it selects.
FILTERS: tuple[tuple[dict[str, Any], Callable[[Case], bool]], ...] = (
    ({"in_district": "Dhanbad"}, lambda c: c.district == "Dhanbad"),
    ({"in_district": ["Bokaro", "Ranchi"]}, lambda c: c.district in ("Bokaro", "Ranchi")),
    ({"department": "police"}, lambda c: c.department == "police"),
    ({"category": "drinking_water"}, lambda c: c.category == "drinking_water"),
    ({"level": 2}, lambda c: c.level == 2),
    ({"min_age_days": 30}, lambda c: c.age_days >= 30),
    ({"min_undecided_times": 2}, lambda c: c.undecided >= 2),
    ({"urgent": "true"}, lambda c: c.urgent),
    ({"urgent": "false"}, lambda c: not c.urgent),
    ({"wishes_to_meet_cm": "true"}, lambda c: c.wishes),
    ({"number": ["9/2026", "700/2025", "18/2026"]}, lambda c: c.sequence in (9, 700, 18)),
    (
        {"in_district": "Ranchi", "department": "drinking_water_sanitation", "min_age_days": 30},
        lambda c: (
            c.district == "Ranchi"
            and c.department == "drinking_water_sanitation"
            and c.age_days >= 30
        ),
    ),
)


async def test_a_provisional_agenda_is_paged_worst_first_in_the_database(
    agenda: Agenda,
) -> None:
    expected = worst_first(list(CASES))
    # Ties broken by number as numbers, the earlier year first; Sidhi Baat's cases last.
    assert expected[3:7] == ["700/2025", "9/2026", "10/2026", "100/2026"]
    first = await agenda.get(limit=5)
    assert first["frozen"] is False
    assert (first["count"], first["limit"], first["offset"]) == (len(CASES), 5, 0)
    page = [c["registration_number"] for d in first["districts"] for c in d["cases"]]
    assert page == as_shown(expected[:5], 5)
    assert [d["district"] for d in first["districts"]] == ["Bokaro", "Ranchi", "Dhanbad"]
    # Pages reach every case once, in order, across the sections' boundary (10 for decision).
    seen: list[str] = []
    for offset in (0, 4, 8, 12):
        body = await agenda.get(limit=4, offset=offset)
        assert body["count"] == len(CASES)
        cases = [c for d in body["districts"] for c in d["cases"]]
        seen += [c["registration_number"] for c in cases]
        if offset == 8:
            assert [c["section"] for c in cases] == ["for_decision"] * 2 + [
                "awaiting_sidhi_baat"
            ] * 2
    assert seen == as_shown(expected, 4)
    assert (await agenda.get(offset=len(CASES)))["districts"] == []
    # Each case built from its row and history: its count of sessions undecided, its desk.
    body = await agenda.get(number="12/2026")
    (case,) = [c for d in body["districts"] for c in d["cases"]]
    assert case["undecided_times"] == 3 and case["urgent"] is True
    assert [h["event"] for h in case["escalation_history"]] == [
        "escalated_to_weekly_review",
        *["review_rolled_over"] * 3,
    ]
    assert case["nodal_officer_id"] == "urgent-desk-police"
    sidhi = await agenda.get(number="18/2026")
    (case,) = [c for d in sidhi["districts"] for c in d["cases"]]
    assert case["section"] == "awaiting_sidhi_baat" and case["sidhi_baat_at"]


async def test_each_filter_selects_counts_and_orders_in_the_database(agenda: Agenda) -> None:
    for params, selects in FILTERS:
        numbers, count = await agenda.numbers(**params)
        expected = worst_first([c for c in CASES if selects(c)])
        assert expected, params
        assert (numbers, count) == (as_shown(expected, 3), len(expected)), params


async def test_the_summary_is_the_agendas_whatever_the_filters(agenda: Agenda) -> None:
    summary = (await agenda.get(limit=1))["summary"]
    assert (summary["cases"], summary["undecided"]) == (len(CASES), len(CASES))
    assert summary["urgent"] == sum(c.urgent for c in CASES)
    assert summary["wishes_to_meet_cm"] == sum(c.wishes for c in CASES)
    by = {(r["district"], r["department"]): r for r in summary["rows"]}
    groups: dict[tuple[str, str | None], list[Case]] = {}
    for case in CASES:
        groups.setdefault((case.district, case.department), []).append(case)
    assert set(by) == set(groups)
    for key, cases in groups.items():
        row = by[key]
        assert (row["cases"], row["undecided"]) == (len(cases), len(cases)), key
        assert row["most_undecided_times"] == max(c.undecided for c in cases), key
        assert row["urgent"] == sum(c.urgent for c in cases), key
        assert row["wishes_to_meet_cm"] == sum(c.wishes for c in cases), key
        oldest = datetime.fromisoformat(row["oldest_registered_at"])
        expected = agenda.now - timedelta(days=max(c.age_days for c in cases))
        assert abs(oldest - expected) < timedelta(seconds=1), key
    # The filters select the page; the summary is the whole agenda's, as a frozen one's.
    filtered = await agenda.get(in_district="Dhanbad")
    assert filtered["count"] == sum(c.district == "Dhanbad" for c in CASES)
    assert filtered["summary"] == summary


async def test_the_provisional_agenda_is_the_frozen_one_before_its_freeze(
    agenda: Agenda, settings: Settings
) -> None:
    """The same cases give the same summary, the same order and the same selections before
    the cutoff (cases) and after it (frozen rows)."""
    before = await agenda.get(limit=500)
    selections = [await agenda.numbers(**params) for params, _ in FILTERS]
    freeze(agenda, settings)
    after = await agenda.get(limit=500)
    assert before["frozen"] is False and after["frozen"] is True
    assert after["summary"] == before["summary"]
    assert after["count"] == before["count"] == len(CASES)

    def order(body: dict[str, Any]) -> list[tuple[str, str, int]]:
        return [
            (c["registration_number"], c["section"], c["undecided_times"])
            for d in body["districts"]
            for c in d["cases"]
        ]

    assert order(after) == order(before)
    assert [await agenda.numbers(**params) for params, _ in FILTERS] == selections


def test_a_page_reads_the_sessions_index_in_its_order(any_engine: Engine) -> None:
    """Migration 0024's index serves a page of a session's cases for decision: no sort of
    every case of the session (SQLite's plan names no temporary B-tree; PostgreSQL's has no
    Sort node with sequential scans off, as with a session of thousands of cases)."""
    indexes = {i["name"]: i for i in sa.inspect(any_engine).get_indexes("complaint")}
    assert indexes["ix_complaint_agenda_worst"]["column_names"][0] == "review_session_id"
    query = (
        select(Complaint)
        .where(col(Complaint.review_session_id) == "weekly-review-2030-01-01", agenda_cases())
        .order_by(*_WORST_FIRST)
        .limit(50)
        .offset(100)
    )
    with any_engine.connect() as connection:
        if any_engine.dialect.name == "sqlite":
            compiled = query.compile(any_engine, compile_kwargs={"literal_binds": True})
            plan = " | ".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )
            assert "ix_complaint_agenda_worst" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            compiled = query.compile(any_engine, compile_kwargs={"literal_binds": True})
            plan = " | ".join(
                str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {compiled}")
            )
            assert "ix_complaint_agenda_worst" in plan, plan
            assert "Sort" not in plan, plan
