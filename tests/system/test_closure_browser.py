"""The closure's screens in a real browser (chromium with Playwright against the real API,
worker and dev server, the network cut): the citizen rates the closure on their page (in
Hindi, on a phone); the officer's interim-reply form says what is wrong beside each field;
the monthly grading, its printable page and the dashboard's panel."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, Page

from core.db import make_engine
from harness.factories import complaint_body, eventually
from harness.processes import EmbeddedStack
from schemas.auth import Role
from tests.api.test_grading import dhanbad_cases, dumka_cases, put, ranchi_cases
from tests.system.test_pages_browser import (  # noqa: F401  (fixtures)
    SHOTS,
    Offline,
    browser,
    context,
    live,
    offline,
    shot,
    sign_in,
    token,
)


async def _api(live: EmbeddedStack, method: str, path: str, role: Role, **body: object) -> dict:  # noqa: F811
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        answer = await http.request(method, path, json=body or None, headers=live.issue_token(role))
        assert answer.is_success, answer.text
        found: dict = answer.json()
        return found


async def _registered(live: EmbeddedStack) -> tuple[str, str, str]:  # noqa: F811
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        created = await http.post(
            "/v1/complaints", json=complaint_body(), headers=live.issue_token(Role.TELECALLER)
        )
        assert created.status_code == 201, created.text
        body = created.json()
    return body["registration_number"], str(body["year"]), str(body["sequence"])


async def _with_officer(live: EmbeddedStack) -> tuple[str, str]:  # noqa: F811
    """A case registered and forwarded to its officer: its number and API path."""
    reg, year, sequence = await _registered(live)
    path = f"/v1/complaints/{year}/{sequence}"
    await eventually(
        lambda: _api(live, "GET", path, Role.REVIEWER),
        lambda case: case["status"] == "awaiting_report",
    )
    return reg, path


async def _until(page: Page, url: str, selector: str) -> None:
    for _ in range(100):  # the workflow takes the case within moments
        await page.goto(url)
        if await page.locator(selector).count():
            return
        await page.wait_for_timeout(200)
    raise AssertionError(f"{selector} never appeared on {url}")


async def test_the_citizen_rates_the_closure_on_a_phone_in_hindi(
    live: EmbeddedStack,  # noqa: F811
    browser: Browser,  # noqa: F811
    offline: Offline,  # noqa: F811
) -> None:
    reg, path = await _with_officer(live)
    await _api(live, "POST", f"{path}/report", Role.NODAL_OFFICER, outcome="resolved",
               reply="शौचालय बन गया।")  # fmt: skip
    closed = await _api(live, "POST", f"{path}/callback", Role.TELECALLER, outcome="satisfied")
    assert closed["status"] == "closed"

    page = await (await context(browser, offline, phone=True, hindi=True)).new_page()
    await page.goto(f"{live.base_url}/track")
    await page.fill("#number", reg)
    await page.fill("#phone", "98765 43210")
    await page.click("form[action='/track'] button[type=submit]")
    form = page.locator("#rating-form")
    await form.wait_for()
    await shot(page, "closure-1-track-rating-form-phone-hi")
    await form.locator("button[type=submit]").click()  # no score chosen
    await page.locator("#score-error").wait_for()
    await shot(page, "closure-2-track-rating-error-phone-hi")
    await page.locator("#rating-form input[name=score][value='4']").check()
    await page.locator("#rating-form button[type=submit]").click()
    await page.locator("#rating-notice").wait_for()
    assert "4/5" in await page.inner_text("#rating-notice")
    assert await page.locator("#rating-form").count() == 0
    await shot(page, "closure-3-track-rated-phone-hi")


async def test_the_interim_reply_form_says_what_is_wrong_beside_each_field(
    live: EmbeddedStack,  # noqa: F811
    browser: Browser,  # noqa: F811
    offline: Offline,  # noqa: F811
) -> None:
    _reg, year, sequence = await _registered(live)
    page = await (await context(browser, offline)).new_page()
    case = f"/cases/{year}/{sequence}"
    await sign_in(page, live, token(live, Role.NODAL_OFFICER, district="Ranchi"), case)
    await _until(page, f"{live.base_url}{case}", "#interim-form")
    form = page.locator("#interim-form")
    await form.locator("#interim_text").fill("Awaiting the funds from the block office.")
    await form.locator("#interim_expected_by").fill("2020-01-01T10:00")
    await form.locator("button[type=submit]").click()
    await page.locator("#interim_reason-error").wait_for()
    await page.locator("#interim-form").scroll_into_view_if_needed()
    await shot(page, "closure-4-interim-reply-errors")
    await page.select_option("#interim_reason", "awaiting_funds")
    await page.locator("#interim-form button[type=submit]").click()
    await page.locator("#interim_expected_by-error").wait_for()
    assert "future" in await page.inner_text("#interim_expected_by-error")
    await page.fill("#interim_expected_by", "2099-01-01T10:00")
    await page.locator("#interim-form button[type=submit]").click()
    await page.wait_for_url(f"{live.base_url}{case}?done=interim_reply")
    assert "Interim reply sent" in await page.inner_text(".timeline")
    await shot(page, "closure-5-interim-reply-sent")


async def test_the_grading_its_printable_page_and_the_dashboard_panel(
    live: EmbeddedStack,  # noqa: F811
    browser: Browser,  # noqa: F811
    offline: Offline,  # noqa: F811
) -> None:
    engine = make_engine(live.database_url)
    try:
        for case in ranchi_cases() + dhanbad_cases() + dumka_cases():
            put(engine, case)
    finally:
        engine.dispose()
    page = await (await context(browser, offline)).new_page()
    await sign_in(page, live, token(live, Role.REVIEWER), "/dashboard")
    panel = page.locator("#grading-panel")
    await panel.scroll_into_view_if_needed()
    await panel.screenshot(path=str(_shots() / "closure-6-dashboard-grading-panel.png"))
    await page.goto(f"{live.base_url}/grading?month=2026-11")
    rows = page.locator("#table-grading tbody tr")
    assert await rows.count() == 3
    assert "67.1" in await rows.nth(1).inner_text()
    await shot(page, "closure-7-grading-officers")
    await page.goto(f"{live.base_url}/grading?month=2026-11&by=department&print=1")
    await page.locator("#grading-signatures").wait_for()
    assert await page.locator("#grading-filters").is_hidden()
    await shot(page, "closure-8-grading-print")
    await page.emulate_media(media="print")
    await page.pdf(path=str(_shots() / "closure-8-grading-print.pdf"), format="A4")


def _shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_the_agenda_lists_interim_replies_and_extension_requests_apart(
    live: EmbeddedStack,  # noqa: F811
    browser: Browser,  # noqa: F811
    offline: Offline,  # noqa: F811
) -> None:
    reg, path = await _with_officer(live)
    await _api(live, "POST", f"{path}/interim-reply", Role.NODAL_OFFICER, reason="awaiting_funds",
               text="Funds from the block office are awaited.",
               expected_by="2099-01-01T10:00:00+05:30")  # fmt: skip
    # Bounced between offices once too often: on to the next weekly review, the interim
    # reply's extension request with it.
    for district in ("Dhanbad", "Bokaro", "Ranchi"):
        await _api(live, "POST", f"{path}/report", Role.NODAL_OFFICER, outcome="transferred",
                   reply="Not ours.", transfer_to_district=district)  # fmt: skip
    case = await _api(live, "GET", path, Role.REVIEWER)
    assert case["status"] == "weekly_review", case["status"]
    day = case["review_date"][:10]
    page = await (await context(browser, offline)).new_page()
    agenda = f"/review-room/weekly_review/{day}"
    await sign_in(page, live, token(live, Role.REVIEWER), agenda)
    section = page.locator("#agenda-extensions")
    await section.wait_for()
    said = await section.inner_text()
    assert reg in said and "1 Jan 2099" in said
    await section.scroll_into_view_if_needed()
    await shot(page, "closure-9-agenda-extensions")
