"""Open311's media_url round trip: a POST's URL fetched by a worker from a local HTTP server
(bounded, http(s) only, never an internal address unless allowed), scanned and cleaned into
the case's evidence; GETs answer media_url only once staff make the file public."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.media import allowed_networks, download
from api.main import create_app
from core.attachments import Refused
from core.settings import Settings
from harness.attachments import photo
from harness.factories import auth_headers, eventually
from schemas.auth import Role
from tests.helpers import api_client, running_worker
from tests.lifecycle_helpers import HISTORIES
from workflows.media import media_workflow_id

PHOTO = photo("JPEG", seed=11)


class MediaServer(BaseHTTPRequestHandler):
    """A city app's media host: a photo, a redirect into the cloud's metadata address, a
    file too large."""

    def do_GET(self) -> None:
        if self.path == "/photo.jpg":
            self._send(200, PHOTO, "image/jpeg")
        elif self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
        elif self.path == "/big.jpg":
            self._send(200, b"\xff\xd8\xff" + b"\0" * 300_000, "image/jpeg")
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def media_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), MediaServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def open311(
    attachment_settings: Settings, any_engine: Engine, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    attachment_settings.media_fetch_allowed_networks = "127.0.0.1/32"  # the local media host
    app = create_app(attachment_settings, engine=any_engine, client=dev_env.client)
    async with (
        running_worker(dev_env.client, any_engine, attachment_settings),
        api_client(app, authorized=False) as http,
    ):
        yield http


def request_form(key: str, **more: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "sanitation",
        "first_name": "Sunita",
        "phone": "9812345670",
        "address_string": "Tola Bariatu, Ward 12",
        "description": "Shauchalay toot gaya hai, photo bheji hai",
        "attribute[district]": "Ranchi",
        **more,
    }


async def keep_media_history(
    env: WorkflowEnvironment, settings: Settings, year: int, sequence: int
) -> None:
    """With JANSAMVAD_RECORD_HISTORIES=1, the fetch's history for the replay suite."""
    if os.environ.get("JANSAMVAD_RECORD_HISTORIES") != "1":
        return
    workflow_id = media_workflow_id(settings.workflow_id_prefix, year, sequence)
    handle = env.client.get_workflow_handle(workflow_id)
    await handle.result()
    history = await handle.fetch_history()
    (HISTORIES / "media_fetch_round_trip.json").write_text(
        json.dumps(json.loads(history.to_json()), indent=1) + "\n", encoding="utf-8"
    )


async def test_media_url_round_trip(
    open311: httpx.AsyncClient,
    any_engine: Engine,
    media_host: str,
    attachment_settings: Settings,
    dev_env: WorkflowEnvironment,
) -> None:
    http = open311
    key = auth_headers(any_engine, Role.INTEGRATION)["Authorization"].removeprefix("Bearer ")
    posted = await http.post(
        "/open311/v2/requests.json",
        data=request_form(key, media_url=f"{media_host}/photo.jpg"),
    )
    assert posted.status_code == 201, posted.text
    rid = posted.json()[0]["service_request_id"]
    year, sequence = rid.split("-")
    files = f"/v1/complaints/{year}/{sequence}/attachments"
    telecaller = auth_headers(any_engine, Role.TELECALLER)

    async def listed() -> dict[str, Any]:
        answer: dict[str, Any] = (await http.get(files, headers=telecaller)).json()
        return answer

    found = await eventually(listed, lambda body: body["count"] == 1, within=30)
    await keep_media_history(dev_env, attachment_settings, int(year), int(sequence))
    [media] = found["data"]
    assert media["source"] == "open311" and media["kind"] == "evidence"
    assert media["public"] is False
    stored = await http.get(media["links"]["content"], headers=telecaller)
    with Image.open(io.BytesIO(stored.content)) as image:
        assert not image.getexif().get_ifd(0x8825)  # the GPS position is gone

    # Not public yet: GETs say nothing of it.
    shown = (await http.get(f"/open311/v2/requests/{rid}.json")).json()[0]
    assert shown["media_url"] is None
    published = await http.post(
        f"{files}/{media['id']}/publication", json={"public": True}, headers=telecaller
    )
    assert published.status_code == 200
    shown = (await http.get(f"/open311/v2/requests/{rid}.json")).json()[0]
    base = attachment_settings.public_base_url.rstrip("/")
    assert shown["media_url"] == f"{base}/v1/attachments/{media['id']}"
    listed_all = (
        await http.get("/open311/v2/requests.json", params={"service_request_id": rid})
    ).json()
    assert listed_all[0]["media_url"] == shown["media_url"]
    public = await http.get(shown["media_url"].removeprefix(base))
    assert public.status_code == 200 and public.content == stored.content
    assert public.headers["x-content-type-options"] == "nosniff"
    # Private again: gone from GETs and from the public address.
    await http.post(
        f"{files}/{media['id']}/publication", json={"public": False}, headers=telecaller
    )
    assert (await http.get(shown["media_url"].removeprefix(base))).status_code == 404
    assert (await http.get(f"/open311/v2/requests/{rid}.json")).json()[0]["media_url"] is None


async def test_a_media_url_that_can_never_be_fetched_is_refused_naming_the_field(
    open311: httpx.AsyncClient, any_engine: Engine
) -> None:
    key = auth_headers(any_engine, Role.INTEGRATION)["Authorization"].removeprefix("Bearer ")
    for url in ("file:///etc/passwd", "ftp://example.org/a.jpg", "http://169.254.169.254/x"):
        answer = await open311.post(
            "/open311/v2/requests.json", data=request_form(key, media_url=url)
        )
        assert answer.status_code == 400, (url, answer.text)
        assert answer.json()[0]["description"].startswith("media_url"), answer.text
    listed = await open311.get("/open311/v2/requests.json")
    assert listed.json() == []  # nothing registered


def test_the_fetch_refuses_internal_addresses_redirects_inside_and_large_files(
    media_host: str, tmp_path: Path
) -> None:
    target = tmp_path / "media"
    loopback = allowed_networks("127.0.0.1/32")
    download(f"{media_host}/photo.jpg", target, max_bytes=10**6, timeout=10, allowed=loopback)
    assert target.read_bytes() == PHOTO
    with pytest.raises(Refused, match="internal address"):
        download(f"{media_host}/photo.jpg", target, max_bytes=10**6, timeout=10, allowed=[])
    with pytest.raises(Refused, match="internal address"):
        download(f"{media_host}/to-metadata", target, max_bytes=10**6, timeout=10, allowed=loopback)
    with pytest.raises(Refused) as large:
        download(f"{media_host}/big.jpg", target, max_bytes=100_000, timeout=10, allowed=loopback)
    assert large.value.status == 413
    with pytest.raises(Refused, match="HTTP 404"):
        download(f"{media_host}/nothing", target, max_bytes=10**6, timeout=10, allowed=loopback)
