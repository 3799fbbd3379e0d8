"""The lists in a real browser (Debian's chromium, Playwright; the real API, worker and
Temporal dev server as processes; no network beyond the API): an officer holding 600 cases
sees the oldest overdue first and pages to the last; the header's search box finds a case by
the caller's phone; the desk shows the caller's earlier complaints as the phone is typed
(static/history.js). Screenshots to SCREENSHOT_DIR (tests/system/test_pages_browser.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from playwright.async_api import Browser
from sqlmodel import Session

from core.db import make_engine
from core.models import Complaint, utcnow
from harness.processes import EmbeddedStack
from schemas.auth import Role
from schemas.enums import Channel, ComplaintKind, ComplaintStatus
from tests.system import test_pages_browser as pages_browser
from tests.system.test_pages_browser import PHONE, Offline, context, shot, sign_in, token

# The browser module's fixtures (its own stack and browser, for this module).
live = pages_browser.live
browser = pages_browser.browser
offline = pages_browser.offline

CASES = 600


def _fill(live: EmbeddedStack) -> tuple[str, str]:
    """600 open cases of Dumka: deadlines an hour apart from 300 hours ago, the longest
    overdue registered last (a list of the newest would lose it). Returns the registration
    numbers that must come first and last."""
    now = utcnow()
    year = now.year
    engine = make_engine(live.database_url)
    rows = []
    for i in range(CASES):
        sequence = 500_000 + i
        rows.append(
            Complaint(
                year=year,
                sequence=sequence,
                registration_number=f"{sequence}/{year}",
                workflow_id=f"browser-list-{uuid.uuid4().hex}",
                kind=ComplaintKind.COMPLAINT,
                channel=Channel.CALL_CENTRE,
                citizen_name="Birsa Oraon" if i == 7 else "Sita Devi",
                citizen_phone="+919000012345" if i == 7 else "+919876500000",
                citizen_address="Ward 4",
                district="Dumka",
                language="hi",
                category="sanitation",
                description="शौचालय नहीं मिला",
                status=ComplaintStatus.AWAITING_REPORT,
                # i = 599 is the longest overdue; i = 0 the furthest deadline.
                next_deadline=now - timedelta(hours=i - 300),
                request_fingerprint="browser",
                # Not the reconciler's to start: these cases live in the read model alone.
                workflow_started_at=now,
                created_at=now - timedelta(minutes=CASES - i),
                updated_at=now,
            )
        )
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
    engine.dispose()
    return f"{500_000 + CASES - 1}/{year}", f"{500_000}/{year}"


async def test_an_officer_with_600_cases_sees_the_oldest_overdue_first_and_pages_to_the_last(
    live: EmbeddedStack, browser: Browser, offline: Offline
) -> None:
    oldest, last = _fill(live)
    page = await (await context(browser, offline)).new_page()
    await sign_in(page, live, token(live, Role.NODAL_OFFICER, district="Dumka"), "/inbox")
    assert (await page.inner_text("#total")).strip() == str(CASES)
    first_row = page.locator("#cases tbody tr").first
    assert oldest in await first_row.inner_text()
    assert "overdue" in await first_row.inner_text()
    assert "1–50 of 600" in await page.inner_text("nav.pager >> nth=0")
    await shot(page, "lists-1-inbox-first-page")
    # Page by page to the last through "Next", every row seen once.
    seen: list[str] = []
    for number in range(1, 13):
        rows = page.locator("#cases tbody tr td:first-child a")
        seen += [text.strip() for text in await rows.all_inner_texts()]
        if number < 12:
            await page.locator("nav.pager >> nth=0").locator("a[rel=next]").click()
            await page.wait_for_url(f"**page={number + 1}")
    assert len(seen) == len(set(seen)) == CASES
    assert seen[0] == oldest and seen[-1] == last
    assert "551–600 of 600" in await page.inner_text("nav.pager >> nth=0")
    assert await page.locator("a[rel=next]").count() == 0
    await shot(page, "lists-2-inbox-last-page")

    # The header's search box: the caller's phone, typed as people write it.
    await page.fill("form.search input[name=q]", "90000 12345")
    await page.click("form.search button")
    await page.wait_for_url("**/cases?q=*")
    found = page.locator("#cases tbody tr")
    assert await found.count() == 1
    assert f"{500_007}/" in await found.first.inner_text()
    await shot(page, "lists-3-search-by-phone")

    phone = await (await context(browser, offline, phone=True)).new_page()
    await sign_in(phone, live, token(live, Role.NODAL_OFFICER, district="Dumka"), "/inbox")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    await shot(phone, "lists-4-inbox-phone")


async def test_the_desk_shows_the_callers_earlier_complaints_as_the_phone_is_typed(
    live: EmbeddedStack, browser: Browser, offline: Offline
) -> None:
    page = await (await context(browser, offline)).new_page()
    await sign_in(page, live, token(live, Role.TELECALLER), "/desk")
    assert await page.locator("#history-button").is_hidden()  # the script shows it instead
    await page.type("#citizen-phone", "+91 90000 12345")
    item = page.locator("#caller-history li")
    await item.first.wait_for()
    assert f"{500_007}/" in await item.first.inner_text()
    await shot(page, "lists-5-desk-caller-history")
