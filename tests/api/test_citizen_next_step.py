"""The citizen's page tells the truth and the next step, on SQLite and
PostgreSQL with the real worker and dev server: a department's reply followed by "not
satisfied" is still the latest answer (not "no answer yet"), and a closed case says it can be
reopened until a date from the case's own recorded policy (not today's settings, not "ask for
a review")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from babel.dates import format_date
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.settings import Settings
from harness.factories import complaint_body, eventually
from schemas.calendar import IST
from schemas.policy import Policy
from tests.api.test_pages import csrf
from tests.helpers import api_client, running_worker
from tests.lifecycle_helpers import open_case

REPLY = "Toilet constructed under SBM-G on 2 December"
PHONE = complaint_body()["citizen"]["phone"]
# Not the centre's 15 days: what the page says must come from the case itself.
CASE_POLICY = Policy(working_day_ends=None, reopen_window=timedelta(days=9))


@pytest.fixture
async def live(
    dev_env: WorkflowEnvironment, any_engine: Engine, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, Engine, Settings]]:
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with running_worker(dev_env.client, any_engine, settings), api_client(app) as http:
        yield http, any_engine, settings


async def _replied(http: httpx.AsyncClient, engine: Engine, settings: Settings, client: Any) -> str:
    handle = await open_case(client, engine, settings, policy=CASE_POLICY)
    sequence, year = handle.id.rsplit("-", 2)[-1], handle.id.rsplit("-", 2)[-2]
    path = f"/v1/complaints/{year}/{sequence}"

    async def status() -> str:
        return str((await http.get(path)).json().get("status"))

    await eventually(status, lambda s: s == "awaiting_report")
    answer = await http.post(f"{path}/report", json={"outcome": "resolved", "reply": REPLY})
    assert answer.status_code == 200, answer.text
    return path


async def _page(http: httpx.AsyncClient, path: str) -> str:
    form = await http.get("/track", headers={"accept-language": "en"})
    number = "/".join(reversed(path.split("/")[-2:]))
    found = await http.post(
        "/track",
        data={"number": number, "phone": PHONE, "csrf_token": csrf(form)},
        headers={"accept-language": "en"},
    )
    assert found.status_code == 200, found.text
    return found.text


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found is not None, html
    return found.group(1).strip()


async def test_a_reply_the_citizen_rejected_is_still_the_latest_answer(
    live: tuple[httpx.AsyncClient, Engine, Settings], dev_env: WorkflowEnvironment
) -> None:
    http, engine, settings = live
    path = await _replied(http, engine, settings, dev_env.client)
    unhappy = await http.post(
        f"{path}/callback", json={"outcome": "not_satisfied", "remark": "no door"}
    )
    assert unhappy.status_code == 200, unhappy.text
    assert unhappy.json()["status"] not in ("awaiting_callback", "closed")
    page = await _page(http, path)
    assert _text(page, "latest-answer") == REPLY
    assert "No answer yet" not in page
    tracked = await http.get(
        path.replace("/complaints/", "/track/"), headers={"X-Citizen-Phone": PHONE}
    )
    assert tracked.json()["last_reply"] == REPLY


async def test_a_closed_case_says_until_when_it_can_be_reopened(
    live: tuple[httpx.AsyncClient, Engine, Settings], dev_env: WorkflowEnvironment
) -> None:
    http, engine, settings = live
    path = await _replied(http, engine, settings, dev_env.client)
    closed = await http.post(f"{path}/callback", json={"outcome": "satisfied"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    tracked = (
        await http.get(path.replace("/complaints/", "/track/"), headers={"X-Citizen-Phone": PHONE})
    ).json()
    closed_at = datetime.fromisoformat(tracked["closed_at"])
    assert tracked["reopen_days"] == 9
    assert datetime.fromisoformat(tracked["reopen_until"]) == closed_at + timedelta(days=9)
    page = await _page(http, path)
    step = _text(page, "next-step")
    until = format_date((closed_at + timedelta(days=9)).astimezone(IST), "d MMM y", locale="en")
    assert "reopen" in step and until in step and "9 days" in step, step
    assert "ask for a review" not in step
    # No deadline now, and no word that the case is finished beside the offer to reopen it.
    assert "None: the case is closed" in page and "the case is finished" not in page
    assert _text(page, "latest-answer") == REPLY
