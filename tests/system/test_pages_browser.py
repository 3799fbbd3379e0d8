"""The pages in a real browser: Debian's chromium driven by Playwright, against the
real API, worker and Temporal dev server as separate processes (harness/processes.py).

With the network cut — every request to a host other than the API's is aborted and recorded,
and none may be made — a telecaller registers a case (a Hindi district name, a mistake first)
and a nodal officer of Ranchi reports on it on a phone in Hindi; the telecaller records "not
satisfied" from the callback work list; a reviewer decides it at the weekly review, closes the
session and downloads the minutes; the dashboard shows the data; a citizen tracks the case in
Hindi on a phone; /docs and /redoc render. Screenshots of each page go to SCREENSHOT_DIR
(default tests/screenshots/, not committed) at 1366×768 and at phone width.

Chromium is required in CI (`make test` installs it with apt-get); elsewhere its absence skips
this module with a notice.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    ViewportSize,
    async_playwright,
)
from temporalio.service import RPCError

from core.auth import create_user
from core.db import make_engine
from core.models import utcnow
from core.temporal import connect
from harness.processes import EmbeddedStack
from schemas.auth import Role
from schemas.calendar import IST, SessionKind
from schemas.review import ReviewSessionInput
from tests.helpers import IN_CI
from tests.paths import TESTS
from workflows.review import ReviewSessionWorkflow, session_workflow_id

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", TESTS / "screenshots"))
DESKTOP = ViewportSize(width=1366, height=768)
PHONE = ViewportSize(width=390, height=844)


def _chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found is None:
        message = "chromium is not installed (apt-get install chromium; make test does it)"
        if IN_CI:
            pytest.fail(f"browser tests are required in CI: {message}")
        pytest.skip(f"NOTICE: browser tests skipped: {message}")
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    _chromium()
    with EmbeddedStack(tmp_path_factory.mktemp("pages")) as stack:
        stack.healthy()
        yield stack


@pytest.fixture(scope="module")
async def browser(live: EmbeddedStack) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


class Offline:
    """Cuts a browser context off from every host but the API: such requests are aborted and
    remembered (a page that needs one would show it broken, and the test fails)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.refused: list[str] = []

    async def __call__(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            self.refused.append(url)
            await route.abort("internetdisconnected")


@pytest.fixture
async def offline(live: EmbeddedStack) -> AsyncIterator[Offline]:
    cut = Offline(live.base_url)
    yield cut
    assert cut.refused == [], "pages asked for something beyond the API"


async def context(
    browser: Browser, offline: Offline, *, phone: bool = False, hindi: bool = False
) -> BrowserContext:
    made = await browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        locale="hi-IN" if hindi else "en-IN",
        accept_downloads=True,
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=1,
    )
    await made.route("**/*", offline)
    return made


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    # DOCS_SCREENSHOTS=docs/screenshots: the pictures of docs/pages.md (the first screenful, JPEG).
    docs = os.environ.get("DOCS_SCREENSHOTS")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(docs) / f"{name}.jpg"), type="jpeg", quality=70)


def token(live: EmbeddedStack, *roles: Role, district: str | None = None) -> str:
    engine = make_engine(live.database_url)
    try:
        _user, secret = create_user(
            engine,
            name=f"{roles[0].value}-{os.urandom(3).hex()}",
            roles=list(roles),
            district=district,
            created_by="tests.browser",
        )
    finally:
        engine.dispose()
    return secret


async def sign_in(page: Page, live: EmbeddedStack, secret: str, path: str) -> None:
    await page.goto(f"{live.base_url}{path}")
    assert "/sign-in" in page.url
    await page.fill("#token", secret)
    await page.click("form[action='/sign-in'] button[type=submit]")
    await page.wait_for_url(f"{live.base_url}{path}")


STATE: dict[str, Any] = {}


async def test_a_telecaller_registers_an_officer_reports_and_the_callback_is_recorded(
    live: EmbeddedStack, browser: Browser, offline: Offline
) -> None:
    desk = await (await context(browser, offline)).new_page()
    await desk.goto(f"{live.base_url}/desk")
    await shot(desk, "01-sign-in")
    await sign_in(desk, live, token(live, Role.TELECALLER), "/desk")

    await desk.fill("#citizen-name", "Ramesh Mahto")
    await desk.fill("#citizen-phone", "98765 4321")  # one digit short
    await desk.fill("#citizen-address", "Village Barwadih, Block Kanke")
    await desk.fill("#citizen-district", "रांची")
    await desk.fill("#citizen-pincode", "834006")
    await desk.select_option("#category", "sanitation")
    await desk.fill("#description", "गाँव में कुछ लोगों को शौचालय मिला, मुझे अभी तक नहीं मिला।")
    await desk.click("#register button[type=submit]")
    error = desk.locator("#citizen-phone-error")
    await error.wait_for()
    assert "mobile" in (await error.inner_text())
    assert await desk.input_value("#citizen-name") == "Ramesh Mahto"  # kept
    await shot(desk, "02-desk-validation")

    await desk.fill("#citizen-phone", "98765 43210")
    await desk.click("#register button[type=submit]")
    number = desk.locator("#registration-number")
    await number.wait_for()
    registration = (await number.inner_text()).strip()
    assert re.fullmatch(r"\d+/\d{4}", registration)
    STATE["registration"] = registration
    sequence, year = registration.split("/")
    await shot(desk, "03-registered")

    # Another district's case, registered through the API.
    async with httpx.AsyncClient(base_url=live.base_url) as api:
        other = await api.post(
            "/v1/complaints",
            headers={"Authorization": f"Bearer {token(live, Role.TELECALLER)}"},
            json={
                "kind": "complaint",
                "channel": "web",
                "citizen": {
                    "name": "Sita Devi",
                    "phone": "9123456789",
                    "address": "Jharia",
                    "district": "Dhanbad",
                },
                "category": "lpg_connection",
                "description": "Ujjwala gas connection not given",
            },
        )
    assert other.status_code in (201, 202), other.text
    elsewhere = other.json()["registration_number"]

    # The Ranchi nodal officer, on a phone, in Hindi: their district's case, not Dhanbad's.
    officer_context = await context(browser, offline, phone=True, hindi=True)
    inbox = await officer_context.new_page()
    await sign_in(inbox, live, token(live, Role.NODAL_OFFICER, district="Ranchi"), "/inbox")
    assert await inbox.locator("html").get_attribute("lang") == "hi"
    await inbox.get_by_role("link", name=registration).wait_for()
    assert elsewhere not in await inbox.inner_text("main")
    other_sequence, other_year = elsewhere.split("/")
    hidden = await inbox.goto(f"{live.base_url}/cases/{other_year}/{other_sequence}")
    assert hidden is not None and hidden.status == 404
    assert "Sita" not in await inbox.inner_text("main")
    await inbox.goto(f"{live.base_url}/inbox")
    await shot(inbox, "04-inbox-phone-hi")
    await inbox.get_by_role("link", name=registration).click()
    report = inbox.locator("form[action$='/report']")
    for _ in range(100):  # forwarded by its workflow within moments of registration
        if await report.count():
            break
        await inbox.wait_for_timeout(200)
        await inbox.reload()
    await inbox.select_option("#outcome", "resolved")
    await inbox.fill("#reply", "शौचालय निर्माण स्वीकृत, 2 दिसंबर तक पूरा होगा")
    await shot(inbox, "05-case-report-phone-hi")
    await report.locator("button[type=submit]").click()
    await inbox.wait_for_url(re.compile(r"/inbox\?done="))
    await officer_context.close()

    # Back at the desk: the verification call, one click.
    await desk.goto(f"{live.base_url}/desk")
    row = desk.locator(f"#callback-{sequence}-{year}")
    await row.wait_for()
    await shot(desk, "06-desk-callbacks")
    await row.locator("input[name=remark]").fill("only half built")
    await row.get_by_role("button", name="Not satisfied").click()
    await desk.wait_for_url(re.compile(r"/desk\?done=callback"))
    assert await desk.locator(f"#callback-{sequence}-{year}").count() == 0
    await desk.goto(f"{live.base_url}/cases/{year}/{sequence}")
    assert "weekly review" in (await desk.locator("#case-status").inner_text()).lower()
    await shot(desk, "07-case-escalated")


async def test_a_reviewer_decides_closes_and_downloads_the_minutes(
    live: EmbeddedStack, browser: Browser, offline: Offline
) -> None:
    registration = STATE["registration"]
    sequence, year = registration.split("/")
    reviewer_token = token(live, Role.REVIEWER)
    async with httpx.AsyncClient(base_url=live.base_url) as api:
        answer = await api.get(
            f"/v1/complaints/{year}/{sequence}",
            headers={"Authorization": f"Bearer {reviewer_token}"},
        )
    case = answer.json()
    starts = datetime.fromisoformat(case["review_date"])
    day = starts.astimezone(IST).date().isoformat()
    # The session as it stands on the day, its cutoff passed: the worker's planner opened it
    # at start-up with the real cutoff (Monday 18:00), which this test cannot wait for.
    client = await connect(live.settings)
    sid = f"weekly-review-{day}"
    workflow_id = session_workflow_id(live.env["WORKFLOW_ID_PREFIX"], sid)
    try:
        await client.get_workflow_handle(workflow_id).terminate("reopened with its cutoff passed")
    except RPCError:
        pass  # not opened by the planner (yet)
    await client.start_workflow(
        ReviewSessionWorkflow.run,
        ReviewSessionInput(
            kind=SessionKind.WEEKLY_REVIEW,
            session_id=sid,
            starts_at=starts,
            cutoff_at=utcnow() - timedelta(minutes=1),
        ),
        id=workflow_id,
        task_queue=live.env["TEMPORAL_TASK_QUEUE"],
    )

    page = await (await context(browser, offline)).new_page()
    await sign_in(page, live, reviewer_token, "/review-room")
    await shot(page, "08-review-room")
    agenda = f"{live.base_url}/review-room/weekly_review/{day}"
    item = page.locator(f"#case-{sequence}-{year}")
    for _ in range(100):  # the agenda freezes as soon as the session's workflow runs
        await page.goto(agenda)
        if await item.locator("form.decision").count():
            break
        await page.wait_for_timeout(200)
    form = item.locator("form.decision")
    deadline = (datetime.now(IST) + timedelta(days=10)).strftime("%Y-%m-%dT17:00")
    await form.locator("select[name=responsible_officer_id]").select_option("nodal-district-ranchi")
    await form.locator("input[name=new_deadline]").fill(deadline)
    await form.locator("textarea[name=text]").fill("BDO Kanke to complete the toilet")
    await shot(page, "09-review-agenda")
    await form.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile(r"\?done="))
    assert "BDO Kanke" in await item.inner_text()

    # Closing is irreversible: a second page says what will happen, then it is done.
    await page.click("form[action$='/close'] button")
    await page.locator("#confirm").wait_for()
    assert "roll over" in await page.inner_text("#confirm")
    await shot(page, "10a-close-confirm")
    await page.click("#confirm-button")
    await page.wait_for_url(re.compile(r"/minutes$"))
    assert "BDO Kanke to complete the toilet" in await page.inner_text("table")
    await shot(page, "10-minutes")
    async with page.expect_download() as download_info:
        await page.click("a[href$='minutes.csv']")
    download = await download_info.value
    raw = Path(await download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["Number"], r["Outcome"]) for r in rows] == [(registration, "Directive")]
    await page.goto(f"{agenda}/minutes?print=1")
    assert not await page.locator("header.top").is_visible()
    await shot(page, "11-minutes-printable")

    # The case is back with the officer, with the directive's deadline.
    await page.goto(f"{live.base_url}/cases/{year}/{sequence}")
    assert "directive_given" not in await page.inner_text("ol.timeline")  # shown in words
    assert "Directive" in await page.inner_text("ol.timeline")


async def test_the_dashboard_renders_its_charts_with_their_numbers(
    live: EmbeddedStack, browser: Browser, offline: Offline
) -> None:
    secret = token(live, Role.ADMINISTRATOR)
    for phone, hindi, name in (
        (False, False, "12-dashboard"),
        (True, True, "13-dashboard-phone-hi"),
    ):
        page = await (await context(browser, offline, phone=phone, hindi=hindi)).new_page()
        await sign_in(page, live, secret, "/dashboard")
        assert await page.locator("figure").count() == 4
        assert await page.locator("figure svg").count() >= 3  # the ranking's once scored
        assert int(await page.inner_text("#open-total")) >= 1
        by_district = page.locator("#table-by-district")
        await page.locator("details summary").first.click()
        assert (
            "Ranchi" in await by_district.inner_text() or "रांची" in await by_district.inner_text()
        )
        assert await page.locator("#table-ranking tbody tr").count() == 24
        await shot(page, name)


async def test_a_citizen_tracks_the_case_in_hindi_on_a_phone(
    live: EmbeddedStack, browser: Browser, offline: Offline
) -> None:
    page = await (await context(browser, offline, phone=True, hindi=True)).new_page()
    await page.goto(f"{live.base_url}/track")
    assert await page.locator("html").get_attribute("lang") == "hi"
    await page.fill("#number", STATE["registration"])
    await page.fill("#phone", "09876543210")
    await page.click("form[action='/track'] button[type=submit]")
    status = page.locator(".result .status")
    await status.wait_for()
    assert "कार्रवाई हेतु विभाग के पास" in await status.inner_text()
    await shot(page, "14-track-phone-hi")
    # Switch to English and back: the language is the reader's choice.
    await page.click("a.lang")
    assert await page.locator("html").get_attribute("lang") == "en"


async def test_docs_and_redoc_render_without_internet(
    live: EmbeddedStack, browser: Browser, offline: Offline
) -> None:
    page = await (await context(browser, offline)).new_page()
    await page.goto(f"{live.base_url}/docs")
    await page.locator(".swagger-ui .info .title").wait_for()
    await page.get_by_text("/v1/complaints", exact=False).first.wait_for()
    await shot(page, "15-docs")
    await page.goto(f"{live.base_url}/redoc")
    await page.locator("text=Jan Samvad").first.wait_for()
    await page.locator("[data-section-id]").first.wait_for()
    await shot(page, "16-redoc")


async def test_the_engineer_opens_the_temporal_ui_decoded(
    live: EmbeddedStack, browser: Browser, offline: Offline
) -> None:
    made = await context(browser, offline)
    # The UI on the API's host (the API process's PUBLIC_BASE_URL is 127.0.0.1:port): the dev
    # server's UI is not started here, so the browser is answered for it.
    ui = f"http://127.0.0.1:{live.settings.temporal_ui_port}"
    reached: list[str] = []

    async def temporal_ui(route: Route) -> None:
        reached.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<p>Temporal UI</p>")

    await made.route(f"{ui}/**", temporal_ui)
    page = await made.new_page()
    await sign_in(page, live, token(live, Role.ENGINEER), "/engineer")
    await shot(page, "17-engineer")
    await page.fill("#workflow-id", "complaint-2026-1")
    await page.click("form[action='/engineer/temporal-ui'] button[type=submit]")
    await page.wait_for_url(f"{ui}/namespaces/default/workflows/complaint-2026-1")
    assert reached == [f"{ui}/namespaces/default/workflows/complaint-2026-1"]
    codec = [c for c in await made.cookies() if c["name"] == "jan_samvad_codec"]
    assert codec and codec[0]["path"] == "/v1/codec" and codec[0]["httpOnly"]
    # The UI the page links to is the origin the codec answers (its port moved together).
    async with httpx.AsyncClient() as client:
        preflight = await client.options(
            f"{live.base_url}/v1/codec/decode",
            headers={"Origin": ui, "Access-Control-Request-Method": "POST"},
        )
    assert preflight.headers.get("access-control-allow-origin") == ui
