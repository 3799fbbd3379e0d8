"""The list pages over plain HTTP: the inbox paged in deadline order with its total, the
header's search box, the verification calls with what the telecaller dials and asks, the
caller's history on the desk (script route and the no-script form) and the case page's
other cases. In the browser: tests/system/test_lists_browser.py."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine

from api.main import create_app
from core.logging import RedactPhoneFilter
from core.models import utcnow
from core.settings import Settings
from core.temporal import connect
from harness.factories import auth_headers
from schemas.auth import Role
from schemas.enums import ComplaintStatus
from tests.api.test_lists_search import add_cases
from tests.api.test_pages import csrf, sign_in, token_of
from tests.helpers import api_client


@pytest.fixture
async def pages(engine: Engine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The pages over the read model; these reads never reach Temporal (a lazy client)."""
    client = await connect(settings, lazy=True)
    app = create_app(settings, engine=engine, client=client)
    async with api_client(app, authorized=False) as http:
        http.headers["accept-language"] = "en"
        yield http


ROW_NUMBER = re.compile(r'<a href="/cases/(\d+)/(\d+)">')


def listed(html: str) -> list[str]:
    table = html.split('id="cases"', 1)[1].split("</table>", 1)[0]
    return [f"{s}/{y}" for y, s in ROW_NUMBER.findall(table)]


async def test_the_inbox_pages_every_case_oldest_overdue_first(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    now = utcnow()
    year = now.year
    # 120 of the officer's cases; the most overdue registered last (the old inbox lost them).
    specs = [
        {"sequence": 1000 + i, "next_deadline": now + timedelta(hours=i + 1)} for i in range(117)
    ]
    specs += [
        {"sequence": 100, "next_deadline": now - timedelta(days=20)},
        {"sequence": 13, "next_deadline": now - timedelta(days=20)},
        {"sequence": 9, "next_deadline": now - timedelta(days=40)},
        {"sequence": 8, "district": "Dumka", "next_deadline": now - timedelta(days=90)},
    ]
    add_cases(engine, specs)
    await sign_in(pages, token_of(auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")))
    first = await pages.get("/inbox")
    assert first.status_code == 200
    assert '<span class="tag" id="total">120</span>' in first.text
    assert "1–50 of 120" in first.text and "page 1 of 3" in first.text
    assert listed(first.text)[:3] == [f"9/{year}", f"13/{year}", f"100/{year}"]
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    last_link = re.search(r'href="([^"]+)" rel="last"', first.text)
    assert last_link is not None
    last = await pages.get(last_link.group(1).replace("&amp;", "&"))
    assert "101–120 of 120" in last.text and 'rel="next"' not in last.text
    assert listed(last.text)[-1] == f"{1116}/{year}"
    assert f"8/{year}" not in listed(first.text) + listed(last.text)  # another district's
    # Filters keep to the page's links: overdue only.
    overdue = await pages.get("/inbox", params={"overdue": "true"})
    assert listed(overdue.text) == [f"9/{year}", f"13/{year}", f"100/{year}"]
    assert "1–3 of 3" in overdue.text


async def test_the_header_search_box_finds_by_phone_name_and_number(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    year = utcnow().year
    add_cases(
        engine,
        [
            {
                "sequence": 20983,
                "year": 2018,
                "citizen_name": "सीता देवी",
                "citizen_phone": "+919876543210",
            },
            {"sequence": 5, "citizen_name": "Ramesh Mahto", "description": "Toilet nahi mila"},
        ],
    )
    await sign_in(pages, token_of(auth_headers(engine, Role.TELECALLER)))
    desk = await pages.get("/desk")
    assert 'action="/cases" class="search" role="search"' in desk.text
    assert listed((await pages.get("/cases", params={"q": "98765 43210"})).text) == ["20983/2018"]
    assert listed((await pages.get("/cases", params={"q": "सीता"})).text) == ["20983/2018"]
    assert listed((await pages.get("/cases", params={"q": "toilet nahi"})).text) == [f"5/{year}"]
    opened = await pages.get("/cases", params={"q": "20983-2018"})
    assert opened.status_code == 303 and opened.headers["location"] == "/cases/2018/20983"


async def test_verification_calls_carry_name_phone_reply_and_attempts(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    now = utcnow()
    add_cases(
        engine,
        [
            {
                "sequence": 77,
                "status": ComplaintStatus.AWAITING_CALLBACK,
                "citizen_name": "Sunita Kumari",
                "citizen_phone": "+919000000001",
                "last_reply": "Toilet sanctioned under SBM; work order issued",
                "callback_attempts": 2,
                "callback_due_at": now - timedelta(hours=1),
            }
        ]
        + [
            {
                "sequence": 100 + i,
                "status": ComplaintStatus.AWAITING_CALLBACK,
                "callback_due_at": now + timedelta(hours=i),
            }
            for i in range(60)
        ],
    )
    await sign_in(pages, token_of(auth_headers(engine, Role.TELECALLER)))
    desk = await pages.get("/desk")
    row = desk.text.split(f'id="callback-77-{now.year}"', 1)[1].split("</tr>", 1)[0]
    assert "Sunita Kumari" in row
    assert 'href="tel:+919000000001"' in row
    assert "Toilet sanctioned under SBM; work order issued" in row
    assert "attempts so far: 2" in row
    assert "1–50 of 61" in desk.text
    second = await pages.get("/desk", params={"calls": 2})
    assert "51–61 of 61" in second.text


async def test_the_callers_history_as_the_phone_is_typed_and_without_a_script(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    year = utcnow().year
    add_cases(
        engine,
        [
            {"sequence": 31, "citizen_phone": "+919876543210", "category": "lpg_connection"},
            {"sequence": 32, "citizen_phone": "+919876543210", "status": ComplaintStatus.CLOSED},
            {"sequence": 33, "citizen_phone": "+919111111111"},
        ],
    )
    await sign_in(pages, token_of(auth_headers(engine, Role.TELECALLER)))
    desk = await pages.get("/desk")
    assert '<script src="/assets/history.js" defer></script>' in desk.text
    assert (await pages.get("/assets/history.js")).status_code == 200
    answer = await pages.post(
        "/desk/history.json", data={"csrf_token": csrf(desk), "citizen.phone": "०९८७६५ ४३२१०"}
    )
    body = answer.json()
    assert body["count"] == 2
    assert [c["registration_number"] for c in body["data"]] == [f"32/{year}", f"31/{year}"]
    assert body["data"][0]["status"] == "Closed" and body["data"][0]["href"] == f"/cases/{year}/32"
    forged = await pages.post("/desk/history.json", data={"citizen.phone": "9876543210"})
    assert forged.status_code == 403
    # Without the script: the form posted back, what was typed kept, the history beside it.
    fallback = await pages.post(
        "/desk/history",
        data={
            "csrf_token": csrf(desk),
            "citizen.phone": "9876543210",
            "citizen.name": "Ramesh Mahto",
            "description": "gas connection",
        },
    )
    assert fallback.status_code == 200
    box = fallback.text.split('id="caller-history"', 1)[1].split("</div>", 1)[0]
    assert f"31/{year}" in box and f"32/{year}" in box and f"33/{year}" not in box
    assert 'value="Ramesh Mahto"' in fallback.text


async def test_the_case_page_lists_the_citizens_other_cases(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    year = utcnow().year
    add_cases(
        engine,
        [
            {"sequence": 41, "citizen_phone": "+919876543210"},
            {"sequence": 42, "citizen_phone": "+919876543210", "repeat_contacts": 2},
            {"sequence": 43, "citizen_phone": "+919876543210", "district": "Dumka"},
        ],
    )
    await sign_in(pages, token_of(auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")))
    page = await pages.get(f"/cases/{year}/41")
    section = page.text.split('id="other-cases"', 1)[1].split("<h2>", 1)[0]
    assert f"42/{year}" in section and f"41/{year}" not in section
    assert f"43/{year}" not in section  # outside the officer's scope: not even counted
    assert '<span class="tag">1</span>' in section
    assert "Repeat calls" in (await pages.get(f"/cases/{year}/42")).text


def test_a_search_in_an_address_stays_out_of_the_logs() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '"GET /cases?q=%2B919876543210&page=2"',
        None,
        None,
    )
    RedactPhoneFilter().filter(record)
    assert record.getMessage() == '"GET /cases?q=[redacted]&page=2"'
