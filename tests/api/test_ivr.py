"""The verification call made by machine: the time-skipping server, the project's
real workers, the API in-process, and the real `twilio` library placing calls on the local
fake (`tests/fake_twilio.py`), whose citizen fetches the TwiML, presses keys and sends the
signed status callbacks."""

from __future__ import annotations

import asyncio
import io
import os
import struct
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.media import MediaActivities
from activities.voice import (
    LocalVoiceGateway,
    TwilioVoiceGateway,
    VoiceGateway,
    make_voice_gateway,
    signing_token,
    voice_url,
)
from api.main import create_app
from api.routes.voice import verification_twiml
from core.ivr_calls import CallView
from core.models import Complaint, IvrCall, TimelineEvent
from core.settings import Environment, Settings
from harness.answer_call import pending_query
from harness.factories import eventually, insert_case
from schemas.calendar import IST
from schemas.enums import ComplaintStatus
from schemas.escalation import REVIEW_STATUSES
from schemas.policy import Policy
from schemas.voice import CallResult, IvrOutcome, RecordingFetch
from schemas.workflow import DepartmentReport, ReportOutcome
from tests.fake_twilio import CreatedCall, FakeTwilio, answer_call, send_call_status, signed_post
from tests.helpers import api_client, running_worker
from tests.lifecycle_helpers import (
    HISTORIES,
    CaseHandle,
    keep_history,
    open_case,
    reach,
    row_of,
    state_of,
)
from tests.paths import GOLDEN
from workflows.complaint import ComplaintWorkflow
from workflows.ivr import after_call, audited, calling_slot, ivr_applies
from workflows.recording import recording_workflow_id

PUBLIC_URL = "https://jansamvad.example.in"
ALL_DAY = {"ivr_calling_from": time(0, 0), "ivr_calling_until": time(23, 59)}
IVR = Policy(working_day_ends=None, ivr_kinds=("complaint",), ivr_audit_percent=0, **ALL_DAY)
REPORT = DepartmentReport(
    outcome=ReportOutcome.RESOLVED,
    reply="The hand pump at the school was repaired on Monday. Water is flowing again.",
    submitted_by="officer",
)


@pytest.fixture
def engine(any_engine: Engine) -> Engine:
    """Every test of this module on SQLite and on PostgreSQL."""
    return any_engine


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def ivr_settings(settings: Settings, fake: FakeTwilio) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_from_number": "+15005550006",
            "public_base_url": PUBLIC_URL,
        }
    )


def sampling_today(ivr_settings: Settings, tmp_path: Path, percent: int) -> Settings:
    """Today's setting: `percent` % of the closures the machine verifies sampled for a
    person's check (the policy file); a case keeps the policy it started under."""
    policy = tmp_path / "policy.json"
    policy.write_text(f'{{"ivr_audit_percent": {percent}}}', encoding="utf-8")
    return ivr_settings.model_copy(update={"policy_file": policy})


@pytest.fixture
async def http(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    request: pytest.FixtureRequest,
) -> AsyncIterator[httpx.AsyncClient]:
    for percent in (0, 100):
        if f"today_samples_{percent}" in request.node.name:
            ivr_settings = sampling_today(
                ivr_settings, request.getfixturevalue("tmp_path"), percent
            )
    app = create_app(ivr_settings, engine=engine, client=ts_env.client)
    voice = TwilioVoiceGateway(ivr_settings, http_client=fake.http_client())
    async with (
        running_worker(ts_env.client, engine, ivr_settings, voice=voice),
        api_client(app) as client,
    ):
        yield client


async def _awaiting_call(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, policy: Policy = IVR
) -> CaseHandle:
    handle = await open_case(env.client, engine, settings, policy=policy)
    await reach(handle, ComplaintStatus.AWAITING_REPORT)
    await handle.execute_update(ComplaintWorkflow.submit_report, REPORT)
    return handle


async def _call(fake: FakeTwilio, number: int) -> CreatedCall:
    calls = await eventually(lambda: _calls(fake), lambda c: len(c) >= number)
    return calls[number - 1]


async def _calls(fake: FakeTwilio) -> list[CreatedCall]:
    return fake.calls


def _events(engine: Engine, handle: CaseHandle) -> list[TimelineEvent]:
    with Session(engine) as session:
        row = session.exec(select(Complaint).where(Complaint.workflow_id == handle.id)).one()
        return list(
            session.exec(
                select(TimelineEvent)
                .where(TimelineEvent.complaint_id == row.id)
                .order_by(col(TimelineEvent.seq))
            ).all()
        )


async def test_ivr_1_closes_the_case(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    handle = await _awaiting_call(ts_env, engine, ivr_settings)
    call = await _call(fake, 1)
    assert call.to == "+919876543210"
    heard = await answer_call(http, call, fake.auth_token, digits="1")
    assert "<Gather" in heard[0] and 'input="dtmf speech"' in heard[0]
    state = await reach(handle, ComplaintStatus.CLOSED)
    assert state.closure_reason is not None and state.closure_reason.value == "resolved_verified"
    closed = [e for e in _events(engine, handle) if e.event == "closed"]
    assert len(closed) == 1 and closed[0].actor == "ivr" and call.sid in (closed[0].note or "")
    placed = [e for e in _events(engine, handle) if e.event == "ivr_call_placed"]
    assert placed and placed[0].actor == "ivr" and call.sid in (placed[0].note or "")
    await keep_history(handle, "ivr_verified")


async def test_ivr_2_escalates_with_the_spoken_remark(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    handle = await _awaiting_call(ts_env, engine, ivr_settings)
    call = await _call(fake, 1)
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    heard = await answer_call(http, call, fake.auth_token, digits="2", recording_url=recording)
    assert "<Record" in heard[1]
    state = await eventually(lambda: state_of(handle), lambda s: s.status in REVIEW_STATUSES)
    assert state.citizen_unsatisfied and recording in (state.citizen_remark or "")
    assert call.sid in (state.citizen_remark or "")
    unsatisfied = [e for e in _events(engine, handle) if e.event == "citizen_not_satisfied"]
    assert len(unsatisfied) == 1 and unsatisfied[0].actor == "ivr"
    with Session(engine) as session:
        row = session.exec(select(IvrCall).where(IvrCall.call_sid == call.sid)).one()
        assert row.recording_url == recording and row.digits == "2"
    # "RE1" is not a Twilio recording SID: nothing is fetched with the account's credentials.
    fetch = ts_env.client.get_workflow_handle(
        recording_workflow_id(ivr_settings.workflow_id_prefix, "RE1")
    )
    with pytest.raises(RPCError, match="not found"):
        await fetch.describe()


async def test_the_case_s_own_sample_is_checked_by_a_person_though_today_samples_0(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    """The case started under a policy sampling every machine closure; today's setting
    samples none: the case keeps its own promise, and a person checks its closure."""
    every = IVR.model_copy(update={"ivr_audit_percent": 100})
    handle = await _awaiting_call(ts_env, engine, ivr_settings, every)
    call = await _call(fake, 1)
    await answer_call(http, call, fake.auth_token, digits="1")
    await reach(handle, ComplaintStatus.CLOSED)
    row = row_of(engine, handle)
    checks = (await http.get("/v1/voice/checks")).json()
    assert checks["count"] == 1
    assert checks["data"][0]["registration_number"] == row.registration_number
    assert checks["data"][0]["call_sid"] == call.sid
    path = f"/v1/voice/checks/{row.year}/{row.sequence}"
    assert (await http.post(path, json={"agrees": False})).status_code == 204
    assert (await http.post(path, json={"agrees": True})).status_code == 404  # checked once
    assert (await http.get("/v1/voice/checks")).json()["count"] == 0
    figures = (await http.get("/v1/voice/verification")).json()
    assert (figures["by_ivr"], figures["by_telecaller"]) == (1, 0)
    assert (figures["checked"], figures["disagreed"], figures["disagreement_rate"]) == (1, 1, 1.0)


async def test_a_case_outside_its_own_sample_is_not_checked_though_today_samples_100(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    handle = await _awaiting_call(ts_env, engine, ivr_settings)  # its policy samples 0 %
    call = await _call(fake, 1)
    await answer_call(http, call, fake.auth_token, digits="1")
    await reach(handle, ComplaintStatus.CLOSED)
    assert (await http.get("/v1/voice/checks")).json()["count"] == 0
    with Session(engine) as session:
        row = session.exec(select(IvrCall).where(IvrCall.call_sid == call.sid)).one()
        assert row.sampled is False and row.audit is False
    figures = (await http.get("/v1/voice/verification")).json()
    assert (figures["by_ivr"], figures["checked"], figures["disagreement_rate"]) == (1, 0, None)


async def test_no_answer_three_times_then_the_telecaller(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    handle = await _awaiting_call(ts_env, engine, ivr_settings)
    for attempt, status in enumerate(("no-answer", "busy", "no-answer"), start=1):
        call = await _call(fake, attempt)
        await answer_call(http, call, fake.auth_token, status=status)
        if attempt < 3:
            state = await eventually(
                lambda: state_of(handle), lambda s: s.ivr is not None and s.ivr.call_sid is None
            )
            assert state.ivr is not None and state.ivr.next_at is not None
            assert len(fake.calls) == attempt  # spaced: no call before the policy's interval
            await ts_env.sleep(IVR.ivr_retry_after + timedelta(minutes=1))
    state = await eventually(
        lambda: state_of(handle), lambda s: s.ivr is not None and s.ivr.handed_over
    )
    assert state.status is ComplaintStatus.AWAITING_CALLBACK  # the telecaller's turn
    assert state.ivr is not None and state.ivr.last_result is CallResult.NO_ANSWER
    names = [e.event for e in _events(engine, handle)]
    assert names.count("ivr_call_placed") == 3 and names.count("ivr_unanswered") == 2
    assert names[-1] == "ivr_handed_to_telecaller"
    assert len(fake.calls) == 3
    # The telecaller's list shows the machine's attempts and how the last one ended.
    listed = await http.get("/v1/callbacks", params={"due_only": "false"})
    assert listed.status_code == 200
    (item,) = [i for i in listed.json()["data"] if i["ivr"]]
    assert item["ivr"]["calls"] == 3 and item["ivr"]["last_result"] == "no_answer"
    assert item["ivr"]["last_call_sid"] == fake.calls[-1].sid


async def test_a_call_due_at_night_waits_for_the_morning(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    # Calling hours that exclude the moment the suite runs: a window starting two hours on.
    hour = (datetime.now(IST).hour + 2) % 24
    hour = 2 if hour >= 22 else hour
    policy = IVR.model_copy(
        update={"ivr_calling_from": time(hour, 0), "ivr_calling_until": time(hour + 1, 0)}
    )
    handle = await _awaiting_call(ts_env, engine, ivr_settings, policy)
    state = await state_of(handle)
    assert state.ivr is not None and state.ivr.next_at is not None
    opens = state.ivr.next_at.astimezone(IST)
    assert (opens.hour, opens.minute) == (hour, 0)
    await ts_env.sleep(timedelta(minutes=30))
    assert fake.calls == []  # not at night
    await ts_env.sleep(opens - datetime.now(UTC))  # (the test server's clock runs ahead)
    await ts_env.sleep(timedelta(hours=3))
    call = await _call(fake, 1)
    await answer_call(http, call, fake.auth_token, digits="1")
    await reach(handle, ComplaintStatus.CLOSED)


async def test_redelivered_callbacks_are_applied_once(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    handle = await _awaiting_call(ts_env, engine, ivr_settings)
    call = await _call(fake, 1)
    await answer_call(http, call, fake.auth_token, digits="3")
    await eventually(lambda: state_of(handle), lambda s: s.ivr is not None and s.ivr.handed_over)
    # Twilio redelivers the answer and the status: nothing changes.
    answer_url = call.form["Url"].replace("/twiml", "/answer")
    again = await signed_post(
        http, answer_url, {"CallSid": call.sid, "Digits": "1"}, fake.auth_token
    )
    assert again.status_code == 200
    await send_call_status(http, call, fake.auth_token, "completed")
    await send_call_status(http, call, fake.auth_token, "no-answer")
    state = await state_of(handle)
    assert state.status is ComplaintStatus.AWAITING_CALLBACK
    names = [e.event for e in _events(engine, handle)]
    assert names.count("ivr_handed_to_telecaller") == 1 and "closed" not in names
    assert len(fake.calls) == 1


async def test_an_answer_redelivered_closes_once(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    handle = await _awaiting_call(ts_env, engine, ivr_settings)
    call = await _call(fake, 1)
    await answer_call(http, call, fake.auth_token, digits="1")
    await answer_call(http, call, fake.auth_token, digits="1")
    await reach(handle, ComplaintStatus.CLOSED)
    names = [e.event for e in _events(engine, handle)]
    assert names.count("closed") == 1


async def test_voice_webhooks_need_twilio_signature(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    ivr_settings: Settings,
    fake: FakeTwilio,
    http: httpx.AsyncClient,
) -> None:
    await _awaiting_call(ts_env, engine, ivr_settings)
    call = await _call(fake, 1)
    for url in (call.form["Url"], call.form["StatusCallback"]):
        path = url.removeprefix(PUBLIC_URL)
        unsigned = await http.post(
            path,
            content="CallStatus=completed&Digits=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code == 403
        forged = await signed_post(http, url, {"CallSid": call.sid}, "another-token")
        assert forged.status_code == 403


# ---- TwiML golden files --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["hi", "en"])
def test_twiml_in_the_citizens_language(language: str, settings: Settings) -> None:
    call = CallView(
        key="12/2026:9:ivr:1",
        registration_number="12/2026",
        call_sid="CA00000000000000000000000000000001",
        digits=None,
        recording_url=None,
        workflow_id="x",
        language=language,
        category="drinking_water",
        last_reply=REPORT.reply,
    )
    settings = settings.model_copy(update={"public_base_url": PUBLIC_URL})
    text = str(verification_twiml(call, settings))
    golden = GOLDEN / f"ivr_verification.{language}.xml"
    if os.environ.get("JANSAMVAD_UPDATE_GOLDEN") == "1":
        golden.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == golden.read_text(encoding="utf-8")


# ---- the rules -----------------------------------------------------------------------------


def test_calling_hours_and_steps() -> None:
    policy = Policy(ivr_calling_from=time(9), ivr_calling_until=time(20), ivr_attempts=3)
    night = datetime(2026, 12, 7, 22, 30, tzinfo=IST)
    assert calling_slot(night, policy) == datetime(2026, 12, 8, 9, 0, tzinfo=IST)
    dawn = datetime(2026, 12, 7, 6, 0, tzinfo=IST)
    assert calling_slot(dawn, policy) == datetime(2026, 12, 7, 9, 0, tzinfo=IST)
    noon = datetime(2026, 12, 7, 12, 0, tzinfo=IST)
    assert calling_slot(noon, policy) == noon
    evening = datetime(2026, 12, 7, 19, 0, tzinfo=IST)
    assert after_call(CallResult.BUSY, 1, evening, policy).next_at == datetime(
        2026, 12, 8, 9, 0, tzinfo=IST
    )
    assert after_call(CallResult.NO_ANSWER, 3, noon, policy).hand_over
    assert after_call(CallResult.OPERATOR, 1, noon, policy).hand_over
    assert after_call(CallResult.SATISFIED, 1, noon, policy) == after_call(
        CallResult.NOT_SATISFIED, 1, noon, policy
    )


def test_ivr_per_kind_and_category_and_the_sample() -> None:
    policy = Policy(ivr_kinds=("complaint",), ivr_categories_off=("police",))
    assert ivr_applies(policy, kind="complaint", category="water_supply")
    assert not ivr_applies(policy, kind="complaint", category="police")
    assert not ivr_applies(policy, kind="suggestion", category=None)
    assert not ivr_applies(Policy(), kind="complaint", category=None)  # off by default
    sampled = sum(audited(f"{n}/2026", Policy(ivr_audit_percent=10)) for n in range(2000))
    assert 150 < sampled < 250
    assert not any(audited(f"{n}/2026", Policy(ivr_audit_percent=0)) for n in range(200))


def test_the_recorded_history_places_the_call_by_an_activity() -> None:
    """The committed history of the verified path (replayed by tests/workflows/test_replay.py)
    has the call placed by an activity after the report."""
    path = HISTORIES / "ivr_verified.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "place_call" in scheduled


async def test_under_make_run_a_local_call_is_answered_by_the_documented_command_s_requests(
    ts_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """Development without Twilio: the call is recorded (LocalVoiceGateway) and the requests
    `make answer-call` sends (signed with the development token) close the case; outside
    development the same requests are refused (no Twilio token: nothing signs)."""
    dev = settings.model_copy(update={"environment": Environment.DEVELOPMENT})
    assert isinstance(make_voice_gateway(dev), LocalVoiceGateway)
    assert make_voice_gateway(settings) is None
    app = create_app(dev, engine=engine, client=ts_env.client)
    async with (
        running_worker(ts_env.client, engine, dev, voice=LocalVoiceGateway()),
        api_client(app) as client,
    ):
        handle = await _awaiting_call(ts_env, engine, dev)
        reg = row_of(engine, handle).registration_number
        call = await eventually(lambda: _pending(engine, reg), lambda c: c is not None)
        assert call is not None and call.call_sid
        url = voice_url(dev, "twiml", call.key)
        token = signing_token(dev)
        twiml = await signed_post(client, url, {"CallSid": call.call_sid}, token)
        assert twiml.status_code == 200 and "<Gather" in twiml.text
        answered = await signed_post(
            client,
            voice_url(dev, "answer", call.key),
            {"CallSid": call.call_sid, "Digits": "1"},
            token,
        )
        assert answered.status_code == 200
        await reach(handle, ComplaintStatus.CLOSED)
    refused = create_app(settings, engine=engine, client=ts_env.client)
    async with api_client(refused) as other:
        again = await signed_post(other, url, {"CallSid": call.call_sid}, token)
        assert again.status_code == 403


async def _pending(engine: Engine, registration_number: str) -> IvrCall | None:
    """The call `make answer-call` answers (harness/answer_call.py's query, on `engine`)."""
    with Session(engine) as session:
        return session.exec(pending_query(registration_number)).first()


class _BusyAtOnce(VoiceGateway):
    """A call whose final status ("busy") reaches the case before the call's activity has
    returned its CallSid: the status callback of a number busy at once."""

    name = "busy-at-once"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.handle: CaseHandle | None = None
        self.sids: list[str] = []

    def place(self, *, to: str, key: str) -> str:
        sid = "CA" + uuid.uuid4().hex
        self.sids.append(sid)
        assert self.handle is not None
        signal = self.handle.signal(
            ComplaintWorkflow.ivr_result, IvrOutcome(call_sid=sid, result=CallResult.BUSY)
        )
        asyncio.run_coroutine_threadsafe(signal, self.loop).result(timeout=10)
        return sid


async def test_a_result_before_the_call_is_recorded_is_acted_on(
    ts_env: WorkflowEnvironment, engine: Engine, ivr_settings: Settings
) -> None:
    gateway = _BusyAtOnce(asyncio.get_running_loop())
    async with running_worker(ts_env.client, engine, ivr_settings, voice=gateway):
        handle = await open_case(ts_env.client, engine, ivr_settings, policy=IVR)
        gateway.handle = handle
        await reach(handle, ComplaintStatus.AWAITING_REPORT)
        await handle.execute_update(ComplaintWorkflow.submit_report, REPORT)
        state = await eventually(
            lambda: state_of(handle),
            lambda s: s.ivr is not None and s.ivr.last_result is CallResult.BUSY,
        )
    assert state.ivr is not None and state.ivr.call_sid is None and state.ivr.attempts == 1
    assert state.ivr.next_at is not None  # the next call, not a wait for a status that came
    names = [e.event for e in _events(engine, handle)]
    assert names[-2:] == ["ivr_call_placed", "ivr_unanswered"]


# ---- the spoken remark, kept as a file of the case -----------------------------------------


def _wav_with_metadata() -> bytes:
    """A short PCM recording (8 kHz mono, as Twilio records) carrying a LIST/INFO chunk with
    a name in it: the samples are kept, the metadata is not."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(range(256)) * 64)
    data = bytearray(out.getvalue())
    info = b"INFOINAM\x0a\x00\x00\x00Sita Devi\x00"
    data += b"LIST" + struct.pack("<I", len(info)) + info
    struct.pack_into("<I", data, 4, len(data) - 8)
    return bytes(data)


@pytest.fixture
def remark_settings(ivr_settings: Settings, fake: FakeTwilio, clamd_address: str) -> Settings:
    """The IVR's settings with the attachments' scanner, and Twilio's REST API the fake."""
    return ivr_settings.model_copy(
        update={"clamd_address": clamd_address, "twilio_api_base_url": fake.base_url}
    )


async def test_the_spoken_remark_is_kept_as_a_file_of_the_case(
    ts_env: WorkflowEnvironment, engine: Engine, remark_settings: Settings, fake: FakeTwilio
) -> None:
    app = create_app(remark_settings, engine=engine, client=ts_env.client)
    voice = TwilioVoiceGateway(remark_settings, http_client=fake.http_client())
    async with (
        running_worker(ts_env.client, engine, remark_settings, voice=voice),
        api_client(app) as http,
    ):
        handle = await _awaiting_call(ts_env, engine, remark_settings)
        call = await _call(fake, 1)
        sid = "RE" + uuid.uuid4().hex
        recording = fake.add_recording(sid, _wav_with_metadata())
        await answer_call(http, call, fake.auth_token, digits="2", recording_url=recording)
        row = row_of(engine, handle)
        files = f"/v1/complaints/{row.year}/{row.sequence}/attachments"
        listed = await eventually(lambda: _json(http, files), lambda b: b["count"] == 1)
        (item,) = listed["data"]
        assert (item["media_type"], item["source"], item["uploaded_by"]) == (
            "audio/wav",
            "ivr",
            "ivr",
        )
        content = await http.get(f"{files}/{item['id']}")
        assert content.status_code == 200 and content.headers["content-type"] == "audio/wav"
        with wave.open(io.BytesIO(content.content)) as kept:
            assert kept.getframerate() == 8000
            assert kept.readframes(kept.getnframes()) == bytes(range(256)) * 64
        assert b"Sita Devi" not in content.content and b"LIST" not in content.content
        events = await eventually(
            lambda: _async_events(engine, handle),
            lambda found: "attachment_added" in [e.event for e in found],
        )
        (added,) = [e for e in events if e.event == "attachment_added"]
        assert added.actor == "ivr"
        # Twilio redelivers the remark: no second fetch, no second file.
        redelivered = await signed_post(
            http,
            call.form["Url"].replace("/twiml", "/remark"),
            {"CallSid": call.sid, "RecordingUrl": recording, "RecordingSid": sid},
            fake.auth_token,
        )
        assert redelivered.status_code == 200
        handle_of_fetch = ts_env.client.get_workflow_handle(
            recording_workflow_id(remark_settings.workflow_id_prefix, sid)
        )
        await handle_of_fetch.result()
        await keep_history(handle_of_fetch, "recording_fetch_spoken_remark")
        assert fake.recording_fetches(sid) == 1
        assert (await _json(http, files))["count"] == 1


async def test_a_recording_twilio_does_not_serve_is_refused_by_credentials_or_retried(
    remark_settings: Settings, engine: Engine, fake: FakeTwilio
) -> None:
    """The fetch sends the account's credentials (other ones are refused, not retried) and
    retries what Twilio does not serve yet (404)."""
    sid = "RE" + uuid.uuid4().hex
    fake.add_recording(sid, _wav_with_metadata())
    row = insert_case(engine, district="Ranchi")
    assert row.id is not None
    fetch = RecordingFetch(
        complaint_id=row.id, registration_number=row.registration_number, recording_sid=sid
    )
    wrong = remark_settings.model_copy(update={"twilio_auth_token": "not-the-token"})
    refused = MediaActivities(engine, wrong).fetch_recording(fetch)
    assert refused.attachment is None and (refused.refused or "").startswith("422")
    missing = fetch.model_copy(update={"recording_sid": "RE" + uuid.uuid4().hex})
    with pytest.raises(ApplicationError, match="HTTP 404"):
        MediaActivities(engine, remark_settings).fetch_recording(missing)
    first = MediaActivities(engine, remark_settings).fetch_recording(fetch)
    again = MediaActivities(engine, remark_settings).fetch_recording(fetch)
    assert first.attachment is not None and again.attachment == first.attachment


async def _json(http: httpx.AsyncClient, path: str) -> Any:
    answer = await http.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _async_events(engine: Engine, handle: CaseHandle) -> list[TimelineEvent]:
    return _events(engine, handle)
