"""Citizen data encrypted inside Temporal: the payload codec, its key ring, the codec
endpoint the Temporal Web UI and CLI call, and a real complaint whose history, fetched raw from
the server, holds no citizen data in clear text.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from api.main import create_app
from core.codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    KeyRing,
    PayloadDecryptionError,
    PayloadKeyError,
    data_converter,
    generate_key,
    key_ring,
    parse_keys,
)
from core.settings import Environment, Settings
from harness.factories import auth_headers, complaint_body, eventually
from schemas.auth import Role
from schemas.workflow import ComplaintWorkflowInput, ReviewRequest
from tests.helpers import api_client, running_worker
from tests.paths import HISTORIES
from workers.replay import replay
from workflows.complaint import ComplaintWorkflow
from workflows.review import ReviewPlannerWorkflow, ReviewSessionWorkflow

NAME = "Ramesh Mahto"
PHONE = "9876543210"
ADDRESS = "Village Barwadih, Block Kanke"
UI = "http://localhost:8233"


def ring(*ids: str, active: str | None = None) -> KeyRing:
    return KeyRing.of(parse_keys(",".join(generate_key(i) for i in ids)), active)


def plain(text: str) -> Payload:
    return pydantic_data_converter.payload_converter.to_payloads([text])[0]


# ---- (1) the codec -----------------------------------------------------------------------


async def test_round_trip_encrypts_each_payload_with_a_fresh_nonce() -> None:
    codec = EncryptionCodec(ring("k1"))
    original = [plain(f"{NAME} {PHONE}"), plain(f"{NAME} {PHONE}")]
    encoded = await codec.encode(original)
    for payload in encoded:
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID_METADATA] == b"k1"
        assert NAME.encode() not in payload.SerializeToString()
        assert PHONE.encode() not in payload.SerializeToString()
    # Same plaintext, different nonce, different ciphertext.
    assert encoded[0].data[:12] != encoded[1].data[:12]
    assert encoded[0].data != encoded[1].data
    assert await codec.decode(encoded) == original  # metadata too: the whole payload


async def test_rotation_old_payloads_still_decode_after_the_active_key_changes() -> None:
    keys = parse_keys(f"{generate_key('old')},{generate_key('new')}")
    before = EncryptionCodec(KeyRing.of(keys, "old"))
    written_before = await before.encode([plain("citizen remark")])
    after = EncryptionCodec(KeyRing.of(keys, "new"))
    written_after = await after.encode([plain("later remark")])
    assert written_after[0].metadata[KEY_ID_METADATA] == b"new"
    decoded = await after.decode([*written_before, *written_after])
    assert decoded == [plain("citizen remark"), plain("later remark")]
    # Retiring the old key too early is a clear error naming it.
    only_new = EncryptionCodec(KeyRing.of({"new": keys["new"]}))
    with pytest.raises(PayloadKeyError, match="'old'"):
        await only_new.decode(written_before)


async def test_unencrypted_payloads_pass_through_decode() -> None:
    codec = EncryptionCodec(ring("k1"))
    legacy = [plain("written before encryption"), Payload(metadata={"encoding": b"binary/null"})]
    assert await codec.decode(legacy) == legacy


async def test_tampered_ciphertext_and_a_wrong_key_are_refused() -> None:
    codec = EncryptionCodec(ring("k1"))
    [sealed] = await codec.encode([plain("Ward 4")])
    tampered = Payload()
    tampered.CopyFrom(sealed)
    tampered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="authentication"):
        await codec.decode([tampered])
    impostor = EncryptionCodec(ring("k1"))  # same id, another key
    with pytest.raises(PayloadDecryptionError):
        await impostor.decode([sealed])


def test_key_configuration_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(PayloadKeyError, match="32"):
        parse_keys("short:" + base64.b64encode(b"x" * 16).decode())
    with pytest.raises(PayloadKeyError, match="base64"):
        parse_keys("k1:not base64!")
    with pytest.raises(PayloadKeyError, match="id:base64key"):
        parse_keys(base64.b64encode(b"x" * 32).decode())
    with pytest.raises(PayloadKeyError, match="PAYLOAD_ENCRYPTION_KEY_ID='k9'"):
        KeyRing.of(parse_keys(generate_key("k1")), "k9")
    # Keys from the setting and from the file, merged; the active one chosen by id.
    file = tmp_path / "keys"
    file.write_text(f"# rotated 2026-11\n{generate_key('k2')}\n", encoding="utf-8")
    settings = Settings(
        _env_file=None,
        environment=Environment.TEST,
        payload_encryption_keys=generate_key("k1"),
        payload_encryption_keys_file=file,
        payload_encryption_key_id="k2",
    )
    configured = key_ring(settings)
    assert configured is not None
    assert list(configured.keys) == ["k1", "k2"] and configured.active_id == "k2"


def test_production_requires_keys_and_development_generates_one(tmp_path: Path) -> None:
    production = Settings(
        _env_file=None,
        environment=Environment.PRODUCTION,
        database_url="postgresql+psycopg://u:p@db/js",
        payload_encryption_keys=generate_key(),
    )
    with pytest.raises(ValueError, match="PAYLOAD_ENCRYPTION_KEYS"):
        Settings.model_validate({**production.model_dump(), "payload_encryption_keys": ""})
    # Tests and other environments without keys: encryption off, nothing written.
    assert (
        key_ring(Settings(_env_file=None, environment=Environment.TEST, data_dir=tmp_path)) is None
    )
    assert not (tmp_path / "payload-keys").exists()
    # `make run` (development): one key generated once, private to the user, then reused.
    development = Settings(_env_file=None, environment=Environment.DEVELOPMENT, data_dir=tmp_path)
    first = key_ring(development)
    assert first is not None and first.active_id == "dev1"
    assert stat.S_IMODE(os.stat(tmp_path / "payload-keys").st_mode) == 0o600
    again = key_ring(development)
    assert again is not None and again.keys == first.keys
    assert data_converter(development).payload_codec is not None


# ---- the encrypted stack -----------------------------------------------------------------


@pytest.fixture
def encrypted_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"payload_encryption_keys": generate_key("test1")})


@asynccontextmanager
async def encrypted_stack(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """The API and the project's real worker on a client of the dev server that encrypts."""
    config = dev_env.client.config()
    config["data_converter"] = data_converter(settings)
    client = Client(**config)
    app = create_app(settings, engine=engine, client=client)
    async with running_worker(client, engine, settings), api_client(app) as http:
        yield http, client


async def _registered(http: httpx.AsyncClient) -> tuple[str, str]:
    created = await http.post("/v1/complaints", json=complaint_body())
    assert created.status_code == 201, created.text
    path = created.json()["links"]["self"]

    async def probe() -> dict[str, Any]:
        return dict((await http.get(path)).json())

    case = await eventually(probe, lambda c: c["status"] == "awaiting_report")
    return path, str(case["workflow_id"])


def payloads_in(message: Message, *, skip: frozenset[str] = frozenset()) -> Iterator[Payload]:
    """Every Payload inside a protobuf message (search attributes skipped when asked)."""
    for field, value in message.ListFields():
        if field.name in skip or field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif isinstance(value, Message):
            items = [value]
        else:  # a repeated field
            items = list(value)
        for item in items:
            if isinstance(item, Payload):
                yield item
            elif isinstance(item, Message):
                yield from payloads_in(item, skip=skip)


async def test_a_complaints_history_holds_no_citizen_data_in_clear_text(
    dev_env: WorkflowEnvironment, engine: Engine, encrypted_settings: Settings
) -> None:
    """The required test: fetched raw from the server, the history of a real complaint (with a
    telecaller's note naming the citizen and the phone) shows neither; through the codec, and
    through POST /v1/codec/decode, every payload decodes to the original."""
    note = f"{NAME} called again from {PHONE}: nothing done at {ADDRESS}"
    async with encrypted_stack(dev_env, engine, encrypted_settings) as (http, client):
        path, workflow_id = await _registered(http)
        asked = await http.post(f"{path}/review-request", json={"note": note})
        assert asked.status_code == 200, asked.text

        # Raw, from a client without the codec: what the server (and its database) holds.
        raw = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
        serialized = b"".join(event.SerializeToString() for event in raw.events)
        as_json = raw.to_json()
        for secret in (NAME, PHONE, ADDRESS, "Barwadih", "शौचालय"):
            assert secret.encode() not in serialized, secret
            assert secret not in as_json, secret
        # The engine's own bookkeeping in markers (a patch's id; a local activity's id, type
        # and times) is not ours to encode; everything of ours is sealed, local activities'
        # results included.
        markers = [
            e.marker_recorded_event_attributes
            for e in raw.events
            if e.HasField("marker_recorded_event_attributes")
        ]
        bookkeeping = [
            p
            for m in markers
            for key, ps in m.details.items()
            if key != "result"
            for p in ps.payloads
        ]
        assert {p.metadata["encoding"] for p in bookkeeping} <= {b"json/plain"}
        sealed = [
            p
            for e in raw.events
            if not e.HasField("marker_recorded_event_attributes")
            for p in payloads_in(e, skip=frozenset({"search_attributes"}))
        ] + [p for m in markers if "result" in m.details for p in m.details["result"].payloads]
        assert len(sealed) >= 5  # input, activity inputs and results, the update
        assert all(p.metadata["encoding"] == ENCODING for p in sealed)
        assert {p.metadata[KEY_ID_METADATA] for p in sealed} == {b"test1"}

        # Through the codec: the originals, e.g. the workflow input and the update's note.
        codec = data_converter(encrypted_settings).payload_codec
        assert codec is not None
        decoded = await codec.decode(sealed)
        converter = pydantic_data_converter.payload_converter
        started = raw.events[0].workflow_execution_started_event_attributes.input.payloads[0]
        [workflow_input] = converter.from_payloads(
            await codec.decode([started]), [ComplaintWorkflowInput]
        )
        assert workflow_input.registration_number == path.split("/")[-1] + "/" + path.split("/")[-2]
        update_args = [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args
            for e in raw.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        [request] = converter.from_payloads(
            await codec.decode(update_args[0].payloads), [ReviewRequest]
        )
        assert request.note == note
        assert any(NAME.encode() in p.data for p in decoded)

        # Through the codec endpoint, as the Web UI and the CLI call it.
        engineer = auth_headers(engine, Role.ENGINEER)
        body = json_format.MessageToJson(Payloads(payloads=sealed))
        for url in ("/v1/codec/decode", "/v1/codec/default/decode"):
            answer = await http.post(
                url,
                content=body,
                headers={**engineer, "Content-Type": "application/json", "X-Namespace": "default"},
            )
            assert answer.status_code == 200, answer.text
            assert list(json_format.Parse(answer.content, Payloads()).payloads) == decoded

        # A refused action's reason (an update failure, encrypted in the history) still
        # reaches the caller through the encrypting client.
        refused = await http.post(f"{path}/callback", json={"outcome": "satisfied", "remark": note})
        assert refused.status_code == 409, refused.text
        assert refused.json()["reason"] == "wrong_status"
        assert refused.json()["detail"] == (
            "this case is 'With the department for action'; this action needs it to be "
            "'The department has replied; we will call you to confirm'"
        )
        # The encrypting client reads it all back (the API's live view is a query).
        live = await http.get(f"{path}/live")
        assert live.status_code == 200 and live.json()["status"] == "awaiting_report"
        # An encrypted history replays with the deployment's settings (workers.replay).
        full = await client.get_workflow_handle(workflow_id).fetch_history()
        assert await replay(full, encrypted_settings) is None


async def test_no_search_attribute_holds_personal_data(
    dev_env: WorkflowEnvironment, engine: Engine, encrypted_settings: Settings
) -> None:
    async with encrypted_stack(dev_env, engine, encrypted_settings) as (http, client):
        _path, workflow_id = await _registered(http)
        described = await client.get_workflow_handle(workflow_id).describe()
    attributes = {pair.key.name: pair.value for pair in described.typed_search_attributes}
    assert {"RegistrationNumber", "District", "ComplaintStatus"} <= set(attributes)
    text = json.dumps({k: str(v) for k, v in attributes.items()}, ensure_ascii=False)
    for secret in (NAME, "Ramesh", PHONE, ADDRESS, "Barwadih", "834006"):
        assert secret not in text, f"{secret} in search attributes {text}"


# ---- (3) the codec endpoint --------------------------------------------------------------


@pytest.fixture
async def codec_http(
    dev_env: WorkflowEnvironment, engine: Engine, encrypted_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(encrypted_settings, engine=engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        yield http


async def _sealed_body(settings: Settings) -> str:
    codec = data_converter(settings).payload_codec
    assert codec is not None
    return json_format.MessageToJson(Payloads(payloads=await codec.encode([plain(NAME)])))


async def test_codec_endpoint_needs_an_engineer_or_administrator(
    codec_http: httpx.AsyncClient, engine: Engine, encrypted_settings: Settings
) -> None:
    body = await _sealed_body(encrypted_settings)
    json_headers = {"Content-Type": "application/json"}
    anonymous = await codec_http.post("/v1/codec/decode", content=body, headers=json_headers)
    assert anonymous.status_code == 401
    assert NAME not in anonymous.text
    for role in (Role.TELECALLER, Role.REVIEWER, Role.NODAL_OFFICER, Role.MONITORING):
        refused = await codec_http.post(
            "/v1/codec/decode", content=body, headers={**json_headers, **auth_headers(engine, role)}
        )
        assert refused.status_code == 403, role
        assert NAME not in refused.text
    for role in (Role.ENGINEER, Role.ADMINISTRATOR):
        allowed = await codec_http.post(
            "/v1/codec/decode", content=body, headers={**json_headers, **auth_headers(engine, role)}
        )
        assert allowed.status_code == 200, allowed.text
        [payload] = json_format.Parse(allowed.content, Payloads()).payloads
        assert payload == plain(NAME)
    # Encode then decode round-trips through the endpoint too; bad bodies are 400.
    engineer = {**json_headers, **auth_headers(engine, Role.ENGINEER)}
    clear = json_format.MessageToJson(Payloads(payloads=[plain(PHONE)]))
    encoded = await codec_http.post("/v1/codec/encode", content=clear, headers=engineer)
    assert PHONE not in encoded.text
    back = await codec_http.post("/v1/codec/decode", content=encoded.content, headers=engineer)
    assert list(json_format.Parse(back.content, Payloads()).payloads) == [plain(PHONE)]
    broken = await codec_http.post("/v1/codec/decode", content=b"{not json", headers=engineer)
    assert broken.status_code == 400 and "Payloads" in broken.json()["detail"]


async def test_the_web_ui_signs_in_with_a_cookie_from_its_own_origin_only(
    codec_http: httpx.AsyncClient, engine: Engine, encrypted_settings: Settings
) -> None:
    body = await _sealed_body(encrypted_settings)
    from_ui = {"Content-Type": "application/json", "Origin": UI, "X-Namespace": "default"}
    session = await codec_http.post(
        "/v1/codec/session", headers=auth_headers(engine, Role.ENGINEER)
    )
    assert session.status_code == 204
    cookie = session.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/v1/codec" in cookie
    assert "samesite=lax" in cookie.lower()  # http: Lax (same site as the UI on localhost)

    decoded = await codec_http.post("/v1/codec/decode", content=body, headers=from_ui)
    assert decoded.status_code == 200, decoded.text
    assert decoded.headers["access-control-allow-origin"] == UI
    assert decoded.headers["access-control-allow-credentials"] == "true"
    # The cookie counts only from the UI's origin: not from another site's page, not without
    # an Origin (a browser always sends one with a POST), and opens nothing outside /v1/codec.
    no_origin = {"Content-Type": "application/json"}
    assert (
        await codec_http.post("/v1/codec/decode", content=body, headers=no_origin)
    ).status_code == 401
    elsewhere = {**from_ui, "Origin": "https://evil.example"}
    assert (
        await codec_http.post("/v1/codec/decode", content=body, headers=elsewhere)
    ).status_code == 403
    assert (await codec_http.get("/v1/complaints")).status_code == 401

    await codec_http.delete("/v1/codec/session")
    assert (
        await codec_http.post("/v1/codec/decode", content=body, headers=from_ui)
    ).status_code == 401


async def test_cors_preflight_from_the_ui_origin_is_answered(codec_http: httpx.AsyncClient) -> None:
    preflight = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    }
    answer = await codec_http.options("/v1/codec/decode", headers=preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == UI
    assert answer.headers["access-control-allow-credentials"] == "true"
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert {"x-namespace", "authorization", "content-type"} <= set(
        allowed.replace(" ", "").split(",")
    )
    other = await codec_http.options(
        "/v1/codec/decode", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    # The rest of the API is not opened to the UI's origin.
    api = await codec_http.options("/v1/complaints", headers=preflight)
    assert "access-control-allow-origin" not in api.headers


async def test_codec_endpoint_without_encryption_says_so(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    app = create_app(settings, engine=engine, client=dev_env.client)  # no keys: off
    async with api_client(app) as http:
        answer = await http.post("/v1/codec/decode", json={"payloads": []})
    assert answer.status_code == 404 and "encryption is off" in answer.json()["detail"]


# ---- (4) existing histories under encryption ---------------------------------------------


@pytest.mark.parametrize("name", ["happy_path", "overdue_review_directive"])
async def test_committed_unencrypted_histories_replay_with_the_encrypting_converter(
    name: str, encrypted_settings: Settings
) -> None:
    path = HISTORIES / f"{name}.json"
    history = WorkflowHistory.from_json(name, path.read_text(encoding="utf-8"))
    replayer = Replayer(
        workflows=[ComplaintWorkflow, ReviewSessionWorkflow, ReviewPlannerWorkflow],
        data_converter=data_converter(encrypted_settings),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
