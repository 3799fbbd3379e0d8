"""The IVR verification call: a gateway interface (Twilio Voice through the `twilio` library)
and the `place_call` activity, which places one call at most once per call key.

Like `activities.delivery.deliver_once`: the call's row is written before Twilio is asked, and a
retry that finds a CallSid on it returns that call instead of placing another. Twilio has no
idempotency key for calls, so a crash between Twilio's answer and our write (a lost CallSid)
can still place a second call on the retry; the window is that one write.

The number of calls in progress is bounded (`ivr_max_concurrent_calls`): a call over the
bound waits (the activity fails retryably and Temporal tries again with backoff).
"""

from __future__ import annotations

import abc
import logging
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from temporalio import activity
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.rest import Client

from activities import twilio_gateway
from activities.case import find_complaint
from core.attachments import Refused
from core.db import read_session, write_session
from core.models import IvrCall, utcnow
from core.settings import Environment, Settings
from schemas.voice import PlaceCallInput, PlacedCall

log = logging.getLogger(__name__)

# Twilio's call statuses of a call still in progress (the bound counts these).
ACTIVE_STATUSES = ("pending", "queued", "initiated", "ringing", "in-progress")
# A call row older than this no longer counts against the bound (its status was lost).
_STALE_AFTER = timedelta(minutes=30)


def voice_url(settings: Settings, path: str, key: str) -> str:
    """A voice webhook's public URL for the call `key` (what Twilio signs)."""
    return f"{settings.public_base_url.rstrip('/')}/v1/voice/{path}?{urlencode({'key': key})}"


class VoiceGateway(abc.ABC):
    name: str

    @abc.abstractmethod
    def place(self, *, to: str, key: str) -> str:
        """Place the call whose TwiML and status callbacks are keyed by `key`; its CallSid."""


class TwilioVoiceGateway(VoiceGateway):
    """Twilio's Calls API: the TwiML is fetched from our API (`/v1/voice/twiml`), the final
    status posted to `/v1/voice/status`, both signed by Twilio."""

    name = "twilio"

    def __init__(self, settings: Settings, *, http_client: HttpClient | None = None) -> None:
        self._settings = settings
        # Looked up on the module at call time: the local fake swaps the library's client.
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=http_client or twilio_gateway.TwilioHttpClient(timeout=15),
        )

    def place(self, *, to: str, key: str) -> str:
        settings = self._settings
        try:
            call = self._client.calls.create(
                to=to,
                from_=settings.twilio_voice_from_number or settings.twilio_from_number,
                url=voice_url(settings, "twiml", key),
                method="POST",
                status_callback=voice_url(settings, "status", key),
                status_callback_method="POST",
            )
        except TwilioRestException as err:
            if err.code in twilio_gateway.PERMANENT_ERROR_CODES or err.status in (400, 404):
                raise ApplicationError(
                    f"Twilio refused the call: error {err.code}", non_retryable=True
                ) from err
            raise  # 429, 5xx: retried by Temporal with backoff
        assert call.sid
        return call.sid


class LocalVoiceGateway(VoiceGateway):
    """Development without Twilio (`make run`): the call is recorded, not placed, and waits
    for `make answer-call CASE=12/2026 DIGIT=1` (harness/answer_call.py) to play Twilio's
    part against the API."""

    name = "local"

    def place(self, *, to: str, key: str) -> str:
        sid = "CA" + uuid.uuid4().hex
        log.info(
            "IVR call %s NOT PLACED (no Twilio configured): answer it with "
            "`make answer-call CASE=%s DIGIT=1`",
            sid,
            key.split(":", 1)[0],
        )
        return sid


def make_voice_gateway(settings: Settings) -> VoiceGateway | None:
    """Twilio when it is configured; in development the local stand-in; None otherwise (no
    call can be placed: the telecaller calls, as before IVR)."""
    if settings.twilio_configured:
        return TwilioVoiceGateway(settings)
    if settings.environment is Environment.DEVELOPMENT:
        return LocalVoiceGateway()
    return None


# What signs the voice webhooks where no Twilio auth token is configured: development only
# (the local stand-in signs with it); anywhere else an unconfigured token refuses them all.
LOCAL_SIGNING_TOKEN = "local-development-voice"


def signing_token(settings: Settings) -> str:
    """The token the voice webhooks are signed with (Twilio's auth token)."""
    if settings.twilio_auth_token or settings.environment is not Environment.DEVELOPMENT:
        return settings.twilio_auth_token
    return LOCAL_SIGNING_TOKEN


class VoiceActivities:
    def __init__(self, engine: Engine, gateway: VoiceGateway | None, settings: Settings) -> None:
        self._engine = engine
        self._gateway = gateway
        self._settings = settings

    @activity.defn
    def place_call(self, input: PlaceCallInput) -> PlacedCall:
        """Place one IVR call to the citizen of the case, at most once per `input.key`."""
        if self._gateway is None:
            raise ApplicationError(
                "no voice gateway configured (Twilio): the telecaller calls",
                type="NoVoiceGateway",
                non_retryable=True,
            )
        with read_session(self._engine) as reader:
            to = find_complaint(reader, input.registration_number).citizen_phone
        with write_session(self._engine) as session:
            row = session.exec(select(IvrCall).where(IvrCall.key == input.key)).first()
            if row is not None and row.call_sid:
                return PlacedCall(call_sid=row.call_sid)
            active = session.exec(
                select(func.count())
                .select_from(IvrCall)
                .where(col(IvrCall.status).in_(ACTIVE_STATUSES))
                .where(col(IvrCall.call_sid).is_not(None))
                .where(IvrCall.created_at > utcnow() - _STALE_AFTER)
            ).one()
            if active >= self._settings.ivr_max_concurrent_calls:
                raise ApplicationError(f"{active} calls in progress: waiting for a line")
            if row is None:
                row = IvrCall(
                    key=input.key,
                    registration_number=input.registration_number,
                    attempt=input.attempt,
                    sampled=input.sampled,
                )
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:  # a concurrent attempt wrote it: retry reads it
                    session.rollback()
                    raise
        sid = self._gateway.place(to=to, key=input.key)
        with write_session(self._engine) as session:
            row = session.exec(select(IvrCall).where(IvrCall.key == input.key)).one()
            row.call_sid, row.status, row.updated_at = sid, "queued", utcnow()
            session.add(row)
            session.commit()
        log.info(
            "IVR call %s handed to %s as %s (attempt %d)",
            input.key,
            self._gateway.name,
            sid,
            input.attempt,
        )
        return PlacedCall(call_sid=sid)


# ---- the citizen's spoken remark, kept on the case ------------------------------------------


def recording_url(settings: Settings, recording_sid: str) -> str:
    """The WAV of a recording on Twilio's REST API (fetched with the account's credentials)."""
    base = settings.twilio_api_base_url.rstrip("/")
    return (
        f"{base}/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{recording_sid}.wav"
    )


def download_recording(settings: Settings, recording_sid: str, target: Path) -> None:
    """Streams the recording into `target`, within ATTACHMENT_MAX_BYTES and
    MEDIA_FETCH_TIMEOUT_SECONDS. `Refused` for what no retry cures (no such recording, the
    account's credentials refused, too large); httpx errors and Twilio's 5xx and 429 for what
    a retry may (a recording just made may not be served for a few seconds: 404 is retried)."""
    max_bytes = settings.attachment_max_bytes
    with (
        httpx.Client(timeout=settings.media_fetch_timeout_seconds, trust_env=False) as client,
        client.stream(
            "GET",
            recording_url(settings, recording_sid),
            auth=(settings.twilio_account_sid, settings.twilio_auth_token),
        ) as response,
    ):
        if response.status_code in (401, 403):
            raise Refused(422, f"Twilio refused the account's credentials ({response.status_code})")
        if response.status_code != 200:
            raise ApplicationError(f"Twilio answered HTTP {response.status_code} for the recording")
        size = 0
        with target.open("wb") as out:
            for chunk in response.iter_bytes(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise Refused(413, f"the recording is larger than {max_bytes} bytes")
                out.write(chunk)
