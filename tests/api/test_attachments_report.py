"""The officer's action-taken report (ATR): where the policy asks for proof, a `resolved`
report needs an ATR file attached first (422 naming `attachments`); the report form takes the
photos and documents with the report; the case page shows the files as thumbnails, served to
signed-in readers only. Real worker, dev server, clamd; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.settings import Settings
from harness.attachments import pdf, photo
from harness.factories import auth_headers, complaint_body, eventually
from schemas.auth import Role
from tests.api.test_pages import csrf, sign_in, token_of
from tests.helpers import api_client, running_worker


@pytest.fixture
async def proof_stack(
    attachment_settings: Settings,
    any_engine: Engine,
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    """API + worker + dev server, with a policy that wants proof for resolved sanitation
    cases."""
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"proof_required_for_resolved": ["sanitation"]}))
    attachment_settings.policy_file = policy
    app = create_app(attachment_settings, engine=any_engine, client=dev_env.client)
    async with (
        running_worker(dev_env.client, any_engine, attachment_settings),
        api_client(app, authorized=False) as http,
    ):
        http.headers["accept-language"] = "en"
        yield http


async def registered(http: httpx.AsyncClient, engine: Engine) -> tuple[str, dict[str, str]]:
    telecaller = auth_headers(engine, Role.TELECALLER)
    created = await http.post("/v1/complaints", json=complaint_body(), headers=telecaller)
    assert created.status_code == 201, created.text
    path: str = created.json()["links"]["self"]

    async def case() -> dict[str, Any]:
        answer: dict[str, Any] = (await http.get(path, headers=telecaller)).json()
        return answer

    await eventually(case, lambda c: c["status"] == "awaiting_report")
    return path, telecaller


async def test_a_resolved_report_needs_its_action_taken_report(
    proof_stack: httpx.AsyncClient, any_engine: Engine
) -> None:
    http = proof_stack
    path, telecaller = await registered(http, any_engine)
    nodal = auth_headers(any_engine, Role.NODAL_OFFICER, district="Ranchi")
    report = {"outcome": "resolved", "reply": "Toilet built under SBM"}
    refused = await http.post(f"{path}/report", json=report, headers=nodal)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["attachments"]
    assert "action-taken report" in refused.json()["detail"]
    # The citizen's evidence is not the officer's proof.
    evidence = await http.post(
        f"{path}/attachments",
        files={"file": ("before.jpg", photo(seed=1), "image/jpeg")},
        headers=telecaller,
    )
    assert evidence.status_code == 201
    assert (await http.post(f"{path}/report", json=report, headers=nodal)).status_code == 422
    # Other outcomes need no proof: only `resolved` claims the work was done.
    proof = await http.post(
        f"{path}/attachments",
        files={"file": ("atr.pdf", pdf(), "application/pdf")},
        data={"kind": "action_taken_report"},
        headers=nodal,
    )
    assert proof.status_code == 201, proof.text
    accepted = await http.post(f"{path}/report", json=report, headers=nodal)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "awaiting_callback"


async def test_the_report_form_takes_photos_and_the_case_page_shows_them(
    proof_stack: httpx.AsyncClient, any_engine: Engine
) -> None:
    http = proof_stack
    path, _telecaller = await registered(http, any_engine)
    year, sequence = path.rstrip("/").split("/")[-2:]
    page = f"/cases/{year}/{sequence}"
    nodal = auth_headers(any_engine, Role.NODAL_OFFICER, district="Ranchi")
    transport = http._transport
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"accept-language": "en"}
    ) as officer:
        await sign_in(officer, token_of(nodal))
        opened = await officer.get(page)
        assert 'enctype="multipart/form-data"' in opened.text and 'name="files"' in opened.text
        token = csrf(opened)
        form = {"csrf_token": token, "outcome": "resolved", "reply": "Toilet built"}
        # No proof: the form says what is missing, nothing is recorded.
        without = await officer.post(f"{page}/report", data=form)
        assert without.status_code == 422 and "action-taken report" in without.text
        with_photo = await officer.post(
            f"{page}/report",
            data=form,
            files=[("files", ("site.jpg", photo(seed=7), "image/jpeg"))],
        )
        assert with_photo.status_code == 303, with_photo.text[-2000:]
        shown = await officer.get(page)
        thumbs = re.findall(r'<img src="([^"]+\?variant=thumbnail)"', shown.text)
        assert len(thumbs) == 1 and "Action-taken report" in shown.text
        served = await officer.get(thumbs[0])
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
    # Another district's officer: the file is as missing as the case.
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(
            other, token_of(auth_headers(any_engine, Role.NODAL_OFFICER, district="Dhanbad"))
        )
        assert (await other.get(thumbs[0])).status_code == 404
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        answer = await anonymous.get(thumbs[0])
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")


async def test_the_desk_registers_with_the_citizens_photos(
    proof_stack: httpx.AsyncClient, any_engine: Engine
) -> None:
    transport = proof_stack._transport
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"accept-language": "en"}
    ) as desk:
        await sign_in(desk, token_of(auth_headers(any_engine, Role.TELECALLER)))
        opened = await desk.get("/desk")
        assert 'enctype="multipart/form-data"' in opened.text
        form = {
            "csrf_token": csrf(opened),
            "idempotency_key": "desk-photo-1",
            "kind": "complaint",
            "channel": "email",
            "citizen.name": "Sita Devi",
            "citizen.phone": "9876501234",
            "citizen.address": "Ward 4, Kanke",
            "citizen.district": "Ranchi",
            "citizen.language": "hi",
            "category": "sanitation",
            "description": "Naali band hai, photo email se aayi",
        }
        registered = await desk.post(
            "/desk/register",
            data=form,
            files=[
                ("files", ("drain.jpg", photo(seed=21), "image/jpeg")),
                ("files", ("letter.pdf", pdf(), "application/pdf")),
            ],
        )
        assert registered.status_code == 303, registered.text[-2000:]
        page = await desk.get(registered.headers["location"])
        assert "Photos and documents (2)" in page.text
        # In the files section (the timeline names them too:
        # tests/api/test_attachments_timeline.py).
        files = page.text.split('class="timeline"')[0]
        assert files.count("Citizen&#39;s evidence") == 2
    # The case's own workflow wrote them after "registered", one entry per file.
    year, sequence = registered.headers["location"].rstrip("/").split("/")[-2:]
    reader = auth_headers(any_engine, Role.TELECALLER)

    async def timeline() -> list[str]:
        answer = await proof_stack.get(f"/v1/complaints/{year}/{sequence}", headers=reader)
        return [e["event"] for e in answer.json()["timeline"]]

    events = await eventually(timeline, lambda t: t.count("attachment_added") == 2)
    assert events[0] == "registered"
