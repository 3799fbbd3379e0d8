"""A file's events on the case's timeline, written by the case's own workflow (signalled by
the API and by MediaFetchWorkflow): an upload, a publication and its reversal, an
administrator's deletion with its reason, an Open311 media_url fetched or refused (the refusal
also in the audit trail). References only: never the file's name or bytes. The case page
says them in the reader's language. Real API, worker, dev server, clamd; SQLite and
PostgreSQL. With JANSAMVAD_RECORD_HISTORIES=1 the histories are saved for the replay suite."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.pages.words import note_text
from core.audit import entries
from core.settings import Settings
from harness.attachments import photo
from harness.factories import auth_headers, complaint_body, eventually
from schemas.auth import Role
from tests.api.test_attachments_open311 import media_host, request_form  # noqa: F401
from tests.api.test_pages import csrf, sign_in, token_of
from tests.helpers import api_client, running_worker
from tests.lifecycle_helpers import HISTORIES
from workflows.media import media_workflow_id

FILE_NAME = "Sunita_Devi_9812345670.jpg"  # a name that carries personal data


@pytest.fixture
async def stack(
    attachment_settings: Settings, any_engine: Engine, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    attachment_settings.media_fetch_allowed_networks = "127.0.0.1/32"  # the local media host
    app = create_app(attachment_settings, engine=any_engine, client=dev_env.client)
    async with (
        running_worker(dev_env.client, any_engine, attachment_settings),
        api_client(app, authorized=False) as http,
    ):
        yield http


async def _case(http: httpx.AsyncClient, engine: Engine, year: str, sequence: str) -> Any:
    answer = await http.get(
        f"/v1/complaints/{year}/{sequence}", headers=auth_headers(engine, Role.TELECALLER)
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _events(case: Any, prefix: tuple[str, ...] = ("attachment_", "media_url_")) -> list[Any]:
    return [e for e in case["timeline"] if e["event"].startswith(prefix)]


async def _save(handle: WorkflowHandle[Any, Any], name: str, engine: Engine) -> None:
    if os.environ.get("JANSAMVAD_RECORD_HISTORIES") == "1" and engine.dialect.name == "sqlite":
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(
            json.dumps(json.loads(history.to_json()), indent=1) + "\n", encoding="utf-8"
        )


async def test_a_files_life_is_on_the_timeline_by_reference(
    stack: httpx.AsyncClient, any_engine: Engine, dev_env: WorkflowEnvironment
) -> None:
    http, engine = stack, any_engine
    telecaller = auth_headers(engine, Role.TELECALLER)
    posted = await http.post("/v1/complaints", json=complaint_body(), headers=telecaller)
    assert posted.status_code == 201, posted.text
    sequence, year = posted.json()["registration_number"].split("/")
    await eventually(
        lambda: _case(http, engine, year, sequence), lambda c: c["status"] == "awaiting_report"
    )
    files = f"/v1/complaints/{year}/{sequence}/attachments"
    added = await http.post(
        files, files={"file": (FILE_NAME, photo(seed=5), "image/jpeg")}, headers=telecaller
    )
    assert added.status_code == 201, added.text
    file = added.json()
    # The same file again is the same reference: no second event.
    again = await http.post(
        files, files={"file": (FILE_NAME, photo(seed=5), "image/jpeg")}, headers=telecaller
    )
    assert again.json()["id"] == file["id"]
    public = f"{files}/{file['id']}/publication"
    for flag in (True, True, False):  # the second "public" changes nothing: no event
        answer = await http.post(public, json={"public": flag}, headers=telecaller)
        assert answer.status_code == 200, answer.text
    admin = auth_headers(engine, Role.ADMINISTRATOR)
    removed = await http.post(
        f"{files}/{file['id']}/deletion", json={"reason": "personal_data"}, headers=admin
    )
    assert removed.status_code == 204, removed.text

    # The officer's action-taken report: its own kind on the timeline.
    nodal = auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")
    report = await http.post(
        files,
        files={"file": ("atr.jpg", photo(seed=6), "image/jpeg")},
        data={"kind": "action_taken_report"},
        headers=nodal,
    )
    assert report.status_code == 201, report.text

    case = await eventually(
        lambda: _case(http, engine, year, sequence), lambda c: len(_events(c)) >= 5
    )
    events = _events(case)
    assert [e["event"] for e in events] == [
        "attachment_added",
        "attachment_published",
        "attachment_unpublished",
        "attachment_removed",
        "attachment_added",
    ]
    assert events[4]["note"].startswith("kind=action_taken_report type=image/jpeg")
    assert f"id={report.json()['id'][:8]}" in events[4]["note"]
    events = events[:4]
    reference = (
        f"kind=evidence type=image/jpeg size={file['size']} id={file['id'][:8]} "
        f"sha256={file['sha256'][:12]}"
    )
    assert [e["note"] for e in events] == [reference] * 3 + [f"{reference} reason=personal_data"]
    # Who: the telecaller's subject three times, then the administrator's.
    actors = [e["actor"] for e in events]
    assert len(set(actors[:3])) == 1 and actors[3] != actors[0] and all(actors)
    assert all("Sunita" not in json.dumps(e) and "9812345670" not in json.dumps(e) for e in events)

    handle = dev_env.client.get_workflow_handle(case["workflow_id"])
    await _save(handle, "attachment_events", engine)

    # The case page says them in the reader's language.
    for language, said in (
        ("en", ["File added", "File removed by an administrator", "it showed someone"]),
        ("hi", ["फ़ाइल जोड़ी गई", "प्रशासक ने फ़ाइल हटाई", "निजी विवरण"]),
    ):
        async with httpx.AsyncClient(
            transport=http._transport,
            base_url="http://testserver",
            headers={"accept-language": language},
        ) as reader:
            await sign_in(reader, token_of(telecaller))
            page = await reader.get(f"/cases/{year}/{sequence}")
            assert page.status_code == 200
            for text in said:
                assert text in page.text, (language, text)
            assert FILE_NAME not in page.text.split('class="timeline"')[-1]

    # The citizen's page names what happened to their file, never who did it.
    for language, said in (
        ("en", ["What happened to the files", "File made public", "it showed someone"]),
        ("hi", ["फ़ाइलों के साथ क्या हुआ", "प्रशासक ने फ़ाइल हटाई", "निजी विवरण"]),
    ):
        async with httpx.AsyncClient(
            transport=http._transport,
            base_url="http://testserver",
            headers={"accept-language": language},
        ) as citizen:
            form = await citizen.get("/track")
            shown = await citizen.post(
                "/track",
                data={
                    "csrf_token": csrf(form),
                    "number": f"{sequence}/{year}",
                    "phone": "9876543210",
                },
            )
            assert shown.status_code == 200, shown.text
            heading, listed = said[0], shown.text.split("file-events")[-1].split("</ol>")[0]
            assert heading in shown.text
            for text in said[1:]:
                assert text in listed, (language, text)
            assert "sha256" not in listed and actors[3] not in listed


async def test_a_refused_media_url_is_on_the_timeline_and_in_the_audit_trail(
    stack: httpx.AsyncClient,
    any_engine: Engine,
    media_host: str,  # noqa: F811
    attachment_settings: Settings,
    dev_env: WorkflowEnvironment,
) -> None:
    http, engine = stack, any_engine
    outcomes: dict[str, Any] = {}
    for path in ("/photo.jpg", "/missing.jpg"):
        key = auth_headers(engine, Role.INTEGRATION)["Authorization"].removeprefix("Bearer ")
        posted = await http.post(
            "/open311/v2/requests.json", data=request_form(key, media_url=f"{media_host}{path}")
        )
        assert posted.status_code == 201, posted.text
        year, sequence = posted.json()[0]["service_request_id"].split("-")
        case = await eventually(
            lambda y=year, s=sequence: _case(http, engine, y, s),  # type: ignore[misc]
            lambda c: len(_events(c, ("media_url_",))) == 1,
            within=30,
        )
        outcomes[path] = (year, sequence, _events(case, ("media_url_",))[0])

    _y, _s, fetched = outcomes["/photo.jpg"]
    assert fetched["event"] == "media_url_fetched"
    assert fetched["note"].startswith("kind=evidence type=image/jpeg size=")
    year, sequence, refused = outcomes["/missing.jpg"]
    assert refused["event"] == "media_url_refused" and refused["note"] == "reason=refused_422"
    assert "missing.jpg" not in json.dumps(refused)

    audited = entries(engine, complaint=(int(year), int(sequence)), outcomes=["rejected"])
    [entry] = [e for e in audited if e.route == "media_url_refused"]
    assert entry.method == "WORKER" and entry.status_code == 422
    assert "HTTP 404" in entry.summary and "missing.jpg" not in entry.summary
    assert entry.subject  # the integration that sent the URL

    media = dev_env.client.get_workflow_handle(
        media_workflow_id(attachment_settings.workflow_id_prefix, int(year), int(sequence))
    )
    await _save(media, "media_fetch_refused", engine)


def test_file_notes_in_the_readers_words() -> None:
    """Both languages, every code; a note not of the form is shown as written."""
    hindi = {
        "File added": "फ़ाइल जोड़ी गई",
        "Action-taken report": "की गई कार्रवाई का प्रतिवेदन",
        "file %(id)s": "फ़ाइल %(id)s",
        "reason: %(reason)s": "कारण: %(reason)s",
        "a duplicate": "दोहराई गई फ़ाइल",
        "not taken (%(status)s)": "नहीं ली गई (%(status)s)",
    }

    def en(text: str) -> str:
        return text

    def hi(text: str) -> str:
        return hindi.get(text, text)

    def keep(code: str) -> str:
        return code

    note = (
        "kind=action_taken_report type=application/pdf size=2400000 id=1a2b3c4d "
        "sha256=0123456789ab reason=duplicate"
    )
    assert (
        note_text("attachment_removed", note, en, keep, keep)
        == "Action-taken report · PDF · 2.4 MB · file 1a2b3c4d · reason: a duplicate"
    )
    assert (
        note_text("attachment_removed", note, hi, keep, keep)
        == "की गई कार्रवाई का प्रतिवेदन · PDF · 2.4 MB · फ़ाइल 1a2b3c4d · कारण: दोहराई गई फ़ाइल"
    )
    assert note_text("media_url_refused", "reason=refused_413", hi, keep, keep) == (
        "नहीं ली गई (413)"
    )
    assert note_text("attachment_added", "written by hand", en, keep, keep) == "written by hand"
