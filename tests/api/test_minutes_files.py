"""Minutes people can file, and every CSV safe to open:
each cell a spreadsheet would evaluate is neutralised (OWASP's CSV-injection prefixes, their
full-width and small forms, behind spaces), the file is UTF-8 with a byte-order mark, the review
room's CSV has the reader's column names and officers by name and designation, no CSV is cached,
and the printable page has its heading, date, chair, districts present and signature block."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.models import Officer, ReviewItem, ReviewSession, utcnow
from core.settings import Settings
from core.spreadsheet import BOM, FORMULA_SIGNS, csv_bytes, safe_cell
from harness.factories import auth_headers
from schemas.auth import Role
from schemas.calendar import IST, SessionKind, session_start
from schemas.enums import ComplaintKind, ComplaintStatus
from schemas.escalation import session_id
from schemas.policy import Policy
from schemas.review import AgendaItem
from tests.api.test_pages import csrf, sign_in, token_of
from tests.helpers import api_client

HYPERLINK = '=HYPERLINK("http://evil.example/?x","click me")'
# Each kind of cell a spreadsheet would evaluate, as a citizen or an officer might type it.
DANGEROUS = [
    HYPERLINK,
    "+91 98765 43210",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",  # full-width =
    "\uff0bcmd",
    "\uff0dcmd",
    "\uff20SUM(A1)",
    "\ufe66cmd",  # small =
    "   =1+1",  # behind spaces
    "\u00a0\u3000+cmd",  # no-break and ideographic spaces
    "\n=1+1",
]


@pytest.mark.parametrize("text", DANGEROUS)
def test_every_formula_prefix_is_neutralised(text: str) -> None:
    cell = safe_cell(text)
    assert cell == "'" + text
    assert cell[0] not in FORMULA_SIGNS


@pytest.mark.parametrize("text", ["Ranchi", "12/2026", "शौचालय नहीं मिला", "a=b", "", "2026-12-01"])
def test_plain_text_is_kept_as_typed(text: str) -> None:
    assert safe_cell(text) == text


def test_a_csv_file_opens_in_excel_and_round_trips() -> None:
    data = csv_bytes(["संख्या", "text"], [["1/2026", 'a "quoted", multi\nline'], [None, "=1"]])
    assert data.startswith(BOM.encode())  # EF BB BF: Excel reads UTF-8
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["संख्या", "text"], ["1/2026", 'a "quoted", multi\nline'], ["", "'=1"]]


# ---- the minutes, over HTTP on both databases ---------------------------------------------


@pytest.fixture
async def web(
    any_engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        http.app_engine = any_engine  # type: ignore[attr-defined]
        yield http


def _last_tuesday_before(today: date) -> date:
    day = today - timedelta(days=7)
    while day.weekday() != 1:
        day -= timedelta(days=1)
    return day


def held_session(engine: Engine) -> tuple[str, str]:
    """A closed weekly review with two decisions whose texts try formula injection; returns
    (its day, its session id)."""
    day = _last_tuesday_before(utcnow().astimezone(IST).date())
    starts = session_start(day, Policy().weekly_review_time)
    cases = [
        ("11/2026", "Ranchi", HYPERLINK, "nodal-district-ranchi"),
        ("12/2026", "Dhanbad", "@SUM(1+1)", "nodal-district-dhanbad"),
    ]
    sid = closed_session(engine, SessionKind.WEEKLY_REVIEW.value, starts, None, cases)
    return day.isoformat(), sid


def closed_session(
    engine: Engine,
    kind: str,
    starts: datetime,
    place: str | None,
    cases: list[tuple[str, str, str, str]],
) -> str:
    """A closed session of `kind` held at `place` (a district, a division; None: the state)
    from `starts`, with a decision on each of `cases` (number, district, decision text,
    responsible officer); its session id."""
    sid = session_id(kind, starts, place)
    now = utcnow()
    with Session(engine) as session:
        session.add(
            ReviewSession(
                session_id=sid,
                kind=kind,
                starts_at=starts,
                cutoff_at=starts - timedelta(hours=17),
                workflow_id=f"review-{sid}",
                phase="closed",
                agenda_count=len(cases),
                decided_count=len(cases),
                created_at=now,
                updated_at=now,
                closed_at=now,
                closed_by="secretary",
            )
        )
        session.flush()  # the session's row before its items (their foreign key)
        for position, (number, district, text, officer) in enumerate(cases):
            item = AgendaItem(
                registration_number=number,
                workflow_id=f"w-{number}",
                kind=ComplaintKind.COMPLAINT,
                district=district,
                department=None,
                category="sanitation",
                subject="Sanitation (toilets)",
                registered_at=now - timedelta(days=40),
                age_days=40,
                status=ComplaintStatus.WEEKLY_REVIEW,
                escalation_level=1,
            )
            session.add(
                ReviewItem(
                    session_id=sid,
                    registration_number=number,
                    district=district,
                    position=position,
                    item=item.model_dump_json(),
                    outcome="directive",
                    decision_text=text,
                    decided_by="secretary",
                    responsible_officer_id=officer,
                    new_deadline=now + timedelta(days=7),
                    decided_at=now,
                )
            )
        session.commit()
    return sid


async def test_the_minutes_csv_is_safe_localised_and_never_cached(web: httpx.AsyncClient) -> None:
    engine: Engine = web.app_engine  # type: ignore[attr-defined]
    day, sid = held_session(engine)
    with Session(engine) as session:
        ranchi = session.get(Officer, "nodal-district-ranchi")
        assert ranchi is not None
    reviewer = auth_headers(engine, Role.REVIEWER)

    # The API's CSV: stable column codes for programs, but the same safety.
    api = await web.get(f"/v1/reviews/weekly_review/{day}/minutes?format=csv", headers=reviewer)
    assert api.status_code == 200, api.text
    assert api.headers["cache-control"] == "no-store"
    assert api.content.startswith(BOM.encode())
    rows = list(csv.DictReader(io.StringIO(api.content.decode("utf-8-sig"))))
    # In agenda order (by district): Dhanbad's 12/2026, then Ranchi's 11/2026.
    assert [r["registration_number"] for r in rows] == ["12/2026", "11/2026"]
    assert [r["decision_text"] for r in rows] == ["'@SUM(1+1)", "'" + HYPERLINK]

    # The review room's CSV, from the Hindi page: Hindi column names and words, officers by
    # name and designation.
    await sign_in(web, token_of(reviewer))
    web.cookies.set("jan_samvad_lang", "hi")
    page = await web.get(f"/review-room/weekly_review/{day}/minutes.csv")
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-type"].startswith("text/csv")
    assert sid in page.headers["content-disposition"]
    assert page.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(page.content.decode("utf-8-sig"))))
    header = table[0]
    first = next(row for row in table[1:] if row[1] == "11/2026")
    assert header[:3] == ["बैठक", "संख्या", "ज़िला"], header
    assert not any(h.isascii() and "_" in h for h in header)  # no column codes
    assert first[2] == "रांची"
    assert first[5] == "'" + HYPERLINK
    assert first[6] == ranchi.name and first[6] != "nodal-district-ranchi"
    assert first[7] and first[7] != ranchi.designation  # the designation, in Hindi
    assert all(cell[:1] not in FORMULA_SIGNS for row in table for cell in row)


async def test_the_printable_minutes_can_be_signed_and_filed(web: httpx.AsyncClient) -> None:
    engine: Engine = web.app_engine  # type: ignore[attr-defined]
    day, _sid = held_session(engine)
    web.headers["accept-language"] = "en"
    await sign_in(web, token_of(auth_headers(engine, Role.REVIEWER)))
    page = await web.get(f"/review-room/weekly_review/{day}/minutes?print=1")
    assert page.status_code == 200
    text = page.text
    assert "Mukhyamantri Jan Samvad Kendra" in text
    assert "Minutes of the Weekly review" in text or "Minutes of the" in text
    assert 'id="minutes-chair">Secretary to the Chief Minister<' in text
    assert 'id="minutes-districts">Dhanbad, Ranchi<' in text
    assert 'id="minutes-signatures"' in text and "Signature of the chair" in text
    with Session(engine) as session:
        dhanbad = session.get(Officer, "nodal-district-dhanbad")
        assert dhanbad is not None
    assert dhanbad.name in text and dhanbad.designation in text
    assert "nodal-district-dhanbad" not in text
    # The page itself (not the printable one) carries no signature block but the same facts.
    plain = await web.get(f"/review-room/weekly_review/{day}/minutes")
    assert 'id="minutes-chair"' in plain.text and 'id="minutes-signatures"' not in plain.text
    assert csrf(page)  # the frame's sign-out form is there, hidden in print by the stylesheet
