"""Issue 26's screens in a real browser (chromium with Playwright against the real API,
worker and dev server; the network cut as in tests/system/test_pages_browser.py): withdrawing a case
asks on a second page what will happen, and going back changes nothing; the dashboard fits a
360 px phone without sideways scrolling, in English and in Hindi, its numbers open."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, Page, ViewportSize

from harness.factories import complaint_body
from harness.processes import EmbeddedStack
from schemas.auth import Role
from tests.system.test_pages_browser import (  # noqa: F401  (fixtures)
    Offline,
    browser,
    context,
    live,
    offline,
    shot,
    sign_in,
    token,
)

NARROW = ViewportSize(width=360, height=740)


async def _registered(
    live: EmbeddedStack,  # noqa: F811  (the fixture)
    district: str = "Ranchi",
) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        created = await http.post(
            "/v1/complaints",
            json=complaint_body(citizen__district=district),
            headers=live.issue_token(Role.TELECALLER),
        )
        assert created.status_code == 201, created.text
        body = created.json()
    return str(body["year"]), str(body["sequence"])


async def _page_width(page: Page) -> int:
    width = await page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    )
    return int(width)


async def test_withdrawing_asks_first_and_going_back_changes_nothing(
    live: EmbeddedStack,  # noqa: F811
    browser: Browser,  # noqa: F811
    offline: Offline,  # noqa: F811
) -> None:
    year, sequence = await _registered(live)
    page = await (await context(browser, offline)).new_page()
    await sign_in(page, live, token(live, Role.TELECALLER), "/desk")
    case = f"{live.base_url}/cases/{year}/{sequence}"
    form = page.locator("form[action$='/withdraw']")
    for _ in range(100):  # the form is offered once the workflow has the case
        await page.goto(case)
        if await form.count():
            break
        await page.wait_for_timeout(200)
    status = await page.inner_text("#case-status")

    await page.locator("summary", has_text="Withdraw the case").click()
    await form.locator("input[name=reason]").fill("solved by the panchayat")
    await form.locator("button[type=submit]").click()
    confirm = page.locator("#confirm")
    await confirm.wait_for()
    said = await confirm.inner_text()
    assert f"{sequence}/{year}" in said and "cannot be reopened" in said
    assert "solved by the panchayat" in said and "cannot be undone" in said
    await shot(page, "17-withdraw-confirm")

    await page.click("#confirm-cancel")
    await page.wait_for_url(case)
    assert await page.inner_text("#case-status") == status  # nothing was done

    await page.locator("summary", has_text="Withdraw the case").click()
    await form.locator("input[name=reason]").fill("solved by the panchayat")
    await form.locator("button[type=submit]").click()
    await page.click("#confirm-button")
    await page.wait_for_url(re.compile(r"\?done=withdraw$"))
    assert "Withdrawn" in await page.inner_text("#case-status")


async def test_the_dashboard_fits_a_360_px_phone(
    live: EmbeddedStack,  # noqa: F811
    browser: Browser,  # noqa: F811
    offline: Offline,  # noqa: F811
) -> None:
    # The longest names on the page: districts with cases, in both languages.
    for district in ("Seraikela Kharsawan", "East Singhbhum", "West Singhbhum"):
        await _registered(live, district)
    secret = token(live, Role.REVIEWER)
    for hindi, name in ((False, "18-dashboard-360"), (True, "19-dashboard-360-hi")):
        made = await browser.new_context(
            viewport=NARROW,
            locale="hi-IN" if hindi else "en-IN",
            is_mobile=True,
            has_touch=True,
            device_scale_factor=1,
        )
        await made.route("**/*", offline)
        page = await made.new_page()
        await sign_in(page, live, secret, "/dashboard")
        assert await _page_width(page) <= 360
        # Every table of numbers open, as a reader would open them one by one.
        await page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert await _page_width(page) <= 360, "the page scrolls sideways at 360 px"
        # Each number opens the list behind it.
        total = page.locator("#open-total")
        assert (await total.get_attribute("href") or "").startswith("/cases?open_only=true")
        await shot(page, name)
        await made.close()
