"""The verification pages in a real browser (chromium with Playwright against the real API):
the dashboard's verification by channel, and the IVR calls' result in words on the desk and
the case page, in English and Hindi (screenshots in tests/screenshots/, looked at)."""

from __future__ import annotations

from playwright.async_api import Browser

from core.db import make_engine
from core.ivr_calls import record_check
from core.models import utcnow
from harness.processes import EmbeddedStack
from schemas.auth import Role
from schemas.enums import ClosureReason
from tests.api.test_verification_channels import DAY, _case, awaiting_callback_after_calls
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

SOLVED = ClosureReason.RESOLVED_VERIFIED


async def test_the_dashboard_shows_verification_by_channel(
    live: EmbeddedStack,  # noqa: F811
    browser: Browser,  # noqa: F811
    offline: Offline,  # noqa: F811
) -> None:
    engine = make_engine(live.database_url)
    now = utcnow()
    try:
        first = _case(engine, "Ranchi", now - DAY, "closed", "ivr", SOLVED, sampled_call=True)
        second = _case(engine, "Dumka", now - DAY, "closed", "ivr", SOLVED, sampled_call=True)
        _case(engine, "Dhanbad", now - 2 * DAY, "citizen_not_satisfied", "ivr")
        _case(engine, "Ranchi", now - 3 * DAY, "closed", "tc-asha", SOLVED)
        assert record_check(engine, first.registration_number, agrees=False, checked_by="p")
        assert record_check(engine, second.registration_number, agrees=True, checked_by="p")
    finally:
        engine.dispose()
    for hindi in (False, True):
        page = await (await context(browser, offline, hindi=hindi)).new_page()
        await sign_in(page, live, token(live, Role.REVIEWER), "/dashboard")
        panel = page.locator("#verification-by-channel")
        await panel.scroll_into_view_if_needed()
        ivr = panel.locator("tr[data-channel=ivr] td")
        assert await ivr.all_inner_texts() == [
            "आईवीआर कॉल" if hindi else "IVR call",
            "3",
            "2",
            "1",
            "2",
            "1",
            "50%",
        ]
        await panel.screenshot(
            path=str(shot_path(f"ivr-01-dashboard-verification{'-hi' if hindi else ''}"))
        )
        await shot(page, f"ivr-02-dashboard{'-hi' if hindi else ''}")


async def test_the_desk_and_the_case_page_say_how_the_ivr_calls_ended(
    live: EmbeddedStack,  # noqa: F811
    browser: Browser,  # noqa: F811
    offline: Offline,  # noqa: F811
) -> None:
    engine = make_engine(live.database_url)
    try:
        row = awaiting_callback_after_calls(engine, ["busy", "no_answer", "operator"])
    finally:
        engine.dispose()
    for hindi, words in ((False, "Pressed 3: asked for an operator"), (True, "3 दबाया")):
        page = await (await context(browser, offline, hindi=hindi)).new_page()
        await sign_in(page, live, token(live, Role.TELECALLER), "/desk")
        line = page.locator("div.hint.ivr").first
        await line.scroll_into_view_if_needed()
        assert words in await line.inner_text()
        await shot(page, f"ivr-03-desk{'-hi' if hindi else ''}")
        await page.goto(f"{live.base_url}/cases/{row.year}/{row.sequence}")
        summary = page.locator("#ivr-summary")
        assert words in await summary.inner_text()
        assert (await summary.inner_text()).startswith("3 · ")
        await shot(page, f"ivr-04-case{'-hi' if hindi else ''}")


def shot_path(name: str) -> object:
    from tests.system.test_pages_browser import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"
