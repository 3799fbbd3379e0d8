"""The dashboard at state scale, on SQLite and PostgreSQL: every number a
grouped query in the database (a fixed number of statements whatever the number of cases, no
case row loaded), filters by period, district and department, each number a link to the
case listing behind it, score B over complaints only (an answered suggestion is no
unsatisfied closure), and districts with nothing to count shown as "—"."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.pages.dashboard import Filters, compute
from core.db import read_session
from core.models import Complaint, utcnow
from core.settings import Settings
from harness.factories import auth_headers, insert_case
from schemas.auth import Principal, Role
from schemas.calendar import IST
from schemas.enums import ClosureReason, ComplaintKind, ComplaintStatus
from schemas.policy import Policy
from tests.api.test_pages import sign_in, token_of
from tests.helpers import api_client

DAY = timedelta(days=1)
REVIEWER = Principal(subject="r", roles=frozenset({Role.REVIEWER}))


def case(
    engine: Engine,
    district: str,
    *,
    now: datetime,
    age: timedelta,
    department: str | None = None,
    kind: ComplaintKind = ComplaintKind.COMPLAINT,
    closed: ClosureReason | None = None,
    repeat_contacts: int = 0,
) -> Complaint:
    row = insert_case(engine, district=district, department=department)
    with Session(engine, expire_on_commit=False) as session:
        stored = session.get(Complaint, row.id)
        assert stored is not None
        stored.created_at = now - age
        stored.kind = kind
        stored.repeat_contacts = repeat_contacts
        if closed is not None:
            stored.status = ComplaintStatus.CLOSED
            stored.closed_at = stored.created_at + 5 * DAY
            stored.closure_reason = closed
        session.add(stored)
        session.commit()
        return stored


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_every_number_is_a_grouped_query_whatever_the_volume(any_engine: Engine) -> None:
    now = utcnow()
    counted: list[int] = []
    for batch in (3, 30):
        for i in range(batch):
            case(any_engine, ("Ranchi", "Dumka", "Gumla")[i % 3], now=now, age=(i % 40) * DAY)
        with read_session(any_engine) as session, statements(any_engine) as seen:
            data = compute(session, REVIEWER, Policy(), now)
        counted.append(len(seen))
        # No case is loaded: no statement reads a case's own columns.
        assert not any("description" in s or "citizen_phone" in s for s in seen), seen
        assert sum(1 for s in seen if "GROUP BY" in s.upper()) >= 2
    assert counted[0] == counted[1]  # a fixed number of statements
    assert data.open_total == 33


def test_b_counts_verified_complaints_and_suggestions_do_not_lower_it(any_engine: Engine) -> None:
    now = utcnow()
    # Khunti: one complaint verified satisfied, and two suggestions answered (accepted).
    case(any_engine, "Khunti", now=now, age=30 * DAY, closed=ClosureReason.RESOLVED_VERIFIED)
    for _ in range(2):
        case(
            any_engine,
            "Khunti",
            now=now,
            age=30 * DAY,
            kind=ComplaintKind.SUGGESTION,
            closed=ClosureReason.SUGGESTION_ANSWERED,
        )
    with read_session(any_engine) as session:
        data = compute(session, REVIEWER, Policy(), now)
    khunti = next(r for r in data.ranking if r.district == "Khunti")
    assert (khunti.closed, khunti.closed_complaints, khunti.verified) == (3, 1, 1)
    assert khunti.satisfied_share == 1.0  # not 1/3: suggestions are answered, not verified
    assert khunti.score == 100
    # A district with nothing to count has no share at all (the page shows "—"), not 0 %.
    bokaro = next(r for r in data.ranking if r.district == "Bokaro")
    assert bokaro.score is None
    assert (bokaro.in_time_share, bokaro.satisfied_share, bokaro.reopened_share) == (None,) * 3


def test_filters_narrow_every_number(any_engine: Engine) -> None:
    now = utcnow()
    case(any_engine, "Ranchi", now=now, age=2 * DAY, department="police")
    case(any_engine, "Ranchi", now=now, age=50 * DAY)
    case(any_engine, "Dhanbad", now=now, age=3 * DAY, department="police")
    today = now.astimezone(IST).date()
    with read_session(any_engine) as session:
        everything = compute(session, REVIEWER, Policy(), now)
        police = compute(session, REVIEWER, Policy(), now, filters=Filters(department="police"))
        ranchi = compute(session, REVIEWER, Policy(), now, filters=Filters(district="Ranchi"))
        week = compute(
            session,
            REVIEWER,
            Policy(),
            now,
            filters=Filters(registered_from=today - 6 * DAY, registered_to=today),
        )
    assert everything.open_total == 3
    assert police.open_total == 2 and ranchi.open_total == 2 and week.open_total == 2
    assert set(ranchi.open_by_district) == {"Ranchi"}
    assert [r.district for r in ranchi.ranking] == ["Ranchi"]
    assert sum(week.ageing) == 2 and week.ageing[0] == 2
    assert sum(police.trend) <= sum(everything.trend)


def repeat_calls_rows(engine: Engine, now: datetime) -> None:
    """Ranchi: three open cases called again 2, 0 and 1 times, and a closed one called again
    5 times; Dumka: one open case never called again."""
    for calls in (2, 0, 1):
        case(engine, "Ranchi", now=now, age=3 * DAY, repeat_contacts=calls)
    case(
        engine,
        "Ranchi",
        now=now,
        age=30 * DAY,
        closed=ClosureReason.RESOLVED_VERIFIED,
        repeat_contacts=5,
    )
    case(engine, "Dumka", now=now, age=3 * DAY)


def test_repeat_calls_on_open_cases_per_district_and_in_all(any_engine: Engine) -> None:
    now = utcnow()
    repeat_calls_rows(any_engine, now)
    with read_session(any_engine) as session:
        data = compute(session, REVIEWER, Policy(), now)
        dumka = compute(session, REVIEWER, Policy(), now, filters=Filters(district="Dumka"))
    # The closed case's 5 calls do not count: only open cases.
    assert data.repeats_by_district == {"Ranchi": (3, 2), "Dumka": (0, 0)}
    assert (data.repeat_calls, data.repeat_cases, data.open_total) == (3, 2, 4)
    assert data.repeat_share == 0.5
    assert (dumka.repeat_calls, dumka.repeat_cases, dumka.repeat_share) == (0, 0, 0.0)


# ---- the page ---------------------------------------------------------------------------


@pytest.fixture
async def web(
    any_engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        http.headers["accept-language"] = "en"
        await sign_in(http, token_of(auth_headers(any_engine, Role.REVIEWER)))
        yield http


def links(html: str) -> dict[str, str]:
    """The text of each link to the case listing -> its query string."""
    found = {}
    for href, text in re.findall(r'<a[^>]* href="(/cases\?[^"]*)"[^>]*>(.*?)</a>', html):
        found[re.sub(r"<[^>]+>", "", text).strip() + " " + unescape(href)] = unescape(href)
    return found


def ranking_table(html: str) -> str:
    """The ranking's table alone (other panels follow it on the page)."""
    start = html.index('id="table-ranking"')
    return html[start : html.index("</table>", start)]


async def test_each_number_links_to_the_list_behind_it(
    web: httpx.AsyncClient, any_engine: Engine
) -> None:
    now = utcnow()
    for _ in range(3):
        case(any_engine, "Ranchi", now=now, age=40 * DAY, department="police")
    page = await web.get("/dashboard", params={"department": "police", "district": "Ranchi"})
    assert page.status_code == 200, page.text
    hrefs = list(links(page.text).values())
    total = re.search(r'id="open-total" href="([^"]+)"', page.text)
    assert total is not None
    query = parse_qs(urlsplit(unescape(total.group(1))).query)
    assert query == {"open_only": ["true"], "district": ["Ranchi"], "department": ["police"]}
    by_level = [h for h in hrefs if "escalation_level=0" in h]
    assert by_level and "district=Ranchi" in by_level[0] and "department=police" in by_level[0]
    # The age bucket of these 40-day-old cases: their registration days, in the filters.
    bucket = [h for h in hrefs if "from=" in h and "open_only" in h]
    assert len(bucket) == 1
    days = parse_qs(urlsplit(bucket[0]).query)
    registered = (now - 40 * DAY).astimezone(IST).date().isoformat()
    assert days["from"][0] <= registered <= days["to"][0]
    closed = [h for h in hrefs if "status=closed" in h]
    assert len(closed) == 1 and "district=Ranchi" in closed[0]
    assert any("overdue=true" in h for h in hrefs)
    # Ranchi: A is a true 0 % (3 due, none closed in time); B and C have nothing to count.
    ranking = ranking_table(page.text)
    assert ranking.count("0%") == 1 and ranking.count('class="num empty"') == 2
    # Unfiltered: the 23 districts with no case show "—" in A, B and C, never 0 %.
    whole = await web.get("/dashboard")
    ranking = ranking_table(whole.text)
    assert ranking.count("0%") == 1
    assert ranking.count('class="num empty"') == 23 * 3 + 2


def district_row(html: str, district: str) -> list[str]:
    """The cells of a district's row in the open cases' table, as text."""
    start = html.index('id="table-by-district"')
    table = html[start : html.index("</table>", start)]
    for row in re.findall(r"<tr>(.*?)</tr>", table):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if cells and cells[0] == district:
            return cells
    raise AssertionError(f"no row for {district}")


@pytest.mark.parametrize(
    ("language", "figure", "ranchi"),
    [
        ("en", "Repeat calls on open cases: 3 · open cases with any: 2 (50%)", "Ranchi"),
        ("hi", "लंबित मामलों पर दोबारा आए फ़ोन: 3 · ऐसे लंबित मामले: 2 (50%)", "रांची"),
    ],
)
async def test_the_page_shows_repeat_calls_per_district_and_in_all(
    web: httpx.AsyncClient, any_engine: Engine, language: str, figure: str, ranchi: str
) -> None:
    repeat_calls_rows(any_engine, utcnow())
    page = await web.get("/dashboard", headers={"accept-language": language})
    assert page.status_code == 200, page.text
    found = re.search(r'<p id="repeat-calls">(.*?)</p>', page.text)
    assert found is not None
    assert re.sub(r"<[^>]+>", "", found.group(1)).strip() == figure
    assert district_row(page.text, ranchi)[-2:] == ["3", "2 (67%)"]


async def test_a_filter_that_names_nothing_is_said_beside_its_field(
    web: httpx.AsyncClient,
) -> None:
    page = await web.get(
        "/dashboard",
        params={"district": "Atlantis", "registered_from": "2026-13-01", "registered_to": ""},
    )
    assert page.status_code == 422
    assert page.text.count('class="field-error"') == 2
    assert 'id="district-error"' in page.text and 'id="registered_from-error"' in page.text
    assert "registered_from" not in re.sub(r"<[^>]+>", "", page.text).replace(
        "registered_from=", ""
    )


def test_the_weekly_trend_counts_exactly_what_the_rule_says(any_engine: Engine) -> None:
    """Against the rule computed case by case in Python: at each week's end, a case counts
    when its report window from registration had passed and it was not yet closed or
    withdrawn; urgent and suggestion windows differ, and edges fall mid-week."""
    now = utcnow()
    policy = Policy()
    rows = []
    for i in range(60):
        age = timedelta(days=(i * 37) % 120, hours=(i * 7) % 24)
        row = case(any_engine, ("Ranchi", "Dumka")[i % 2], now=now, age=age)
        with Session(any_engine, expire_on_commit=False) as session:
            stored = session.get(Complaint, row.id)
            assert stored is not None
            stored.urgent = i % 7 == 0
            stored.kind = ComplaintKind.SUGGESTION if i % 5 == 0 else ComplaintKind.COMPLAINT
            if i % 3 == 0:
                stored.status = ComplaintStatus.CLOSED
                stored.closed_at = stored.created_at + timedelta(days=(i * 11) % 50, hours=i)
            elif i % 11 == 0:
                stored.status = ComplaintStatus.WITHDRAWN
                stored.closed_at = None
                stored.updated_at = stored.created_at + timedelta(days=(i * 5) % 30)
            session.add(stored)
            session.commit()
            rows.append(stored)
    with read_session(any_engine) as session:
        data = compute(session, REVIEWER, policy, now)

    def window(row: Complaint) -> timedelta:
        return policy.report_deadline(
            suggestion=row.kind is ComplaintKind.SUGGESTION, urgent=row.urgent
        )

    expected = []
    for week_end in data.trend_weeks:
        late = 0
        for row in rows:
            ended = None
            if row.status is ComplaintStatus.CLOSED:
                ended = row.closed_at
            elif row.status is ComplaintStatus.WITHDRAWN:
                ended = row.closed_at or row.updated_at
            if row.created_at + window(row) < week_end and (ended is None or ended > week_end):
                late += 1
        expected.append(late)
    assert data.trend == expected
    assert sum(expected) > 0


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(district="Ranchi"),
        Filters(department="police"),
        Filters(registered_from=utcnow().astimezone(IST).date() - timedelta(days=29)),
    ],
    ids=["state", "district", "department", "period"],
)
def test_no_statement_reads_a_case_row(engine: Engine, filters: Filters) -> None:
    """Every statement of the dashboard reads the cases from an index that holds every
    column it needs (migration 0027), whatever the filters: SQLite's plan says so ("USING
    COVERING INDEX"). Fetching each case's row was most of a view's time at 1,000,000
    cases (docs/performance.md)."""
    now = utcnow()
    case(engine, "Ranchi", now=now, age=3 * DAY, department="police")
    case(engine, "Dumka", now=now, age=40 * DAY, closed=ClosureReason.RESOLVED_VERIFIED)
    issued: list[tuple[str, Any]] = []

    def record(_c: object, _cur: object, statement: str, parameters: Any, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            issued.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with read_session(engine) as session:
            compute(session, REVIEWER, Policy(), now, filters=filters)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(issued) == 4
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        for statement, parameters in issued:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            reads = [str(r[-1]) for r in cursor.fetchall() if " complaint " in f"{r[-1]} "]
            assert reads and all("COVERING INDEX" in r for r in reads), (statement, reads)
