"""The verification call made by machine (IVR): the TwiML Twilio fetches for a call, the
citizen's answer, the spoken remark, and the call's status callback.

Every request is signed by Twilio (`X-Twilio-Signature`, checked as the SMS webhooks are:
`api.routes.twilio.verified_params`). The call is named by its key (`?key=`, the workflow's
call key, in the URL Twilio was given); each CallSid is acted on once: the answer 1 or 2 is
applied to the case by the first request that claims it (a conditional UPDATE), and the final
status is signalled once, so a redelivered callback changes nothing.

    1 → `record_callback` satisfied (closed), actor `ivr`, the CallSid in the note
    2 → a short spoken remark (`<Record>`), then `record_callback` not satisfied (to review),
        the recording's URL kept in the remark, and the recording fetched from Twilio into
        the case's attachments (RecordingFetchWorkflow, once per recording)
    3, or no valid answer, or busy / no answer / failed → the workflow's `ivr_result`: another
        call within calling hours, or the telecaller's list with the call's result
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError
from twilio.twiml.voice_response import Gather, VoiceResponse

from activities.voice import signing_token, voice_url
from api.auth import require
from api.deps import AppStateDep, SessionDep
from api.errors import ApiError
from api.routes.twilio import verified_params
from api.services.lists import ist_day_start
from api.services.scope import case_filter, get_case
from api.updates import execute_within
from core import audit
from core.db import read_session
from core.ivr_calls import (
    CallView,
    checks_due,
    claim,
    find_call,
    keep_recording,
    note_digits,
    record_check,
    set_audit,
)
from core.permissions import IVR_CHECKERS, IVR_READERS
from core.settings import Settings
from core.verifications import by_channel
from schemas.auth import Principal
from schemas.calendar import within_calendar
from schemas.i18n import SOURCE_LANGUAGE, local_name, translations
from schemas.reference import CATEGORY_BY_CODE
from schemas.voice import (
    DIGIT_RESULTS,
    FINAL_CALL_STATUSES,
    RECORDING_SID,
    CallResult,
    IvrCheck,
    IvrCheckList,
    IvrOutcome,
    RecordingFetch,
    VerificationByChannel,
)
from schemas.workflow import CallbackOutcome, CallbackResult
from workflows.complaint import ComplaintWorkflow
from workflows.recording import RecordingFetchWorkflow, recording_workflow_id

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/voice", tags=["voice"])

KeyQuery = Annotated[str | None, Query(max_length=120)]
CalendarDay = Annotated[date, AfterValidator(within_calendar)]
_SIGNED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Invalid or missing X-Twilio-Signature."}
}
# The English source of each prompt (the `voice` catalogue translates them by context).
PROMPTS = {
    "intro": "Namaste. This is the Chief Minister's Jan Samvad centre, calling about your "
    "complaint number {reg}, about {subject}.",
    "answer": "The department has answered: {answer}",
    "menu": "If your problem is solved, press 1. If it is not solved, press 2. To speak to an "
    "operator, press 3.",
    "remark": "After the beep, please say in a few words what is still wrong, then press the "
    "hash key.",
    "solved": "Thank you. Your complaint is closed as solved.",
    "not_solved": "Thank you. Your complaint goes to the review, and you will be told its date "
    "by SMS.",
    "operator": "Thank you. An operator will call you back soon.",
    "no_input": "We did not hear an answer. An operator will call you back.",
}
# Spoken answers understood as keys (`<Gather input="dtmf speech">`).
_SPOKEN = {
    "1": ("1", "one", "ek", "एक"),
    "2": ("2", "two", "do", "दो"),
    "3": ("3", "three", "teen", "तीन"),
}
_ANSWER_MAX = 200


def call_language(language: str) -> str:
    """The call's language: Hindi or English (the voice catalogues there are)."""
    return "hi" if language == "hi" else SOURCE_LANGUAGE


def prompt(name: str, language: str, **params: str) -> str:
    text = str(translations("voice", language).pgettext(name, PROMPTS[name]))
    return text.format(**params) if params else text


def one_sentence(reply: str | None) -> str:
    """The department's answer in a sentence: its first, at most `_ANSWER_MAX` characters."""
    text = " ".join((reply or "").split())
    first = re.split(r"(?<=[.!?।])\s", text, maxsplit=1)[0]
    return first if len(first) <= _ANSWER_MAX else first[:_ANSWER_MAX].rsplit(" ", 1)[0] + "…"


def _speak(
    target: VoiceResponse | Gather, settings: Settings, name: str, lang: str, **p: str
) -> None:
    """A prompt: recorded audio where IVR_AUDIO_BASE_URL names it (fixed prompts only), else
    `<Say>` with the language's Indian voice."""
    if settings.ivr_audio_base_url and not p:
        target.play(f"{settings.ivr_audio_base_url.rstrip('/')}/{lang}/{name}.mp3")
        return
    voice = settings.ivr_voice_hi if lang == "hi" else settings.ivr_voice_en
    target.say(prompt(name, lang, **p), voice=voice, language=f"{lang}-IN")


def _twiml(response: VoiceResponse) -> Response:
    return Response(content=str(response), media_type="application/xml")


def verification_twiml(call: CallView, settings: Settings) -> VoiceResponse:
    """The call's script in the citizen's language: who is calling, the case, its subject,
    the department's answer in a sentence, then the menu (keys or spoken words)."""
    lang = call_language(call.language)
    category = CATEGORY_BY_CODE.get(call.category or "")
    subject = local_name("subject|short", category.short, lang) if category else ""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf speech",
        num_digits=1,
        timeout=6,
        action=voice_url(settings, "answer", call.key),
        method="POST",
        language=f"{lang}-IN",
        hints=", ".join(word for words in _SPOKEN.values() for word in words),
    )
    _speak(gather, settings, "intro", lang, reg=call.registration_number, subject=subject)
    answer = one_sentence(call.last_reply)
    if answer:
        _speak(gather, settings, "answer", lang, answer=answer)
    _speak(gather, settings, "menu", lang)
    response.append(gather)
    _speak(response, settings, "no_input", lang)
    response.hangup()
    return response


def pressed(params: dict[str, str]) -> str | None:
    """The key the citizen chose: a digit pressed, or one said."""
    digits = (params.get("Digits") or "").strip()
    if digits:
        return digits[:1]
    said = (params.get("SpeechResult") or "").strip().lower().rstrip(".।")
    for digit, words in _SPOKEN.items():
        if said in words:
            return digit
    return None


async def _apply(
    app: AppStateDep, call: CallView, call_sid: str, outcome: CallbackOutcome, remark: str
) -> None:
    """Apply the citizen's answer to the case, once per CallSid (and as one update ID)."""
    if not await run_in_threadpool(claim, app.engine, call.key, "acted_at"):
        return
    if call.workflow_id is None:
        return
    handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, call.workflow_id)
    try:
        await execute_within(
            handle,
            ComplaintWorkflow.record_callback,
            CallbackResult(outcome=outcome, telecaller="ivr", remark=remark),
            budget=app.settings.action_timeout_seconds,
            update_id=f"ivr:{call_sid}",
        )
    except ApiError as err:  # the case moved on meanwhile (its own deadline): nothing to do
        log.info("IVR answer on %s not applied: %s", call.key, err.detail)
        return
    if outcome is CallbackOutcome.SATISFIED:  # sampled or not by the case's own policy
        await run_in_threadpool(set_audit, app.engine, call.key)


async def _call(
    request: Request, app: AppStateDep, key: str | None
) -> tuple[dict[str, str], CallView]:
    """The signed request's parameters and its call (the signature is checked first)."""
    signer = app.settings.model_copy(update={"twilio_auth_token": signing_token(app.settings)})
    params = await verified_params(request, signer)
    call = await run_in_threadpool(find_call, app.engine, key) if key else None
    if call is None:
        raise ApiError(404, f"no IVR call {key!r}")
    return params, call


@router.post("/twiml", responses=_SIGNED)
async def voice_twiml(request: Request, app: AppStateDep, key: KeyQuery = None) -> Response:
    """The TwiML Twilio fetches when the citizen picks up."""
    _params, call = await _call(request, app, key)
    return _twiml(verification_twiml(call, app.settings))


@router.post("/answer", responses=_SIGNED)
async def voice_answer(request: Request, app: AppStateDep, key: KeyQuery = None) -> Response:
    """The citizen's key (or word): 1 closes, 2 asks for a remark then escalates, 3 (and
    anything else) leaves the case to the telecaller."""
    params, call = await _call(request, app, key)
    key = call.key
    lang, settings = call_language(call.language), app.settings
    sid = params.get("CallSid") or call.call_sid or ""
    digit = pressed(params)
    response = VoiceResponse()
    if digit in DIGIT_RESULTS:
        # The first key counts: a redelivered (or different) answer to the same call does not.
        digit = await run_in_threadpool(note_digits, app.engine, key, sid, digit)
    if digit == "1":
        await _apply(
            app, call, sid, CallbackOutcome.SATISFIED, f"IVR call {sid}: pressed 1 (solved)"
        )
        _speak(response, settings, "solved", lang)
    elif digit == "2":
        _speak(response, settings, "remark", lang)
        response.record(
            action=voice_url(settings, "remark", key),
            method="POST",
            max_length=30,
            timeout=5,
            finish_on_key="#",
            play_beep=True,
        )
        _speak(response, settings, "not_solved", lang)
    elif digit == "3":
        _speak(response, settings, "operator", lang)
    else:
        _speak(response, settings, "no_input", lang)
    response.hangup()
    return _twiml(response)


@router.post("/remark", responses=_SIGNED)
async def voice_remark(request: Request, app: AppStateDep, key: KeyQuery = None) -> Response:
    """After "2": the spoken remark (its recording kept as a reference), then the case goes
    to review."""
    params, call = await _call(request, app, key)
    sid = params.get("CallSid") or call.call_sid or ""
    recording = (params.get("RecordingUrl") or "")[:500] or None
    await _not_satisfied(app, call, sid, recording)
    await _keep_spoken_remark(app, call, params.get("RecordingSid") or "")
    response = VoiceResponse()
    _speak(response, app.settings, "not_solved", call_language(call.language))
    response.hangup()
    return _twiml(response)


async def _keep_spoken_remark(app: AppStateDep, call: CallView, recording_sid: str) -> None:
    """Start the fetch of the spoken remark into the case's attachments (once per recording:
    a redelivered request starts none); a malformed SID (not Twilio's) starts nothing."""
    if call.complaint_id is None or not re.fullmatch(RECORDING_SID, recording_sid):
        return
    try:
        await app.client.start_workflow(
            RecordingFetchWorkflow.run,
            RecordingFetch(
                complaint_id=call.complaint_id,
                registration_number=call.registration_number,
                recording_sid=recording_sid,
                case_workflow_id=call.workflow_id,
            ),
            id=recording_workflow_id(app.settings.workflow_id_prefix, recording_sid),
            task_queue=app.settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            rpc_timeout=timedelta(seconds=app.settings.temporal_rpc_timeout_seconds),
        )
    except WorkflowAlreadyStartedError:
        pass
    except RPCError as err:  # the remark's URL stays on the call; the file is not fetched
        log.warning("spoken remark on %s not fetched: %s", call.key, err.message)


async def _not_satisfied(app: AppStateDep, call: CallView, sid: str, recording: str | None) -> None:
    remark = f"IVR call {sid}: pressed 2 (not solved)"
    if recording:
        remark += f"; spoken remark: {recording}"
        await run_in_threadpool(keep_recording, app.engine, call.key, recording)
    await _apply(app, call, sid, CallbackOutcome.NOT_SATISFIED, remark)


@router.post("/status", status_code=204, responses=_SIGNED)
async def voice_status(request: Request, app: AppStateDep, key: KeyQuery = None) -> Response:
    """The call's status callback: its final status tells the case how the call ended (once
    per CallSid; a redelivery changes nothing)."""
    params, call = await _call(request, app, key)
    key = call.key
    sid = params.get("CallSid") or call.call_sid or ""
    status = params.get("CallStatus", "")
    if status not in FINAL_CALL_STATUSES:
        return Response(status_code=204)
    digit = call.digits
    result = DIGIT_RESULTS.get(digit or "") or FINAL_CALL_STATUSES[status]
    if result is CallResult.NOT_SATISFIED:
        await _not_satisfied(app, call, sid, None)  # hung up before the remark: still applied
    if not await run_in_threadpool(
        claim, app.engine, key, "signalled_at", status=status, result=result.value
    ):
        return Response(status_code=204)
    if call.workflow_id is not None:
        handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, call.workflow_id)
        try:
            await handle.signal(
                ComplaintWorkflow.ivr_result,
                IvrOutcome(call_sid=sid, result=result),
                rpc_timeout=timedelta(seconds=app.settings.temporal_rpc_timeout_seconds),
            )
        except RPCError as err:
            log.warning("IVR result of %s not signalled: %s", key, err.message)
    return Response(status_code=204)


# ---- staff: the sampled checks of the machine, and verification by channel ---------------


@router.get("/checks", response_model=IvrCheckList)
def ivr_checks(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*IVR_CHECKERS))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> IvrCheckList:
    """Closures the machine verified, sampled (policy `ivr_audit_percent`) for a person to
    call the citizen again: the oldest first, paged."""
    items, total = checks_due(session, limit=limit, offset=offset)
    return IvrCheckList(data=items, count=total)


@router.post(
    "/checks/{year}/{sequence}",
    status_code=204,
    responses={404: {"description": "No sampled closure of this case is waiting for a check."}},
)
async def record_ivr_check(
    year: int,
    sequence: int,
    check: IvrCheck,
    app: AppStateDep,
    principal: Annotated[Principal, Depends(require(*IVR_CHECKERS))],
) -> Response:
    """What the citizen told the person checking the machine's closure (a citizen who says
    it is not solved may reopen it: `POST /v1/complaints/{year}/{sequence}/reopen`)."""
    with read_session(app.engine) as session:
        row = get_case(session, year, sequence, principal, IVR_CHECKERS)
    done = await run_in_threadpool(
        record_check,
        app.engine,
        row.registration_number,
        agrees=check.agrees,
        checked_by=principal.subject,
    )
    if not done:
        raise ApiError(404, "no sampled IVR closure of this case is waiting for a check")
    audit.describe("ivr_check", complaint=(year, sequence), agrees=check.agrees)
    return Response(status_code=204)


@router.get("/verification", response_model=VerificationByChannel)
def verification(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*IVR_READERS))],
    since: Annotated[
        CalendarDay | None, Query(alias="from", description="First IST day of the period.")
    ] = None,
    until: Annotated[
        CalendarDay | None,
        Query(alias="to", description="Last IST day of the period (included)."),
    ] = None,
) -> VerificationByChannel:
    """Verifications recorded in the period (IST days, both included; none given: all) by
    channel — the machine's calls, the telecallers' — and the disagreement rate of the
    sampled checks of the machine's closures, over the cases the reader may see."""
    if since and until and since > until:
        message = "the period's last day comes before its first"
        raise ApiError(422, f"to: {message}", errors=[{"field": "to", "message": message}])
    return by_channel(
        session,
        since=ist_day_start(since) if since else None,
        until=ist_day_start(until + timedelta(days=1)) if until else None,
        where=[case_filter(principal, IVR_READERS)],
    )
