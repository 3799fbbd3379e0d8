"""`send_sms` through the real twilio library against the local fake of Twilio's REST API:
success, retryable errors (429, 5xx), permanent refusals, and a retry after a lost response."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from twilio.base.exceptions import TwilioRestException

from activities.sms import OutboxGateway, SmsActivities, make_gateway
from activities.twilio_gateway import TwilioGateway
from api.services.intake import register_complaint
from core.models import Message, utcnow
from core.settings import Settings
from harness.factories import complaint_body
from schemas.complaint import ComplaintCreate
from schemas.enums import MessageStatus, RecipientKind
from schemas.workflow import SendSmsInput, SmsTemplate
from tests.fake_twilio import FakeTwilio

SENDER = "+15005550006"
PUBLIC_URL = "https://jansamvad.example.in"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def twilio_settings(settings: Settings, fake: FakeTwilio, **extra: object) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_from_number": SENDER,
            "public_base_url": PUBLIC_URL,
            **extra,
        }
    )


def _activities(engine: Engine, settings: Settings, fake: FakeTwilio) -> SmsActivities:
    gateway = TwilioGateway(settings, http_client=fake.http_client())
    return SmsActivities(engine, gateway, settings)


def _ack(engine: Engine, **overrides: object) -> SendSmsInput:
    row, _ = register_complaint(
        engine,
        ComplaintCreate.model_validate(complaint_body(**overrides)),
        idempotency_key=None,
        now=utcnow(),
    )
    reg = row.registration_number
    return SendSmsInput(
        registration_number=reg,
        key=f"{reg}:1:acknowledgement:citizen",
        template=SmsTemplate.ACKNOWLEDGEMENT,
        recipient=RecipientKind.CITIZEN,
    )


def _message(engine: Engine, key: str) -> Message:
    with Session(engine) as session:
        message = session.exec(select(Message).where(Message.key == key)).one()
        session.expunge(message)
        return message


def test_sends_through_twilio_with_a_status_callback_naming_the_message(
    engine: Engine, settings: Settings, fake: FakeTwilio
) -> None:
    settings = twilio_settings(settings, fake)
    sms = _ack(engine)
    result = ActivityEnvironment().run(_activities(engine, settings, fake).send_sms, sms)

    assert result.status is MessageStatus.QUEUED and not result.duplicate
    [sent] = fake.created
    assert sent.to == "+919876543210"
    assert sent.form["From"] == SENDER
    assert "शिकायत" in sent.body and sms.registration_number in sent.body
    callback = urlsplit(sent.form["StatusCallback"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == (
        f"{PUBLIC_URL}/v1/twilio/status"
    )
    assert parse_qs(callback.query) == {"key": [sms.key]}
    message = _message(engine, sms.key)
    assert message.provider == "twilio" and message.provider_sid == sent.sid
    assert message.status is MessageStatus.QUEUED and message.sent_at is not None


def test_messaging_service_is_used_when_configured(
    engine: Engine, settings: Settings, fake: FakeTwilio
) -> None:
    settings = twilio_settings(
        settings, fake, twilio_from_number="", twilio_messaging_service_sid="MG" + "2" * 32
    )
    sms = _ack(engine)
    ActivityEnvironment().run(_activities(engine, settings, fake).send_sms, sms)
    [sent] = fake.created
    assert sent.form["MessagingServiceSid"] == "MG" + "2" * 32
    assert "From" not in sent.form


@pytest.mark.parametrize(
    ("status", "code"), [(429, 20429), (500, 20500), (503, 20503)], ids=["429", "500", "503"]
)
def test_rate_limited_or_server_error_is_retryable_then_sent_once(
    engine: Engine, settings: Settings, fake: FakeTwilio, status: int, code: int
) -> None:
    settings = twilio_settings(settings, fake)
    activities = _activities(engine, settings, fake)
    sms = _ack(engine)
    fake.fail_next(status, code, "Too Many Requests" if status == 429 else "Internal error")

    # An ordinary exception (not a non-retryable ApplicationError): Temporal retries it.
    with pytest.raises(TwilioRestException) as raised:
        ActivityEnvironment().run(activities.send_sms, sms)
    assert raised.value.status == status
    assert _message(engine, sms.key).status is MessageStatus.PENDING

    result = ActivityEnvironment().run(activities.send_sms, sms)  # the retry
    assert result.status is MessageStatus.QUEUED
    assert len(fake.created) == 1
    assert _message(engine, sms.key).provider_sid == fake.created[0].sid


@pytest.mark.parametrize("code", [21211, 21614, 21408])
def test_permanent_refusal_fails_non_retryably(
    engine: Engine, settings: Settings, fake: FakeTwilio, code: int
) -> None:
    settings = twilio_settings(settings, fake)
    activities = _activities(engine, settings, fake)
    sms = _ack(engine)
    fake.fail_next(400, code, "The 'To' number +919876543210 is not a valid phone number.")

    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(activities.send_sms, sms)
    assert raised.value.non_retryable
    assert raised.value.type == "PermanentSmsError"
    assert str(code) in raised.value.message
    message = _message(engine, sms.key)
    assert message.status is MessageStatus.FAILED
    assert message.error and str(code) in message.error
    assert fake.created == []

    # A later (e.g. manual) retry of the same key does not try again.
    result = ActivityEnvironment().run(activities.send_sms, sms)
    assert result.duplicate and result.status is MessageStatus.FAILED
    assert fake.create_requests == 1


def test_retry_after_a_lost_response_does_not_send_again(
    engine: Engine, settings: Settings, fake: FakeTwilio
) -> None:
    settings = twilio_settings(settings, fake)
    activities = _activities(engine, settings, fake)
    sms = _ack(engine)
    fake.lose_next_response()

    with pytest.raises(requests.ConnectionError) as raised:  # the response never came
        ActivityEnvironment().run(activities.send_sms, sms)
    assert not isinstance(raised.value, ApplicationError)
    [sent] = fake.created  # Twilio did create it: the citizen gets it
    assert _message(engine, sms.key).status is MessageStatus.PENDING

    result = ActivityEnvironment().run(activities.send_sms, sms)  # the retry
    assert result.duplicate
    assert fake.create_requests == 1 and len(fake.created) == 1  # asked, did not resend
    assert fake.list_requests == 1
    message = _message(engine, sms.key)
    assert message.provider_sid == sent.sid and message.status is MessageStatus.QUEUED

    # Once recorded, a further retry asks nobody.
    again = ActivityEnvironment().run(activities.send_sms, sms)
    assert again.duplicate and fake.create_requests == 1 and fake.list_requests == 1


def test_lost_request_is_sent_on_retry(
    engine: Engine, settings: Settings, fake: FakeTwilio
) -> None:
    """The other half of the window: nothing reached Twilio, so the retry sends it."""
    settings = twilio_settings(settings, fake)
    activities = _activities(engine, settings, fake)
    sms = _ack(engine)
    fake.fail_next(503, 20503, "Service unavailable")
    with pytest.raises(TwilioRestException):
        ActivityEnvironment().run(activities.send_sms, sms)
    # Simulate a crash that left the row pending with nothing at Twilio: the retry lists,
    # finds nothing with this body, and sends.
    result = ActivityEnvironment().run(activities.send_sms, sms)
    assert not result.duplicate and len(fake.created) == 1


def test_find_sent_ignores_other_bodies_and_older_messages(
    engine: Engine, settings: Settings, fake: FakeTwilio
) -> None:
    settings = twilio_settings(settings, fake)
    activities = _activities(engine, settings, fake)
    first, second = _ack(engine), _ack(engine)  # same phone, different texts
    ActivityEnvironment().run(activities.send_sms, first)
    fake.lose_next_response()
    with pytest.raises(requests.ConnectionError):
        ActivityEnvironment().run(activities.send_sms, second)
    result = ActivityEnvironment().run(activities.send_sms, second)
    assert result.duplicate and len(fake.created) == 2
    assert _message(engine, second.key).provider_sid == fake.created[1].sid


def test_make_gateway_picks_twilio_only_when_configured(settings: Settings) -> None:
    assert isinstance(make_gateway(settings), OutboxGateway)
    configured = settings.model_copy(
        update={
            "twilio_account_sid": "AC" + "1" * 32,
            "twilio_auth_token": "token",
            "twilio_messaging_service_sid": "MG" + "2" * 32,
        }
    )
    assert isinstance(make_gateway(configured), TwilioGateway)
    # Credentials without a sender are not a configured gateway.
    no_sender = configured.model_copy(update={"twilio_messaging_service_sid": ""})
    assert isinstance(make_gateway(no_sender), OutboxGateway)


def test_identical_text_sent_earlier_is_not_taken_for_this_one(
    engine: Engine, settings: Settings, fake: FakeTwilio
) -> None:
    """The same text to the same citizen twice (two keys): the earlier Twilio message belongs
    to the earlier row, so the retry of the second one still sends."""
    settings = twilio_settings(settings, fake)
    activities = _activities(engine, settings, fake)
    first = _ack(engine)
    second = first.model_copy(update={"key": first.key.replace(":1:", ":7:")})
    ActivityEnvironment().run(activities.send_sms, first)
    fake.fail_next(503, 20503, "Service unavailable")
    with pytest.raises(TwilioRestException):
        ActivityEnvironment().run(activities.send_sms, second)
    result = ActivityEnvironment().run(activities.send_sms, second)
    assert not result.duplicate
    assert len(fake.created) == 2 and fake.created[0].body == fake.created[1].body
    assert _message(engine, second.key).provider_sid == fake.created[1].sid
