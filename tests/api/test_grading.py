"""The monthly grading of officers, departments and districts: the published formula
(docs/closure.md) checked on read-model rows whose figures are worked out here by hand, on
SQLite and PostgreSQL; sorted and paged in the database; the reader's scope applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.closure import extension_requests
from core.grading import GradedBy, GradeOrder, GradingFilters, Month, grading
from core.models import Complaint
from harness.factories import auth_headers, insert_case
from schemas.auth import Role
from schemas.calendar import IST
from schemas.enums import ClosureReason, ComplaintKind, ComplaintStatus
from tests.api.test_pages import sign_in, token_of

DAY = timedelta(days=1)
NOVEMBER = Month(2026, 11)
# Every case registered on 10 November 2026 (IST); graded as of 15 December.
REGISTERED = datetime(2026, 11, 10, 10, 0, tzinfo=IST)
NOW = datetime(2026, 12, 15, 12, 0, tzinfo=IST)
DEADLINE = REGISTERED + 15 * DAY
# A deadline a directive set far ahead: not due whenever the test runs.
FAR = datetime(2099, 1, 1, tzinfo=IST)

RANCHI = "nodal-district-ranchi"
DHANBAD = "nodal-district-dhanbad"
DUMKA = "nodal-district-dumka"


@dataclass(frozen=True)
class Case:
    """What a case contributes to the formula."""

    officer: str
    district: str = "Ranchi"
    department: str | None = "drinking_water_sanitation"
    status: ComplaintStatus = ComplaintStatus.CLOSED
    kind: ComplaintKind = ComplaintKind.COMPLAINT
    reported_after: timedelta | None = 5 * DAY  # None: no report
    verified: bool = True
    rating: int | None = None
    reopens: int = 0
    appeals: int = 0
    interim_replies: int = 0
    deadline: datetime | None = DEADLINE
    registered: datetime = REGISTERED


def put(engine: Engine, case: Case) -> None:
    row = insert_case(engine, district=case.district, assigned_officer_id=case.officer)
    with Session(engine) as session:
        stored = session.get(Complaint, row.id)
        assert stored is not None
        stored.created_at = case.registered
        # Started (as far as the read model says): no reconciler starts a workflow for it.
        stored.workflow_started_at = case.registered
        stored.kind = case.kind
        stored.department = case.department
        stored.status = case.status
        stored.next_deadline = case.deadline
        if case.reported_after is not None:
            stored.reported_at = case.registered + case.reported_after
            stored.report_due_at = DEADLINE
        if case.status is ComplaintStatus.CLOSED:
            stored.closed_at = case.registered + 20 * DAY
            stored.closure_reason = (
                ClosureReason.RESOLVED_VERIFIED if case.verified else ClosureReason.CLOSED_AT_REVIEW
            )
        stored.rating = case.rating
        stored.reopens = case.reopens
        stored.appeals = case.appeals
        stored.interim_replies = case.interim_replies
        session.add(stored)
        session.commit()


def ranchi_cases() -> list[Case]:
    """Ranchi's officer: 7 cases of November (and one of October, one withdrawn: not graded)."""
    late = 20 * DAY  # reported after the 15-day deadline
    return [
        # 1-2: on time, closed verified, rated 5 and 4.
        Case(RANCHI, rating=5),
        Case(RANCHI, rating=4),
        # 3: on time, closed at a review (not verified), rated 1 and appealed.
        Case(RANCHI, verified=False, rating=1, appeals=1, status=ComplaintStatus.WEEKLY_REVIEW),
        # 4: late report, with an interim reply; closed verified, reopened once, no rating.
        Case(RANCHI, reported_after=late, interim_replies=1, reopens=1),
        # 5: late report, without an interim reply; awaiting the callback.
        Case(RANCHI, reported_after=late, status=ComplaintStatus.AWAITING_CALLBACK),
        # 6: no report, deadline passed, still awaiting it: due and late, no interim reply.
        Case(RANCHI, reported_after=None, status=ComplaintStatus.AWAITING_REPORT),
        # 7: no report, deadline not yet passed (a directive's new one): not due.
        Case(
            RANCHI,
            reported_after=None,
            status=ComplaintStatus.AWAITING_REPORT,
            deadline=FAR,
        ),
        # Registered in October and withdrawn in November: neither is graded for November.
        Case(RANCHI, registered=REGISTERED - 40 * DAY),
        Case(RANCHI, status=ComplaintStatus.WITHDRAWN),
    ]


def ranchi_expected() -> float:
    """The formula worked out by hand for Ranchi's seven November cases."""
    due = 6  # all but case 7
    on_time = 3  # cases 1-3
    # Complaints closed: 1, 2, 4 (3 is back at the review); verified: 1, 2, 4.
    satisfied = 3 / 3
    # Ratings 5, 4, 1: average 10/3; (10/3 - 1) / 4.
    rating = (10 / 3 - 1) / 4
    # Closed at least once: 1, 2, 4 (closed), 3 (appealed); reopened: 4; appealed: 3.
    not_reopened = 1 - 1 / 4
    not_appealed = 1 - 1 / 4
    # Late: 4, 5, 6; told why: 4.
    told_why = 1 / 3
    weighted = (
        30 * on_time / due
        + 25 * satisfied
        + 15 * rating
        + 10 * not_reopened
        + 10 * not_appealed
        + 10 * told_why
    )
    return 100 * weighted / 100


def dhanbad_cases() -> list[Case]:
    """Dhanbad's officer: five complaints reported on time and closed verified, rated 5;
    nothing late (the told-why share has nothing to count and leaves the formula)."""
    return [Case(DHANBAD, district="Dhanbad", department="health", rating=5) for _ in range(5)]


def dumka_cases() -> list[Case]:
    """Dumka's officer: one suggestion, answered late (no verification: B has nothing to
    count) and one complaint awaiting its report past the deadline."""
    return [
        Case(
            DUMKA,
            district="Dumka",
            kind=ComplaintKind.SUGGESTION,
            reported_after=20 * DAY,
            verified=False,
        ),
        Case(
            DUMKA,
            district="Dumka",
            reported_after=None,
            status=ComplaintStatus.AWAITING_REPORT,
        ),
    ]


@pytest.fixture
def graded(any_engine: Engine) -> Engine:
    for case in ranchi_cases() + dhanbad_cases() + dumka_cases():
        put(any_engine, case)
    return any_engine


def run(engine: Engine, by: GradedBy, **kwargs: object) -> tuple[list, int]:
    options = {"filters": GradingFilters(NOVEMBER), "order": GradeOrder.BEST, **kwargs}
    with Session(engine) as session:
        return grading(session, by=by, scope=sa.true(), now=NOW, **options)  # type: ignore[arg-type]


def test_officers_figures_score_and_grade_follow_the_published_formula(graded: Engine) -> None:
    rows, count = run(graded, GradedBy.OFFICER)
    assert count == 3
    by = {r.key: r for r in rows}
    ranchi = by[RANCHI]
    assert (ranchi.cases, ranchi.due, ranchi.on_time) == (7, 6, 3)
    assert (ranchi.closed_complaints, ranchi.verified) == (3, 3)
    assert (ranchi.rated, ranchi.rating_sum) == (3, 10)
    assert (ranchi.closed_once, ranchi.reopened, ranchi.appealed) == (4, 1, 1)
    assert (ranchi.late, ranchi.late_told_why, ranchi.interim_used) == (3, 1, 1)
    assert ranchi.score == pytest.approx(ranchi_expected())
    assert ranchi.grade == "B"  # about 67.1
    assert ranchi.officer_name and "Ranchi" in ranchi.officer_name

    # Dhanbad: every share at its best: 100, grade A (five cases due).
    assert by[DHANBAD].score == pytest.approx(100.0) and by[DHANBAD].grade == "A"
    # Dumka: on time 0/2; its answered suggestion is closed (C and D count it), not verified.
    dumka = by[DUMKA]
    assert (dumka.due, dumka.on_time, dumka.closed_once, dumka.late) == (2, 0, 1, 2)
    expected = 100 * (30 * 0 + 10 * 1 + 10 * 1 + 10 * 0) / (30 + 10 + 10 + 10)
    assert dumka.score == pytest.approx(expected)
    assert dumka.grade is None  # two cases due: too few to grade

    # Sorted in the database: best first, worst first, by name.
    assert [r.key for r in rows] == [DHANBAD, RANCHI, DUMKA]
    worst, _ = run(graded, GradedBy.OFFICER, order=GradeOrder.WORST)
    assert [r.key for r in worst] == [DUMKA, RANCHI, DHANBAD]
    named, _ = run(graded, GradedBy.OFFICER, order=GradeOrder.NAME)
    assert [r.key for r in named] == sorted([DHANBAD, RANCHI, DUMKA])


def test_a_page_is_cut_in_the_database_and_the_count_is_every_row(graded: Engine) -> None:
    first, count = run(graded, GradedBy.OFFICER, limit=2)
    second, again = run(graded, GradedBy.OFFICER, limit=2, offset=2)
    assert count == again == 3
    assert [r.key for r in first + second] == [DHANBAD, RANCHI, DUMKA]


def test_departments_and_districts_are_graded_on_the_same_formula(graded: Engine) -> None:
    departments, count = run(graded, GradedBy.DEPARTMENT)
    assert count == 2
    by = {r.key: r for r in departments}
    # sanitation: Ranchi's seven and Dumka's two together.
    sanitation = by["drinking_water_sanitation"]
    assert (sanitation.cases, sanitation.due, sanitation.on_time) == (9, 8, 3)
    assert (sanitation.closed_once, sanitation.late, sanitation.late_told_why) == (5, 5, 1)
    expected = (
        30 * 3 / 8
        + 25 * 3 / 3
        + 15 * (10 / 3 - 1) / 4
        + 10 * (1 - 1 / 5)
        + 10 * (1 - 1 / 5)
        + 10 * 1 / 5
    )
    assert sanitation.score == pytest.approx(expected)
    assert by["health"].score == pytest.approx(100.0)

    districts, _ = run(graded, GradedBy.DISTRICT, filters=GradingFilters(NOVEMBER, "Ranchi"))
    assert [(r.key, r.cases) for r in districts] == [("Ranchi", 7)]
    assert districts[0].score == pytest.approx(ranchi_expected())


def test_another_month_grades_other_cases(graded: Engine) -> None:
    rows, count = run(graded, GradedBy.OFFICER, filters=GradingFilters(NOVEMBER.previous))
    assert count == 1 and rows[0].key == RANCHI and rows[0].cases == 1
    assert str(NOVEMBER.next) == "2026-12" and str(Month(2027, 1).previous) == "2026-12"
    assert Month.parse("2026-11") == NOVEMBER
    for bad in ("2026-13", "26-11", "2026/11", "november"):
        with pytest.raises(ValueError):
            Month.parse(bad)


# ---- the review agenda's section of extension requests -------------------------------------


def test_the_agendas_extension_section_lists_interim_replies_requests_first(
    any_engine: Engine,
) -> None:
    """Cases on one session's agenda with interim replies: those asking for an extension
    first (the earliest date first), then those whose replies stayed within the deadline;
    paged in the database; other cases and other sessions' are not listed."""

    def on_agenda(session_id: str, replies: int, until: datetime | None) -> str:
        row = insert_case(any_engine, district="Ranchi")
        with Session(any_engine) as session:
            stored = session.get(Complaint, row.id)
            assert stored is not None
            stored.status = ComplaintStatus.WEEKLY_REVIEW
            stored.review_session_id = session_id
            stored.interim_replies = replies
            stored.interim_reason = "awaiting_funds" if replies else None
            stored.extension_requested_until = until
            session.add(stored)
            session.commit()
        return row.registration_number

    within = on_agenda("weekly-2026-12-15", 1, None)
    later = on_agenda("weekly-2026-12-15", 2, NOW + 20 * DAY)
    sooner = on_agenda("weekly-2026-12-15", 1, NOW + 10 * DAY)
    on_agenda("weekly-2026-12-15", 0, None)  # no interim reply: not in the section
    on_agenda("weekly-2026-12-22", 1, NOW + 5 * DAY)  # another session's agenda
    with Session(any_engine) as session:
        first, count = extension_requests(
            session, "weekly-2026-12-15", district=None, limit=2, offset=0
        )
        rest, _ = extension_requests(session, "weekly-2026-12-15", district=None, limit=2, offset=2)
        elsewhere, none = extension_requests(
            session, "weekly-2026-12-15", district="Dhanbad", limit=2, offset=0
        )
    assert count == 3 and none == 0 and elsewhere == []
    assert [r.registration_number for r in first + rest] == [sooner, later, within]
    assert first[1].interim_replies == 2


# ---- the API and the pages -----------------------------------------------------------------


async def test_the_api_pages_sorts_and_scopes_the_grading(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    for case in ranchi_cases() + dhanbad_cases() + dumka_cases():
        put(any_engine, case)
    reviewer = auth_headers(any_engine, Role.REVIEWER)
    page = await http.get("/v1/grading", params={"month": "2026-11", "limit": 2}, headers=reviewer)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["count"] == 3 and body["month"] == "2026-11" and body["by"] == "officer"
    assert [r["key"] for r in body["data"]] == [DHANBAD, RANCHI]
    ranchi = body["data"][1]
    assert ranchi["score"] == pytest.approx(ranchi_expected()) and ranchi["grade"] == "B"
    assert ranchi["shares"]["on_time"] == pytest.approx(0.5)
    assert ranchi["average_rating"] == pytest.approx(10 / 3)
    rest = await http.get(
        "/v1/grading",
        params={"month": "2026-11", "limit": 2, "offset": 2, "sort": "best"},
        headers=reviewer,
    )
    assert [r["key"] for r in rest.json()["data"]] == [DUMKA]
    departments = await http.get(
        "/v1/grading", params={"month": "2026-11", "by": "department"}, headers=reviewer
    )
    assert {r["key"] for r in departments.json()["data"]} == {"drinking_water_sanitation", "health"}
    # A nodal officer grades the cases of their own district only.
    dhanbad = auth_headers(any_engine, Role.NODAL_OFFICER, district="Dhanbad")
    mine = await http.get("/v1/grading", params={"month": "2026-11"}, headers=dhanbad)
    assert mine.json()["count"] == 1 and mine.json()["data"][0]["key"] == DHANBAD
    # Bad input: 422 naming the field; other roles: 403.
    for name, value in (("month", "2026-13"), ("by", "telecaller"), ("district", "Atlantis"),
                        ("sort", "random"), ("limit", "0")):  # fmt: skip
        bad = await http.get("/v1/grading", params={name: value}, headers=reviewer)
        assert bad.status_code == 422 and name in bad.text, (name, bad.text)
    telecaller = auth_headers(any_engine, Role.TELECALLER)
    assert (await http.get("/v1/grading", headers=telecaller)).status_code == 403

    await sign_in(http, token_of(reviewer))
    shown = await http.get("/grading", params={"month": "2026-11"})
    assert shown.status_code == 200 and 'id="table-grading"' in shown.text
    assert "67.1" in shown.text and "grading-formula" in shown.text
    printed = await http.get("/grading", params={"month": "2026-11", "print": "1"})
    assert 'class="printable"' in printed.text and 'id="grading-signatures"' in printed.text
    wrong = await http.get("/grading", params={"month": "November"})
    assert wrong.status_code == 422 and 'id="month-error"' in wrong.text
    dashboard = await http.get("/dashboard")
    assert dashboard.status_code == 200 and 'id="grading-panel"' in dashboard.text
