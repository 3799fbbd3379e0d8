"""The closure on the pages: the citizen rates it on their own tracking page (phone checked,
offered once per closure within the appeal window, through the SMS digit's path, a
resubmitted form applied once); the officer sends an interim reply from the case's page,
with each refusal beside its field. Dev server, real worker, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.models import Complaint, utcnow
from core.settings import Settings
from harness.factories import auth_headers, complaint_body, eventually
from schemas.auth import Role
from schemas.calendar import IST
from tests.api.test_pages import csrf, sign_in, token_of
from tests.helpers import api_client, running_worker

PHONE = "9876543210"  # the citizen of harness.factories.complaint_body


@dataclass
class Site:
    api: httpx.AsyncClient  # every role, by token
    pages: httpx.AsyncClient  # a browser: cookies, no token
    engine: Engine


@pytest.fixture
async def site(
    dev_env: WorkflowEnvironment, any_engine: Engine, settings: Settings
) -> AsyncIterator[Site]:
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with (
        running_worker(dev_env.client, any_engine, settings),
        api_client(app) as api,
        api_client(app, authorized=False) as pages,
    ):
        pages.headers["accept-language"] = "en"
        yield Site(api, pages, any_engine)


async def _case(api: httpx.AsyncClient, reg: str) -> dict[str, Any]:
    sequence, year = reg.split("/")
    answer = await api.get(f"/v1/complaints/{year}/{sequence}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _row(engine: Engine, reg: str) -> Complaint:
    with Session(engine) as session:
        row = session.exec(select(Complaint).where(Complaint.registration_number == reg)).one()
        return row


async def _registered(api: httpx.AsyncClient) -> tuple[str, str]:
    created = await api.post("/v1/complaints", json=complaint_body())
    assert created.status_code == 201, created.text
    reg = created.json()["registration_number"]
    await eventually(lambda: _case(api, reg), lambda c: c["status"] == "awaiting_report")
    sequence, year = reg.split("/")
    return reg, f"/v1/complaints/{year}/{sequence}"


async def _track(site: Site, reg: str, phone: str = PHONE) -> httpx.Response:
    page = await site.pages.get("/track")
    return await site.pages.post(
        "/track", data={"number": reg, "phone": phone, "csrf_token": csrf(page)}
    )


def _form_token(page: httpx.Response) -> str:
    marker = 'name="rating_token" value="'
    assert marker in page.text, page.text[-3000:]
    return page.text.split(marker, 1)[1].split('"', 1)[0]


async def test_the_citizen_rates_the_closure_once_on_their_page(site: Site) -> None:
    reg, path = await _registered(site.api)
    # Open: the page offers no rating.
    assert 'id="rating-form"' not in (await _track(site, reg)).text
    report = {"outcome": "resolved", "reply": "Repaired."}
    assert (await site.api.post(f"{path}/report", json=report)).status_code == 200
    closed = await site.api.post(f"{path}/callback", json={"outcome": "satisfied"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text

    shown = await _track(site, reg)
    assert shown.status_code == 200 and 'id="rating-form"' in shown.text
    form = {
        "number": reg,
        "phone": PHONE,
        "csrf_token": csrf(shown),
        "rating_token": _form_token(shown),
    }
    # No score, or one outside 1-5: said beside the field, nothing recorded.
    for bad in ("", "9"):
        refused = await site.pages.post("/track/rating", data={**form, "score": bad})
        assert refused.status_code == 422
        assert 'id="score-error"' in refused.text and "1 (poor) to 5 (good)" in refused.text
    # Another phone: the look-up's own answer, no rating.
    stranger = await site.pages.post(
        "/track/rating", data={**form, "phone": "9123456789", "score": "4"}
    )
    assert stranger.status_code == 404
    assert all(e["event"] != "closure_rated" for e in (await _case(site.api, reg))["timeline"])

    rated = await site.pages.post("/track/rating", data={**form, "score": "4"})
    assert rated.status_code == 200, rated.text
    assert "your rating 4/5 is recorded" in rated.text
    assert 'id="rating-form"' not in rated.text and 'id="rating-recorded"' in rated.text
    # The same form again (a double click, a reload): one rating.
    again = await site.pages.post("/track/rating", data={**form, "score": "2"})
    assert again.status_code == 200 and "4/5" in again.text
    body = await _case(site.api, reg)
    rated_events = [e for e in body["timeline"] if e["event"] == "closure_rated"]
    assert len(rated_events) == 1 and rated_events[0]["channel"] == "page"
    assert body["status"] == "closed" and _row(site.engine, reg).rating == 4
    # Offered once: the page now shows the rating, not the form.
    later = await _track(site, reg)
    assert 'id="rating-form"' not in later.text and "4/5" in later.text


async def test_a_poor_rating_on_the_page_appeals_one_rung_up(site: Site) -> None:
    reg, path = await _registered(site.api)
    report = {"outcome": "resolved", "reply": "Repaired."}
    assert (await site.api.post(f"{path}/report", json=report)).status_code == 200
    assert (await site.api.post(f"{path}/callback", json={"outcome": "satisfied"})).is_success
    shown = await _track(site, reg)
    form = {
        "number": reg,
        "phone": PHONE,
        "csrf_token": csrf(shown),
        "rating_token": _form_token(shown),
        "score": "5",
        "appeal": "yes",  # an explicit appeal, whatever the score
    }
    appealed = await site.pages.post("/track/rating", data=form)
    assert appealed.status_code == 200 and "Your appeal is recorded" in appealed.text
    body = await _case(site.api, reg)
    assert body["status"] == "weekly_review"
    assert [e["channel"] for e in body["timeline"] if e["event"] == "appealed"] == ["page"]
    # Resubmitted: the first answer, no second appeal.
    again = await site.pages.post("/track/rating", data=form)
    assert again.status_code == 200
    assert _row(site.engine, reg).appeals == 1


async def test_the_officer_sends_an_interim_reply_from_the_case_page(site: Site) -> None:
    reg, _path = await _registered(site.api)
    sequence, year = reg.split("/")
    officer = token_of(auth_headers(site.engine, Role.NODAL_OFFICER, district="Ranchi"))
    await sign_in(site.pages, officer)
    page = await site.pages.get(f"/cases/{year}/{sequence}")
    assert page.status_code == 200 and 'id="interim-form"' in page.text
    action = f"/cases/{year}/{sequence}/interim-reply"
    token = csrf(page)
    # Nothing filled in: each field says so.
    empty = await site.pages.post(action, data={"csrf_token": token})
    assert empty.status_code == 422
    for name in ("interim_reason", "interim_text", "interim_expected_by"):
        assert f'<p class="field-error" id="{name}-error">Required.</p>' in empty.text, name
    # A reason not on the state's list, a date in the past: beside those fields.
    ahead = (utcnow() + timedelta(days=5)).astimezone(IST).strftime("%Y-%m-%dT%H:%M")
    unlisted = await site.pages.post(
        action,
        data={
            "csrf_token": token,
            "interim_reason": "no_staff",
            "interim_text": "Awaiting the tender.",
            "interim_expected_by": ahead,
        },
    )
    assert unlisted.status_code == 422 and 'id="interim_reason-error"' in unlisted.text
    assert 'value="Awaiting the tender."' not in unlisted.text  # a textarea keeps it inside
    assert "Awaiting the tender.</textarea>" in unlisted.text
    past = await site.pages.post(
        action,
        data={
            "csrf_token": token,
            "interim_reason": "awaiting_funds",
            "interim_text": "Awaiting the funds.",
            "interim_expected_by": "2020-01-01T10:00",
        },
    )
    assert past.status_code == 409 and 'id="interim_expected_by-error"' in past.text
    assert _row(site.engine, reg).interim_replies == 0

    sent = await site.pages.post(
        action,
        data={
            "csrf_token": token,
            "idempotency_key": "interim-form-1",
            "interim_reason": "awaiting_funds",
            "interim_text": "Awaiting the funds.",
            "interim_expected_by": ahead,
        },
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("done=interim_reply")
    assert _row(site.engine, reg).interim_replies == 1
    body = await _case(site.api, reg)
    assert [e["event"] for e in body["timeline"]].count("interim_reply") == 1
