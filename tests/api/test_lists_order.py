"""The lists read from indexes in their own order give the very rows, order and totals of the
plain definition, on SQLite and PostgreSQL: a nodal officer's inbox (their district's cases and
those transferred to its officers, merged from two index-ordered parts), a search within that
scope, and the verification list, each paged through with more cases than a page, with ties,
cases without a deadline, urgent ones, closed ones and transfers either way. The expected
lists are computed here in Python from the rows themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.main import create_app
from core.models import Complaint, Officer, utcnow
from core.settings import Settings
from core.temporal import connect
from harness.factories import auth_headers
from schemas.auth import Role
from schemas.enums import CLOSED_STATUSES, ComplaintStatus
from tests.api.test_lists_search import add_cases
from tests.helpers import api_client

PAGE = 7
RANCHI_OFFICER = "nodal-district-ranchi"
DUMKA_OFFICER = "nodal-district-dumka"


@pytest.fixture
async def api(any_engine: Engine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the read model (SQLite, PostgreSQL); these reads never reach Temporal."""
    client = await connect(settings, lazy=True)
    app = create_app(settings, engine=any_engine, client=client)
    async with api_client(app, authorized=False) as http:
        http.engine = any_engine  # type: ignore[attr-defined]
        yield http


def _cases(now: datetime) -> list[dict[str, Any]]:
    """Ranchi's open and closed cases, cases transferred in from Dhanbad and out to Dumka's
    officer, Dumka's own; deadlines shared by several cases (ties broken by the number as a
    number), some without one; a few urgent; some with the words searched."""
    specs: list[dict[str, Any]] = []
    for i in range(90):
        sequence = 1 + (i * 13) % 997  # 1, 14, 27, ... : numbers of 1 to 3 digits, unsorted
        group = i % 9
        deadline = None if i % 11 == 0 else now + timedelta(hours=i % 5)
        spec: dict[str, Any] = {
            "sequence": sequence,
            "urgent": i % 7 == 0,
            "next_deadline": deadline,
            "district": "Ranchi",
            "assigned_officer_id": RANCHI_OFFICER,
            "description": "pani tanki" if i % 3 == 0 else "sadak",
        }
        if group == 1:  # transferred in: another district's case with Ranchi's officer
            spec |= {"district": "Dhanbad"}
        elif group == 2:  # Ranchi's, with another district's officer: still Ranchi's
            spec |= {"assigned_officer_id": DUMKA_OFFICER}
        elif group == 3:  # another district's entirely
            spec |= {"district": "Dumka", "assigned_officer_id": DUMKA_OFFICER}
        elif group == 4:  # closed
            spec |= {"status": ComplaintStatus.CLOSED, "next_deadline": None}
        elif group == 5:  # waiting for the verification call, some not due yet, some unset
            spec |= {
                "status": ComplaintStatus.AWAITING_CALLBACK,
                "callback_due_at": None if i % 2 else now - timedelta(hours=i % 4),
            }
        specs.append(spec)
    return specs


def _officers_of(engine: Engine, district: str) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(Officer.id).where(Officer.district == district)))


def _rows(engine: Engine) -> list[Complaint]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(Complaint)))


def _deadline_order(c: Complaint) -> tuple[Any, ...]:
    deadline = c.next_deadline
    return (
        not c.urgent,
        deadline is None,
        deadline.timestamp() if deadline else 0,
        c.year,
        c.sequence,
    )


async def _all_pages(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], number: Callable[[Any], str]
) -> tuple[list[str], set[int]]:
    """Every page of `path` (PAGE a page): the numbers in order, and the counts each said."""
    numbers: list[str] = []
    counts: set[int] = set()
    offset = 0
    while True:
        answer = await http.get(f"{path}&limit={PAGE}&offset={offset}", headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        counts.add(body["count"])
        if not body["data"]:
            return numbers, counts
        numbers += [number(item) for item in body["data"]]
        offset += PAGE


def _number(item: dict[str, Any]) -> str:
    return str(item["registration_number"])


async def test_the_officers_inbox_is_the_scope_in_deadline_order_page_by_page(
    api: httpx.AsyncClient,
) -> None:
    engine: Engine = api.engine  # type: ignore[attr-defined]
    now = utcnow().replace(microsecond=0)
    add_cases(engine, _cases(now))
    officer = auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")
    ranchi = _officers_of(engine, "Ranchi")
    assert RANCHI_OFFICER in ranchi and DUMKA_OFFICER not in ranchi

    def expected(*, words: str | None = None) -> list[str]:
        rows = [
            c
            for c in _rows(engine)
            if (c.district == "Ranchi" or c.assigned_officer_id in ranchi)
            and (words is not None or c.status not in {s.value for s in CLOSED_STATUSES})
            and (words is None or words in c.description)
        ]
        return [c.registration_number for c in sorted(rows, key=_deadline_order)]

    inbox = "/v1/complaints?open_only=true&sort=deadline"
    want = expected()
    assert len(want) > 5 * PAGE
    assert any(n.split("/")[0] == "14" for n in want)  # a transferred-in case is in
    got, counts = await _all_pages(api, inbox, officer, _number)
    assert got == want and counts == {len(want)}
    # A page far beyond the last: nothing, and still the true total.
    beyond = await api.get(f"{inbox}&limit={PAGE}&offset={10 * len(want)}", headers=officer)
    assert beyond.json() == {
        "data": [],
        "count": len(want),
        "limit": PAGE,
        "offset": 10 * len(want),
    }

    # Transfers: a Ranchi case moves to Dumka (district and officer), a Dumka case to Ranchi's
    # officer; the list follows both.
    moved_out, moved_in = (
        want[0],
        next(c.registration_number for c in _rows(engine) if c.district == "Dumka"),
    )
    with Session(engine) as session:
        session.execute(
            update(Complaint)
            .where(col(Complaint.registration_number) == moved_out)
            .values(district="Dumka", assigned_officer_id=DUMKA_OFFICER)
        )
        session.execute(
            update(Complaint)
            .where(col(Complaint.registration_number) == moved_in)
            .values(assigned_officer_id=RANCHI_OFFICER)
        )
        session.commit()
    want = expected()
    assert moved_in in want and moved_out not in want
    got, counts = await _all_pages(api, inbox, officer, _number)
    assert got == want and counts == {len(want)}

    # A search within the scope (closed cases too): its matches in the work order.
    want = expected(words="pani")
    assert len(want) > PAGE
    got, counts = await _all_pages(api, "/v1/complaints?q=pani", officer, _number)
    assert got == want and counts == {len(want)}


async def test_the_verification_list_is_every_waiting_case_urgent_then_oldest_due(
    api: httpx.AsyncClient,
) -> None:
    engine: Engine = api.engine  # type: ignore[attr-defined]
    now = utcnow().replace(microsecond=0)
    add_cases(engine, _cases(now))
    telecaller = auth_headers(engine, Role.TELECALLER)

    def key(c: Complaint) -> tuple[Any, ...]:
        due = c.callback_due_at
        return (not c.urgent, due is None, due.timestamp() if due else 0, c.year, c.sequence)

    waiting = [c for c in _rows(engine) if c.status == ComplaintStatus.AWAITING_CALLBACK]
    want = [c.registration_number for c in sorted(waiting, key=key)]
    assert len(want) > PAGE and any(c.callback_due_at is None for c in waiting)
    got, counts = await _all_pages(
        api,
        "/v1/callbacks?due_only=false",
        telecaller,
        lambda item: str(item["complaint"]["registration_number"]),
    )
    assert got == want and counts == {len(want)}


async def test_sqlite_reads_the_inbox_and_verification_pages_in_index_order(
    engine: Engine, settings: Settings
) -> None:
    """The page's ids come from the ordered index with no sort of the officer's (or the
    waiting) cases: the plan's step on the index is not followed by a sort of its rows."""
    assert engine.dialect.name == "sqlite"  # the `engine` fixture; PostgreSQL's plans: docs
    add_cases(engine, _cases(utcnow()))
    officer = auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")
    telecaller = auth_headers(engine, Role.TELECALLER)
    issued: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY" in statement and "FROM complaint" in statement:
            issued.append((statement, parameters))

    for path, headers, index in (
        (
            "/v1/complaints?open_only=true&sort=deadline&offset=14",
            officer,
            "ix_complaint_open_scope",
        ),
        ("/v1/callbacks?due_only=false", telecaller, "ix_complaint_callback_order"),
    ):
        issued.clear()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            app = create_app(settings, engine=engine, client=await connect(settings, lazy=True))
            async with api_client(app, authorized=False) as http:
                assert (await http.get(path, headers=headers)).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        assert issued
        with engine.connect() as connection:
            cursor = connection.connection.cursor()
            cursor.execute("EXPLAIN QUERY PLAN " + issued[0][0], issued[0][1])
            plan = [str(row[-1]) for row in cursor.fetchall()]
        at = [i for i, line in enumerate(plan) if index in line]
        assert at, plan
        assert all("TEMP B-TREE" not in plan[i + 1] for i in at if i + 1 < len(plan)), plan


async def test_the_list_of_every_case_counts_every_case_as_the_database_keeps_it(
    api: httpx.AsyncClient,
) -> None:
    """The unfiltered list's total comes from `complaint_total`, which the database's
    triggers keep equal to the rows through single inserts, a many-row insert and deletes."""
    engine: Engine = api.engine  # type: ignore[attr-defined]
    reviewer = auth_headers(engine, Role.REVIEWER)
    now = utcnow()
    add_cases(engine, _cases(now))
    with engine.begin() as connection:  # one statement inserting many rows, as the bench does
        connection.execute(
            text(
                "INSERT INTO complaint (year, sequence, registration_number, workflow_id, kind,"
                " channel, citizen_name, citizen_phone, citizen_address, district, language,"
                " description, urgent, wishes_to_meet_cm, status, escalation_level,"
                " callback_attempts, state_version, request_fingerprint, created_at,"
                " updated_at, undecided_times, repeat_contacts, interim_replies, appeals,"
                " reopens) SELECT year + 1, sequence, sequence || '/' || (year + 1),"
                " 'copy-' || workflow_id, kind, channel, citizen_name, citizen_phone,"
                " citizen_address, district, language, description, urgent,"
                " wishes_to_meet_cm, status, escalation_level, callback_attempts,"
                " state_version, request_fingerprint, created_at, updated_at,"
                " undecided_times, repeat_contacts, interim_replies, appeals, reopens"
                " FROM complaint WHERE sequence < 500"
            )
        )
        connection.execute(text("DELETE FROM complaint WHERE sequence < 50"))
    with Session(engine) as session:
        rows: int = session.execute(text("SELECT count(*) FROM complaint")).scalar_one()
    assert rows > 90
    answer = await api.get("/v1/complaints?limit=5", headers=reviewer)
    assert answer.json()["count"] == rows
    # A filtered list still counts its own rows.
    ranchi = await api.get("/v1/complaints?limit=5&district=Ranchi", headers=reviewer)
    assert 0 < ranchi.json()["count"] < rows
