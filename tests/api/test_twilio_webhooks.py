"""Twilio end to end: API + real workers + dev server + the real twilio library against the
local fake of Twilio's REST API; webhooks signed with `RequestValidator`'s algorithm."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from activities.twilio_gateway import TwilioGateway
from api.main import create_app
from core import audit
from core.models import Message
from core.settings import Settings
from harness.factories import complaint_body, eventually
from schemas.enums import MessageStatus
from tests.fake_twilio import FakeTwilio
from tests.helpers import api_client, running_worker

PUBLIC_URL = "https://jansamvad.example.in"
CITIZEN = "+919876543210"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def tw_settings(settings: Settings, fake: FakeTwilio) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_from_number": "+15005550006",
            "public_base_url": PUBLIC_URL,
        }
    )


@pytest.fixture
async def tw_stack(
    dev_env: WorkflowEnvironment, any_engine: Engine, tw_settings: Settings, fake: FakeTwilio
) -> AsyncIterator[httpx.AsyncClient]:
    """The stack with the Twilio gateway (SQLite and PostgreSQL)."""
    app = create_app(tw_settings, engine=any_engine, client=dev_env.client)
    gateway = TwilioGateway(tw_settings, http_client=fake.http_client())
    async with (
        running_worker(dev_env.client, any_engine, tw_settings, gateway=gateway),
        api_client(app) as http,
    ):
        yield http


def _signed(path: str, params: dict[str, str], token: str) -> dict[str, str]:
    """Headers as Twilio sends them: the signature over the public URL and the form."""
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    return {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def _post_signed(
    http: httpx.AsyncClient, path: str, params: dict[str, str], token: str
) -> httpx.Response:
    return await http.post(path, content=urlencode(params), headers=_signed(path, params, token))


async def _case(http: httpx.AsyncClient, reg: str) -> dict[str, Any]:
    sequence, year = reg.split("/")
    response = await http.get(f"/v1/complaints/{year}/{sequence}")
    assert response.status_code == 200, response.text
    return response.json()


def _ack_of(case: dict[str, Any]) -> dict[str, Any] | None:
    return next((m for m in case["messages"] if m["template"] == "acknowledgement"), None)


async def _registered_and_acknowledged(
    http: httpx.AsyncClient, fake: FakeTwilio, **overrides: Any
) -> dict[str, Any]:
    created = await http.post("/v1/complaints", json=complaint_body(**overrides))
    assert created.status_code == 201, created.text
    reg = created.json()["registration_number"]
    return await eventually(
        lambda: _case(http, reg),
        lambda c: (
            (ack := _ack_of(c)) is not None
            and ack["status"] in ("queued", "failed")
            and c["status"] == "awaiting_report"
            and len([m for m in c["messages"] if m["status"] != "pending"]) >= 3
        ),
    )


def _receipt(message: dict[str, Any], status: str, **extra: str) -> tuple[str, dict[str, str]]:
    path = "/v1/twilio/status?" + urlencode({"key": message["key"]})
    params = {
        "AccountSid": "AC" + "1" * 32,
        "MessageSid": message["provider_sid"],
        "SmsSid": message["provider_sid"],
        "MessageStatus": status,
        "SmsStatus": status,
        "To": message["recipient"],
        "From": "+15005550006",
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return path, params


# ---- sending -----------------------------------------------------------------------------


async def test_complaint_sms_go_through_twilio(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    case = await _registered_and_acknowledged(tw_stack, fake)
    ack = _ack_of(case)
    assert ack and ack["provider"] == "twilio" and ack["status"] == "queued"
    sent = {m.sid: m for m in fake.created}
    assert ack["provider_sid"] in sent
    assert sent[ack["provider_sid"]].body == ack["text"]
    # ack, officer's assignment, citizen's "forwarded": each exactly once
    assert len(fake.created) == 3 and len(sent) == 3


async def test_server_error_then_success_sends_once(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    fake.fail_next(500, 20500, "Internal Server Error")
    case = await _registered_and_acknowledged(tw_stack, fake)
    assert _ack_of(case)["status"] == "queued"  # type: ignore[index]
    assert fake.create_requests == 4 and len(fake.created) == 3  # one retried, none doubled
    assert "sms_failed" not in [e["event"] for e in case["timeline"]]


async def test_invalid_number_fails_the_sms_not_the_case(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    fake.refuse_number(CITIZEN, 21211, f"The 'To' number {CITIZEN} is not a valid phone number.")
    created = await tw_stack.post("/v1/complaints", json=complaint_body())
    reg = created.json()["registration_number"]
    case = await eventually(
        lambda: _case(tw_stack, reg),
        lambda c: (
            [e["event"] for e in c["timeline"]].count("sms_failed") == 2
            and c["status"] == "awaiting_report"
        ),
    )
    failed = [e for e in case["timeline"] if e["event"] == "sms_failed"]
    assert "acknowledgement to citizen" in failed[0]["note"] and "21211" in failed[0]["note"]
    assert "forwarded to citizen" in failed[1]["note"]
    assert _ack_of(case)["status"] == "failed"  # type: ignore[index]
    # The case went on: forwarded to the nodal officer, who got the assignment SMS.
    assert "forwarded" in [e["event"] for e in case["timeline"]]
    officer_sms = next(m for m in case["messages"] if m["recipient_kind"] == "officer")
    assert officer_sms["status"] == "queued"
    # Telecallers see that this citizen must be called rather than texted.
    assert reg in await _unreachable(tw_stack)
    assert fake.create_requests == 3  # refused once each, never retried


async def _unreachable(http: httpx.AsyncClient) -> list[str]:
    response = await http.get("/v1/sms/unreachable")
    assert response.status_code == 200, response.text
    return [item["complaint"]["registration_number"] for item in response.json()["data"]]


async def test_rate_limit_spreads_a_burst(
    dev_env: WorkflowEnvironment, engine: Engine, tw_settings: Settings, fake: FakeTwilio
) -> None:
    """Four complaints make twelve SMS at once; at 2 SMS/s the queue spreads them out. The
    server's limiter (a token bucket) lets a short burst through first: a few tokens."""
    settings = tw_settings.model_copy(update={"sms_rate_limit_per_second": 2.0})
    app = create_app(settings, engine=engine, client=dev_env.client)
    gateway = TwilioGateway(settings, http_client=fake.http_client())
    async with (
        running_worker(dev_env.client, engine, settings, gateway=gateway),
        api_client(app) as http,
    ):
        started = time.monotonic()
        for i in range(4):
            body = complaint_body(citizen__phone=f"98765432{i:02d}")
            assert (await http.post("/v1/complaints", json=body)).status_code == 201
        await eventually(lambda: _count(fake), lambda n: n >= 12, within=30)
    stamps = sorted(m.monotonic for m in fake.created)
    assert len(stamps) == 12
    # Unlimited, the twelve go out within a fraction of a second; at 2/s with a burst of at
    # most 4, the last is handed over at least (12 - 1 - 4) / 2 s after the first.
    burst = 4
    assert stamps[-1] - stamps[0] >= (12 - 1 - burst) / 2.0, [round(s - started, 2) for s in stamps]


async def _count(fake: FakeTwilio) -> int:
    return len(fake.created)


# ---- delivery receipts -------------------------------------------------------------------


async def test_delivery_receipt_updates_message_and_timeline_once(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    case = await _registered_and_acknowledged(tw_stack, fake)
    reg = case["registration_number"]
    ack = _ack_of(case)
    assert ack
    token = fake.auth_token

    path, params = _receipt(ack, "sent")
    assert (await _post_signed(tw_stack, path, params, token)).status_code == 204
    path, params = _receipt(ack, "delivered")
    assert (await _post_signed(tw_stack, path, params, token)).status_code == 204
    case = await eventually(
        lambda: _case(tw_stack, reg),
        lambda c: "sms_delivered" in [e["event"] for e in c["timeline"]],
    )
    ack = _ack_of(case)
    assert ack and ack["status"] == "delivered" and ack["delivered_at"]
    entry = next(e for e in case["timeline"] if e["event"] == "sms_delivered")
    assert entry["note"] == "acknowledgement to citizen" and entry["actor"] == "sms"

    # Replayed duplicate and a late "sent": nothing changes.
    for status in ("delivered", "sent"):
        path, params = _receipt(ack, status)
        assert (await _post_signed(tw_stack, path, params, token)).status_code == 204
    again = await _case(tw_stack, reg)
    assert again["timeline"] == case["timeline"]
    assert _ack_of(again) == ack
    # In the audit trail as from the signer, Twilio: the four receipts.
    trail = (await tw_stack.get("/v1/audit", params={"subject": "twilio"})).json()["data"]
    assert [(e["route"], e["outcome"]) for e in trail] == [("/v1/twilio/status", "succeeded")] * 4


async def test_undelivered_receipt_shows_in_timeline_and_work_list(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    case = await _registered_and_acknowledged(tw_stack, fake)
    reg = case["registration_number"]
    citizen_messages = [m for m in case["messages"] if m["recipient_kind"] == "citizen"]
    for message in citizen_messages:  # the number turned out dead
        path, params = _receipt(message, "undelivered", ErrorCode="30003")
        response = await _post_signed(tw_stack, path, params, fake.auth_token)
        assert response.status_code == 204
    case = await eventually(
        lambda: _case(tw_stack, reg),
        lambda c: (
            [e["event"] for e in c["timeline"]].count("sms_undelivered") == len(citizen_messages)
        ),
    )
    assert all(
        m["status"] == "undelivered" and m["error"] == "Twilio error 30003"
        for m in case["messages"]
        if m["recipient_kind"] == "citizen"
    )
    assert reg in await _unreachable(tw_stack)


@pytest.mark.parametrize("signature", ["forged", "missing", "other-url"])
async def test_receipt_with_bad_signature_is_refused_and_changes_nothing(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio, signature: str
) -> None:
    case = await _registered_and_acknowledged(tw_stack, fake)
    ack = _ack_of(case)
    assert ack
    path, params = _receipt(ack, "delivered")
    headers = _signed(path, params, fake.auth_token)
    if signature == "forged":
        headers = _signed(path, params, "not-the-auth-token")
    elif signature == "missing":
        del headers["X-Twilio-Signature"]
    else:  # a valid signature of another message's callback, replayed here
        headers = _signed(path + "x", params, fake.auth_token)
    response = await tw_stack.post(path, content=urlencode(params), headers=headers)
    assert response.status_code == 403
    # Recorded as refused, and not as from Twilio: nobody vouched for it.
    trail = (await tw_stack.get("/v1/audit", params={"outcome": "refused"})).json()["data"]
    assert [(e["route"], e["subject"]) for e in trail] == [("/v1/twilio/status", None)]
    after = await _case(tw_stack, case["registration_number"])
    assert _ack_of(after) == ack
    assert after["timeline"] == case["timeline"]


# ---- citizens' SMS commands --------------------------------------------------------------


async def _inbound(
    http: httpx.AsyncClient, body: str, sender: str, token: str, sid: str | None = None
) -> tuple[int, str]:
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }
    response = await _post_signed(http, "/v1/twilio/inbound", params, token)
    return response.status_code, response.text


def _reply(twiml: str) -> str:
    assert twiml.startswith("<?xml") and "<Response><Message>" in twiml, twiml
    return twiml.split("<Message>", 1)[1].split("</Message>", 1)[0]


async def test_status_command_answers_only_the_registered_phone(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    case = await _registered_and_acknowledged(tw_stack, fake)
    reg = case["registration_number"]
    token = fake.auth_token

    code, twiml = await _inbound(tw_stack, f"status {reg}", CITIZEN, token)
    assert code == 200
    reply = _reply(twiml)
    assert reg in reply and "With the department for action" in reply and "Next date" in reply

    code, twiml = await _inbound(tw_stack, f"स्थिति {reg}", "09876543210", token)  # same phone
    assert "कार्रवाई हेतु विभाग के पास" in _reply(twiml) and "अगली तिथि" in _reply(twiml)

    # Devanagari digits are understood too.
    digits = reg.translate(str.maketrans("0123456789", "०१२३४५६७८९"))
    code, twiml = await _inbound(tw_stack, f"स्थिति {digits}", CITIZEN, token)
    assert "अगली तिथि" in _reply(twiml)

    # Another phone learns nothing: the same answer as for a case that does not exist.
    _, stranger = await _inbound(tw_stack, f"STATUS {reg}", "+919123456789", token)
    _, missing = await _inbound(tw_stack, "STATUS 99999/2001", "+919123456789", token)
    assert "no case" in _reply(stranger)
    assert "With the department" not in stranger and "Next date" not in stranger
    assert _reply(stranger).replace(reg, "#") == _reply(missing).replace("99999/2001", "#")


async def test_review_command_requests_a_review(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio, any_engine: Engine
) -> None:
    case = await _registered_and_acknowledged(tw_stack, fake)
    reg = case["registration_number"]

    code, twiml = await _inbound(tw_stack, f"REVIEW {reg}", CITIZEN, fake.auth_token)
    assert code == 200
    assert "your review request is recorded" in _reply(twiml)
    case = await eventually(
        lambda: _case(tw_stack, reg),
        lambda c: any(
            e["event"] == "review_requested" and e["actor"] == "citizen (sms)"
            for e in c["timeline"]
        ),
    )
    # Not yet due: the case stays with the officer; the workflow answers by SMS.
    assert case["status"] == "awaiting_report"
    # The audit trail links the SMS command to its case.
    sequence, year = reg.split("/")
    linked = audit.entries(any_engine, complaint=(int(year), int(sequence)))
    assert any(e.route == "/v1/twilio/inbound" and e.subject == "twilio" for e in linked)
    await eventually(
        lambda: _case(tw_stack, reg),
        lambda c: any(m["template"] == "review_request_answer" for m in c["messages"]),
    )

    # Twilio redelivers the same message (same MessageSid): acted on and answered once.
    sid = "SM" + uuid.uuid4().hex
    first = await _inbound(tw_stack, f"REVIEW {reg}", CITIZEN, fake.auth_token, sid=sid)
    again = await _inbound(tw_stack, f"REVIEW {reg}", CITIZEN, fake.auth_token, sid=sid)
    assert "<Message>" in first[1] and "<Message>" not in again[1]
    timeline = [e["event"] for e in (await _case(tw_stack, reg))["timeline"]]
    assert timeline.count("review_requested") == 2  # the first message's, and this one's

    # From another phone: refused without a word about the case.
    _, twiml = await _inbound(tw_stack, f"समीक्षा {reg}", "+919123456789", fake.auth_token)
    assert "नहीं मिला" in _reply(twiml)
    after = await _case(tw_stack, reg)
    assert [e["event"] for e in after["timeline"]].count("review_requested") == 2


async def test_anything_else_gets_help_in_both_languages(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    code, twiml = await _inbound(tw_stack, "hello, is anyone there?", CITIZEN, fake.auth_token)
    assert code == 200
    reply = _reply(twiml)
    assert "STATUS 20983/2018" in reply and "स्थिति 20983/2018" in reply


async def test_unsigned_inbound_is_refused(tw_stack: httpx.AsyncClient) -> None:
    response = await tw_stack.post(
        "/v1/twilio/inbound",
        content=urlencode({"From": CITIZEN, "Body": "STATUS 1/2026"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403
    assert urlsplit(PUBLIC_URL).scheme == "https"


async def test_a_receipt_moves_only_a_message_sent_under_its_sid(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio, any_engine: Engine
) -> None:
    """A signed receipt addressed by `?key=` cannot mark a message that was never handed over
    (or handed over under another SID) as delivered."""
    case = await _registered_and_acknowledged(tw_stack, fake)
    ack = _ack_of(case)
    assert ack is not None and ack["status"] == "queued"
    forged = {**ack, "provider_sid": "SM" + uuid.uuid4().hex}
    path, params = _receipt(forged, "delivered")
    assert (await _post_signed(tw_stack, path, params, fake.auth_token)).status_code == 204
    engine = any_engine
    with Session(engine) as session:
        row = session.exec(select(Message).where(Message.key == ack["key"])).one()
        assert row.status is MessageStatus.QUEUED  # unchanged
        # A message never handed to the gateway (no SID) takes no receipt either.
        row.provider_sid = None
        session.add(row)
        session.commit()
    path, params = _receipt(ack, "delivered")
    assert (await _post_signed(tw_stack, path, params, fake.auth_token)).status_code == 204
    with Session(engine) as session:
        row = session.exec(select(Message).where(Message.key == ack["key"])).one()
        assert row.status is MessageStatus.QUEUED
