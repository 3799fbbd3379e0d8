"""Files where people decide: a marker in the officer's inbox, counts on lists (agenda, minutes:
`counts_by_number`), and on the citizen's page their own evidence and, once public, the
officer's action-taken report."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.services.files import counts_by_number
from core.models import Complaint
from core.settings import Settings
from harness.attachments import pdf, photo
from harness.factories import auth_headers, insert_case
from schemas.auth import Role
from tests.api.test_pages import csrf, sign_in, token_of
from tests.helpers import api_client


@pytest.fixture
async def site(
    attachment_settings: Settings, engine: Engine, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(attachment_settings, engine=engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        http.headers["accept-language"] = "en"
        yield http


def files_of(case: Complaint) -> str:
    return f"/v1/complaints/{case.year}/{case.sequence}/attachments"


async def test_the_inbox_marks_cases_with_files_and_lists_count_them(
    site: httpx.AsyncClient, engine: Engine
) -> None:
    with_files = insert_case(engine, district="Ranchi")
    without = insert_case(engine, district="Ranchi")
    telecaller = auth_headers(engine, Role.TELECALLER)
    for seed in (1, 2):
        added = await site.post(
            files_of(with_files),
            files={"file": (f"p{seed}.jpg", photo(seed=seed), "image/jpeg")},
            headers=telecaller,
        )
        assert added.status_code == 201
    numbers = [with_files.registration_number, without.registration_number]
    assert counts_by_number(engine, numbers) == {with_files.registration_number: 2}

    async with httpx.AsyncClient(
        transport=site._transport, base_url="http://testserver", headers={"accept-language": "en"}
    ) as officer:
        await sign_in(
            officer, token_of(auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi"))
        )
        inbox = (await officer.get("/inbox")).text
    row_with = inbox.split(with_files.registration_number, 1)[1].split("</tr>", 1)[0]
    row_without = inbox.split(without.registration_number, 1)[1].split("</tr>", 1)[0]
    assert "files-marker" in row_with and "</svg> 2</a>" in row_with
    assert "files-marker" not in row_without


async def test_the_citizens_page_shows_their_evidence_and_a_public_report(
    site: httpx.AsyncClient, engine: Engine
) -> None:
    case = insert_case(engine, district="Ranchi", assigned_officer_id="nodal-district-ranchi")
    telecaller = auth_headers(engine, Role.TELECALLER)
    evidence = await site.post(
        files_of(case),
        files={"file": ("broken-handpump.jpg", photo(seed=3), "image/jpeg")},
        headers=telecaller,
    )
    officer = auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")
    report = await site.post(
        files_of(case),
        files={"file": ("atr-handpump.pdf", pdf(), "application/pdf")},
        data={"kind": "action_taken_report"},
        headers=officer,
    )
    assert evidence.status_code == report.status_code == 201

    async def track() -> str:
        page = await site.get("/track")
        answer = await site.post(
            "/track",
            data={
                "csrf_token": csrf(page),
                "number": case.registration_number,
                "phone": "9876500000",
            },
        )
        assert answer.status_code == 200, answer.text
        return answer.text

    shown = await track()
    # Their own evidence is named; the officer's report is not shown until public.
    assert "broken-handpump.jpg" in shown and "atr-handpump.pdf" not in shown
    assert "/v1/attachments/" not in shown
    # Staff make it public from the case page.
    async with httpx.AsyncClient(
        transport=site._transport, base_url="http://testserver", headers={"accept-language": "en"}
    ) as desk:
        await sign_in(desk, token_of(telecaller))
        page = await desk.get(f"/cases/{case.year}/{case.sequence}")
        action = f"/cases/{case.year}/{case.sequence}/attachments/{report.json()['id']}"
        assert f'action="{action}/publication"' in page.text and "Make public" in page.text
        published = await desk.post(
            f"{action}/publication", data={"csrf_token": csrf(page), "public": "true"}
        )
        assert published.status_code == 303
    shown = await track()
    assert "atr-handpump.pdf" in shown and "Action-taken report" in shown
    link = f"/v1/attachments/{report.json()['id']}"
    assert link in shown
    opened = await site.get(link)
    assert opened.status_code == 200 and opened.headers["content-type"] == "application/pdf"
    assert opened.headers["content-disposition"].startswith("attachment;")
    # The private photo is not served publicly, whatever its id.
    assert (await site.get(f"/v1/attachments/{evidence.json()['id']}")).status_code == 404
