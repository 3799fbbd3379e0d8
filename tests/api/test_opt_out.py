"""STOP and START by SMS: the citizen's choice is recorded once per inbound
SMS, confirmed in each language, durable in the read model and honoured where SMS are sent.

Through the real twilio library to the local fake Twilio (what reaches the provider is
counted), with the real workers and the dev server, on SQLite and PostgreSQL. After STOP a new
complaint's acknowledgement and forwarding notice are recorded and not sent; a decision on the
open case (the department's report) still goes out; START restores everything; a replayed
webhook (same MessageSid) acts once, even after a later START.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.sms import OPTED_OUT_NOTE
from core.models import SmsChoice
from harness.factories import complaint_body, eventually
from tests.api.test_twilio_webhooks import _case, _inbound, _reply, fake, tw_settings, tw_stack
from tests.fake_twilio import FakeTwilio

__all__ = ["fake", "tw_settings", "tw_stack"]  # the fixtures, shared with the webhook tests


def _phone() -> tuple[str, str]:
    """(as typed, E.164) of a phone of this test's own."""
    national = f"9{uuid.uuid4().int % 900_000_000 + 100_000_000}"
    return national, f"+91{national}"


def _choice(engine: Engine, phone: str) -> bool | None:
    with Session(engine) as session:
        row = session.get(SmsChoice, phone)
        return None if row is None else row.opted_out


def _to(fake: FakeTwilio, phone: str) -> list[str]:
    return [m.body for m in fake.created if m.to == phone]


async def _registered(http: httpx.AsyncClient, national: str) -> dict[str, Any]:
    created = await http.post("/v1/complaints", json=complaint_body(citizen__phone=national))
    assert created.status_code == 201, created.text
    reg = created.json()["registration_number"]

    def settled(case: dict[str, Any]) -> bool:
        citizen = [m for m in case["messages"] if m["recipient_kind"] == "citizen"]
        templates = {m["template"] for m in citizen if m["status"] != "pending"}
        return case["status"] == "awaiting_report" and {"acknowledgement", "forwarded"} <= templates

    return await eventually(lambda: _case(http, reg), settled)


def _citizen_messages(case: dict[str, Any], template: str) -> list[dict[str, Any]]:
    return [
        m
        for m in case["messages"]
        if m["recipient_kind"] == "citizen" and m["template"] == template
    ]


@pytest.mark.parametrize("stop_word", ["STOP", "unsubscribe", "बंद"])
async def test_stop_is_recorded_confirmed_and_honoured_start_restores(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio, stop_word: str
) -> None:
    engine: Engine = tw_stack._transport.app.state.jan_samvad.engine  # type: ignore[attr-defined]
    national, phone = _phone()
    first = await _registered(tw_stack, national)
    assert _citizen_messages(first, "acknowledgement")[0]["provider"] == "twilio"
    sent_before = len(_to(fake, phone))
    assert sent_before >= 2  # acknowledgement and forwarding notice

    # STOP: recorded and confirmed, in English and Hindi.
    stop_sid = "SM" + uuid.uuid4().hex
    code, twiml = await _inbound(tw_stack, stop_word, phone, fake.auth_token, sid=stop_sid)
    assert code == 200
    confirmation = _reply(twiml)
    assert "no more SMS" in confirmation and "START" in confirmation
    assert "शुरू" in confirmation
    assert _choice(engine, phone) is True
    # The same webhook again (Twilio's redelivery): acted on once, an empty answer.
    code, again = await _inbound(tw_stack, stop_word, phone, fake.auth_token, sid=stop_sid)
    assert code == 200 and "<Message>" not in again

    # A new complaint: its acknowledgement and forwarding notice are recorded, not sent.
    second = await _registered(tw_stack, national)
    for template in ("acknowledgement", "forwarded"):
        (message,) = _citizen_messages(second, template)
        assert message["provider"] == "withheld", message
        assert message["status"] == "outbox"
        assert message["error"] == OPTED_OUT_NOTE
    assert len(_to(fake, phone)) == sent_before
    # The officer is still told.
    officers = [m for m in second["messages"] if m["recipient_kind"] == "officer"]
    assert officers and all(m["provider"] == "twilio" for m in officers)

    # A decision on the open case still reaches the citizen.
    year, sequence = second["year"], second["sequence"]
    reported = await tw_stack.post(
        f"/v1/complaints/{year}/{sequence}/report",
        json={"outcome": "resolved", "reply": "Handpump repaired"},
    )
    assert reported.status_code == 200, reported.text
    decided = await eventually(
        lambda: _case(tw_stack, second["registration_number"]),
        lambda c: any(m["status"] != "pending" for m in _citizen_messages(c, "report_received")),
    )
    (report_sms,) = _citizen_messages(decided, "report_received")
    assert report_sms["provider"] == "twilio" and report_sms["error"] is None
    assert len(_to(fake, phone)) == sent_before + 1

    # START (in Hindi): recorded and confirmed; the old STOP replayed changes nothing.
    code, twiml = await _inbound(tw_stack, "शुरू", phone, fake.auth_token)
    assert "STOP" in _reply(twiml)
    assert _choice(engine, phone) is False
    code, replayed = await _inbound(tw_stack, stop_word, phone, fake.auth_token, sid=stop_sid)
    assert "<Message>" not in replayed
    assert _choice(engine, phone) is False

    third = await _registered(tw_stack, national)
    assert _citizen_messages(third, "acknowledgement")[0]["provider"] == "twilio"
    assert len(_to(fake, phone)) >= sent_before + 3


async def test_stop_from_another_phone_changes_nobody_else(
    tw_stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    engine: Engine = tw_stack._transport.app.state.jan_samvad.engine  # type: ignore[attr-defined]
    national, phone = _phone()
    _other_national, other = _phone()
    await _inbound(tw_stack, "stop", other, fake.auth_token)
    assert _choice(engine, other) is True and _choice(engine, phone) is None
    case = await _registered(tw_stack, national)
    assert _citizen_messages(case, "acknowledgement")[0]["provider"] == "twilio"
    # Words that only contain a command word are not one.
    _code, twiml = await _inbound(tw_stack, "please stop the noise", phone, fake.auth_token)
    assert "STATUS 20983/2018" in _reply(twiml)
    assert _choice(engine, phone) is None
