"""WhatsApp, end to end: the real workers on the dev server, the API, the real `twilio` library
against the local fake (which speaks WhatsApp: `whatsapp:` addresses, Content API templates,
status callbacks, inbound messages signed as Twilio signs them), on SQLite and PostgreSQL.

A citizen files a complaint by a WhatsApp conversation in Hindi and in English and gets its
number; its notifications go by WhatsApp (free text inside the 24-hour window, the approved
template with its variables outside it); a WhatsApp message that fails for good goes by SMS
once; a redelivered message acts once; commands, the verification answer and the daily limit
work there as on SMS; a conversation left idle is discarded, and the citizen told so.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from activities.templates import reply
from activities.twilio_gateway import TwilioGateway
from api.main import create_app
from api.routes import whatsapp as whatsapp_route
from core.models import Complaint, Message, Verification, WhatsAppContact, WhatsAppConversation
from core.settings import Settings
from harness.factories import complaint_body, eventually
from tests.fake_twilio import (
    CreatedMessage,
    FakeTwilio,
    message_status,
    signed_post,
    twiml_text,
    whatsapp_message,
)
from tests.helpers import api_client, running_worker
from tests.lifecycle_helpers import keep_history
from workflows.media import media_workflow_id
from workflows.whatsapp import fallback_workflow_id

PUBLIC_URL = "https://jansamvad.example.in"
INBOUND = PUBLIC_URL + "/v1/twilio/whatsapp"
CENTRE = "whatsapp:+919000000000"
ACK_TEMPLATE = "HX" + "a" * 32
ACK_TEXT = "CM Jan Samvad: complaint {{1}} registered. Help: {{2}}"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        server.approve_template(ACK_TEMPLATE, ACK_TEXT)
        yield server


@pytest.fixture
def wa_settings(settings: Settings, fake: FakeTwilio, tmp_path: Path) -> Settings:
    templates = tmp_path / "whatsapp-templates.json"
    entry = {"sid": ACK_TEMPLATE, "variables": ["reg", "helpline"]}
    templates.write_text(json.dumps({"acknowledgement|complaint": {"hi": entry, "en": entry}}))
    return settings.model_copy(
        update={
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_from_number": "+15005550006",
            "twilio_whatsapp_from": CENTRE,
            "whatsapp_templates_file": str(templates),
            "public_base_url": PUBLIC_URL,
            # One complaint per phone a day: every test's phone is its own.
            "complaints_per_phone_per_day": 1,
        }
    )


@pytest.fixture
async def stack(
    dev_env: WorkflowEnvironment, any_engine: Engine, wa_settings: Settings, fake: FakeTwilio
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(wa_settings, engine=any_engine, client=dev_env.client)
    gateway = TwilioGateway(wa_settings, http_client=fake.http_client())
    async with (
        running_worker(dev_env.client, any_engine, wa_settings, gateway=gateway),
        api_client(app) as http,
    ):
        yield http


def _engine(http: httpx.AsyncClient) -> Engine:
    return http._transport.app.state.jan_samvad.engine  # type: ignore[attr-defined]


def _phone() -> tuple[str, str]:
    """(as typed, E.164) of a phone of this test's own."""
    national = f"9{uuid.uuid4().int % 900_000_000 + 100_000_000}"
    return national, f"+91{national}"


async def _say(
    http: httpx.AsyncClient,
    fake: FakeTwilio,
    phone: str,
    text: str,
    sid: str | None = None,
    photo_url: str | None = None,
) -> str:
    answer = await whatsapp_message(
        http, INBOUND, phone, text, fake.auth_token, sid=sid, photo_url=photo_url
    )
    return twiml_text(answer)


async def _case(http: httpx.AsyncClient, reg: str) -> dict[str, Any]:
    sequence, year = reg.split("/")
    response = await http.get(f"/v1/complaints/{year}/{sequence}")
    assert response.status_code == 200, response.text
    return response.json()


def _cases_of(engine: Engine, phone: str) -> list[Complaint]:
    with Session(engine) as session:
        return list(session.exec(select(Complaint).where(Complaint.citizen_phone == phone)))


def _rows(engine: Engine, phone: str) -> list[Message]:
    with Session(engine) as session:
        query = select(Message).where(Message.recipient == phone).order_by(col(Message.id))
        return list(session.exec(query))


def _sent_to(fake: FakeTwilio, address: str) -> list[CreatedMessage]:
    return [m for m in fake.created if m.to == address]


async def _converse(
    http: httpx.AsyncClient,
    fake: FakeTwilio,
    phone: str,
    language: str,
    photo_url: str | None = None,
) -> tuple[str, str]:
    """A conversation that files a complaint in `language` (with a photo at `photo_url`);
    (registration number, the last message's Sid)."""
    welcome = await _say(http, fake, phone, "नमस्ते" if language == "hi" else "Hello")
    assert reply("reply|wa_welcome", "en", helpline="181") in welcome
    assert reply("reply|wa_welcome", "hi", helpline="181") in welcome
    asked = await _say(http, fake, phone, "1" if language == "hi" else "2")
    assert asked == reply("reply|wa_ask_name", language)
    name = "रमेश महतो" if language == "hi" else "Ramesh Mahto"
    assert await _say(http, fake, phone, name) == reply("reply|wa_ask_district", language)
    refused = await _say(http, fake, phone, "Atlantis")
    assert refused == reply("reply|wa_unknown_district", language)
    district = "रांची" if language == "hi" else "Ranchi"
    assert await _say(http, fake, phone, district) == reply("reply|wa_ask_problem", language)
    sid = "SM" + uuid.uuid4().hex
    problem = "गाँव का हैंडपंप खराब है" if language == "hi" else "The village handpump is broken"
    registered = await _say(http, fake, phone, problem, sid=sid, photo_url=photo_url)
    with Session(_engine(http)) as session:
        row = session.exec(select(Complaint).where(Complaint.citizen_phone == phone)).one()
    reg = row.registration_number
    assert registered == reply("reply|wa_registered", language, reg=reg, helpline="181")
    return reg, sid


@pytest.mark.parametrize("language", ["hi", "en"])
async def test_a_conversation_registers_a_complaint_and_its_notices_come_by_whatsapp(
    stack: httpx.AsyncClient, fake: FakeTwilio, language: str
) -> None:
    engine = _engine(stack)
    _national, phone = _phone()
    reg, last_sid = await _converse(stack, fake, phone, language)

    (row,) = _cases_of(engine, phone)
    assert row.channel == "whatsapp" and row.language == language
    assert row.citizen_district == "Ranchi" and row.citizen_name.endswith(("Mahto", "महतो"))
    assert row.description in ("गाँव का हैंडपंप खराब है", "The village handpump is broken")
    with Session(engine) as session:
        contact = session.get(WhatsAppContact, phone)
        assert contact is not None and contact.preference == "whatsapp"
        assert contact.preference_by == "whatsapp" and contact.last_inbound_at is not None
        assert session.get(WhatsAppConversation, phone) is None  # ended

    # Twilio redelivers the last message: answered empty, nothing registered twice.
    assert await _say(stack, fake, phone, "anything", sid=last_sid) == ""
    assert len(_cases_of(engine, phone)) == 1

    # The acknowledgement goes by WhatsApp, as free text (inside the window); no SMS.
    case = await eventually(
        lambda: _case(stack, reg),
        lambda c: (
            c["status"] == "awaiting_report"
            and any(reg in m.body for m in _sent_to(fake, "whatsapp:" + phone))
        ),
    )
    await _settle(stack, reg)
    sent = _sent_to(fake, "whatsapp:" + phone)
    assert sent and all(m.content_sid is None for m in sent)
    assert all(m.form["From"] == CENTRE for m in sent)
    assert _sent_to(fake, phone) == []
    ack = next(m for m in _rows(engine, phone) if m.template == "acknowledgement")
    assert ack.channel == "whatsapp" and ack.provider_sid in {m.sid for m in sent}
    assert case["channel"] == "whatsapp"
    assert {m["channel"] for m in case["messages"] if m["recipient_kind"] == "citizen"} == {
        "whatsapp"
    }

    # STATUS works on WhatsApp as on SMS.
    command = "स्थिति" if language == "hi" else "STATUS"
    status = await _say(stack, fake, phone, f"{command} {reg}")
    assert reg in status


async def test_outside_the_window_a_notice_goes_as_its_template_with_its_variables(
    stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    engine = _engine(stack)
    national, phone = _phone()
    # Bad input: the preference is checked and named.
    bad = await stack.post(
        "/v1/complaints",
        json={**complaint_body(citizen__phone=national), "channel_preference": "pigeon"},
    )
    assert bad.status_code == 422 and "channel_preference" in bad.text
    assert _cases_of(engine, phone) == []
    created = await stack.post(
        "/v1/complaints",
        json={**complaint_body(citizen__phone=national), "channel_preference": "whatsapp"},
    )
    assert created.status_code == 201, created.text
    reg = created.json()["registration_number"]

    # The citizen never wrote: the acknowledgement goes as its approved template.
    await eventually(
        lambda: _case(stack, reg),
        lambda c: (
            {"acknowledgement", "forwarded"}
            <= {m["template"] for m in c["messages"] if m["status"] != "pending"}
        ),
    )
    (ack,) = [m for m in _sent_to(fake, "whatsapp:" + phone)]
    assert ack.content_sid == ACK_TEMPLATE and "Body" not in ack.form
    assert ack.content_variables == {"1": reg, "2": "181"}
    assert ack.body == f"CM Jan Samvad: complaint {reg} registered. Help: 181"
    # The forwarding notice has no approved template: it goes by SMS, and its WhatsApp row
    # says why.
    forwarded = await eventually(
        lambda: _async(lambda: [m for m in _rows(engine, phone) if m.template == "forwarded"]),
        lambda rows: any(m.channel == "sms" and m.status.value != "pending" for m in rows),
    )
    assert {m.channel for m in forwarded} == {"whatsapp", "sms"}
    failed = next(m for m in forwarded if m.channel == "whatsapp")
    assert failed.status.value == "failed" and "no approved WhatsApp template" in (
        failed.error or ""
    )
    assert "sent by SMS instead" in (failed.error or "")
    assert len(_sent_to(fake, phone)) == 1


async def test_a_failed_whatsapp_message_falls_back_to_sms_once(
    stack: httpx.AsyncClient, fake: FakeTwilio, dev_env: WorkflowEnvironment, wa_settings: Settings
) -> None:
    engine = _engine(stack)
    national, phone = _phone()
    # The desk records the citizen's choice; the citizen wrote today (the window is open).
    desk = await stack.put("/v1/whatsapp/preference", json={"phone": national, "preference": "x"})
    assert desk.status_code == 422 and "preference" in desk.text
    desk = await stack.put(
        "/v1/whatsapp/preference", json={"phone": national, "preference": "whatsapp"}
    )
    assert desk.status_code == 200 and desk.json() == {"phone": phone, "preference": "whatsapp"}
    await _say(stack, fake, phone, "Hello")  # opens the window (and a conversation)
    created = await stack.post("/v1/complaints", json=complaint_body(citizen__phone=national))
    assert created.status_code == 201, created.text
    reg = created.json()["registration_number"]
    case = await eventually(
        lambda: _case(stack, reg),
        lambda c: any(
            m["template"] == "acknowledgement" and m["status"] == "queued" for m in c["messages"]
        ),
    )
    sid = next(m["provider_sid"] for m in case["messages"] if m["template"] == "acknowledgement")
    (ack,) = [m for m in _sent_to(fake, "whatsapp:" + phone) if m.sid == sid]
    assert ack.content_sid is None  # free text: inside the window
    # WhatsApp gives up on it (the number is not on WhatsApp), and says so twice.
    for _ in range(2):
        await message_status(stack, ack, "failed", fake.auth_token, error_code="63003")
    sms = await eventually(
        lambda: _async(lambda: _sent_to(fake, phone)), lambda found: len(found) >= 1
    )
    await _settle(stack, reg)
    assert [m.body for m in _sent_to(fake, phone)] == [ack.body]  # once, the same text
    keys = {m.key: m for m in _rows(engine, phone) if m.template == "acknowledgement"}
    whatsapp_row = next(m for m in keys.values() if m.channel == "whatsapp")
    assert whatsapp_row.key + ":sms" in keys and keys[whatsapp_row.key + ":sms"].channel == "sms"
    assert "sent by SMS instead" in (whatsapp_row.error or "")
    assert sms[0].form["From"] == "+15005550006"
    if engine.dialect.name == "sqlite":
        fallback = fallback_workflow_id(wa_settings.workflow_id_prefix, whatsapp_row.key)
        await keep_history(dev_env.client.get_workflow_handle(fallback), "whatsapp_fallback_sms")
    # The failure is on the case's timeline.
    case = await _case(stack, reg)
    assert any(e["event"] == "sms_failed" for e in case["timeline"])
    # The SMS stand-in failing in turn starts nothing more.
    await message_status(stack, sms[0], "undelivered", fake.auth_token, error_code="30003")
    await _settle(stack, reg)
    assert len(_sent_to(fake, phone)) == 1


async def _async(probe: Any) -> Any:
    return probe()


async def _settle(http: httpx.AsyncClient, reg: str) -> None:
    """Waits until no message of the case is pending (a started fallback has sent)."""
    await eventually(
        lambda: _case(http, reg), lambda c: all(m["status"] != "pending" for m in c["messages"])
    )


async def test_the_verification_question_is_answered_on_whatsapp(
    stack: httpx.AsyncClient, fake: FakeTwilio, dev_env: WorkflowEnvironment, wa_settings: Settings
) -> None:
    engine = _engine(stack)
    _national, phone = _phone()
    photo = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    reg, _sid = await _converse(stack, fake, phone, "en", photo_url=photo)
    # The photo sent with the problem is fetched into the case, as an Open311 media_url is.
    sequence, year = reg.split("/")
    media = dev_env.client.get_workflow_handle(
        media_workflow_id(wa_settings.workflow_id_prefix, int(year), int(sequence))
    )
    assert (await media.describe()).workflow_type == "MediaFetchWorkflow"  # raises if none
    await eventually(lambda: _case(stack, reg), lambda c: c["status"] == "awaiting_report")
    report = {"outcome": "resolved", "reply": "Repaired."}
    done = await stack.post(f"/v1/complaints/{year}/{sequence}/report", json=report)
    assert done.status_code == 200, done.text
    question = reply("reply|wa_verify", "en")
    await eventually(
        lambda: _async(lambda: [m.body for m in _sent_to(fake, "whatsapp:" + phone)]),
        lambda bodies: question in bodies,
    )
    answered = await _say(stack, fake, phone, "1")
    assert answered == reply("reply|wa_solved", "en", reg=reg)
    case = await _case(stack, reg)
    assert case["status"] == "closed"
    assert any(e["actor"] == "whatsapp" for e in case["timeline"])
    # Counted on the dashboard as verified on WhatsApp, not as a telecaller's call.
    with Session(engine) as session:
        channels = session.exec(
            select(Verification.channel).where(
                Verification.complaint_id == _cases_of(engine, phone)[0].id
            )
        ).all()
    assert channels == ["whatsapp"], channels
    # The closure's rating digit, then, as by SMS.
    rated = await _say(stack, fake, phone, "5")
    assert rated == reply("reply|rated", "en", reg=reg, score="5")
    assert _cases_of(engine, phone)[0].rating == 5
    # Recorded as rated on WhatsApp, not by SMS.
    rated_event = await eventually(
        lambda: _case(stack, reg),
        lambda c: any(e["event"] == "closure_rated" for e in c["timeline"]),
    )
    closure_rated = [e for e in rated_event["timeline"] if e["event"] == "closure_rated"]
    assert closure_rated[-1]["channel"] == "whatsapp", closure_rated


async def test_the_daily_limit_signatures_expiry_and_floods(
    stack: httpx.AsyncClient, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(stack)
    national, phone = _phone()
    # Unsigned, or signed with another token: refused before anything is read.
    forged = await signed_post(stack, INBOUND, {"From": "whatsapp:" + phone, "Body": "hi"}, "x")
    assert forged.status_code == 403
    with Session(engine) as session:
        assert session.get(WhatsAppContact, phone) is None

    # The phone filed its one complaint of the day at the desk: the conversation says so.
    first = await stack.post("/v1/complaints", json=complaint_body(citizen__phone=national))
    assert first.status_code == 201
    await _say(stack, fake, phone, "Hi")
    for answer in ("2", "Asha Devi", "Dumka"):
        await _say(stack, fake, phone, answer)
    limited = await _say(stack, fake, phone, "Streetlight broken")
    assert limited == reply("reply|wa_limit", "en", helpline="181")
    assert len(_cases_of(engine, phone)) == 1

    # A conversation left idle is discarded, and the citizen is told so at their next word.
    await _say(stack, fake, phone, "Hi")
    await _say(stack, fake, phone, "2")
    with Session(engine) as session:
        row = session.get(WhatsAppConversation, phone)
        assert row is not None and row.step == "name"
        row.updated_at -= timedelta(minutes=31)
        session.add(row)
        session.commit()
    again = await _say(stack, fake, phone, "Asha Devi")
    assert again.startswith(reply("reply|wa_discarded", "en", minutes="30"))
    with Session(engine) as session:
        fresh = session.get(WhatsAppConversation, phone)
        assert fresh is not None and fresh.step == "language"

    # A flood from one phone is not acted on beyond the hourly allowance.
    monkeypatch.setattr(whatsapp_route, "MAX_MESSAGES_PER_HOUR", 10)  # 8 so far this hour
    answers = [await _say(stack, fake, phone, "2") for _ in range(4)]
    assert answers[0] != "" and answers[1] != "" and answers[2:] == ["", ""]


async def test_both_sends_the_sms_and_a_whatsapp_copy(
    stack: httpx.AsyncClient, fake: FakeTwilio
) -> None:
    engine = _engine(stack)
    national, phone = _phone()
    await _say(stack, fake, phone, "Hello")  # the window opens; WhatsApp chosen by this word
    created = await stack.post(
        "/v1/complaints",
        json={**complaint_body(citizen__phone=national), "channel_preference": "both"},
    )
    assert created.status_code == 201, created.text
    reg = created.json()["registration_number"]
    with Session(engine) as session:
        contact = session.get(WhatsAppContact, phone)
        assert contact is not None and contact.preference == "both"
        assert contact.preference_by == "registration"
    await eventually(
        lambda: _async(
            lambda: [m for m in _rows(engine, phone) if m.template == "acknowledgement"]
        ),
        lambda rows: len(rows) == 2 and all(m.status.value != "pending" for m in rows),
    )
    acks = {m.channel: m for m in _rows(engine, phone) if m.template == "acknowledgement"}
    assert acks["whatsapp"].key == acks["sms"].key + ":wa"
    assert [m.body for m in _sent_to(fake, phone) if reg in m.body][:1] == [acks["sms"].text]
    assert any(m.body == acks["sms"].text for m in _sent_to(fake, "whatsapp:" + phone))
