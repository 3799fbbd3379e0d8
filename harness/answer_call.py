"""`make answer-call CASE=12/2026 DIGIT=1`: play Twilio's part in a case's pending IVR call
against the running API (`make run`): fetch the call's TwiML, press the key (2 leaves a
spoken remark), then send the call's final status, every request signed as Twilio signs it.

    python -m harness.answer_call 12/2026 1
    python -m harness.answer_call 12/2026 --status no-answer   # busy, failed: not answered
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import httpx
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar
from twilio.request_validator import RequestValidator

from activities.voice import signing_token, voice_url
from core.db import make_engine, read_session
from core.models import IvrCall
from core.settings import Settings, get_settings


def pending_query(registration_number: str) -> SelectOfScalar[IvrCall]:
    """The case's latest placed call whose final status the API has not had."""
    return (
        select(IvrCall)
        .where(
            IvrCall.registration_number == registration_number,
            col(IvrCall.call_sid).is_not(None),
            col(IvrCall.signalled_at).is_(None),
        )
        .order_by(col(IvrCall.id).desc())
    )


def pending_call(settings: Settings, registration_number: str) -> IvrCall | None:
    engine = make_engine(settings.effective_database_url)
    with read_session(engine) as session:
        return session.exec(pending_query(registration_number)).first()


def _post(http: httpx.Client, token: str, url: str, params: dict[str, str]) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(url, params)
    parts = urlsplit(url)
    answer = http.post(
        parts.path + (f"?{parts.query}" if parts.query else ""),
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    answer.raise_for_status()
    return answer


def answer(settings: Settings, call: IvrCall, digit: str | None, status: str) -> list[str]:
    """Twilio's requests for one call; the TwiML the citizen heard."""
    token = signing_token(settings)
    base = {"CallSid": call.call_sid or "", "AccountSid": settings.twilio_account_sid}
    heard: list[str] = []
    api = f"http://{settings.api_host}:{settings.api_port}"
    with httpx.Client(base_url=api, timeout=30) as http:
        if status == "completed":
            twiml = _post(http, token, voice_url(settings, "twiml", call.key), base).text
            heard.append(twiml)
            gather = ElementTree.fromstring(twiml).find("Gather")
            if digit and gather is not None:
                said = _post(http, token, gather.attrib["action"], {**base, "Digits": digit})
                heard.append(said.text)
                record = ElementTree.fromstring(said.text).find("Record")
                if record is not None:
                    remark = {**base, "RecordingUrl": f"{api}/local-recording/{call.call_sid}"}
                    heard.append(_post(http, token, record.attrib["action"], remark).text)
        _post(http, token, voice_url(settings, "status", call.key), {**base, "CallStatus": status})
    return heard


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", help="the registration number, e.g. 12/2026")
    parser.add_argument("digit", nargs="?", choices=["1", "2", "3"], help="the key pressed")
    parser.add_argument(
        "--status",
        default="completed",
        choices=["completed", "busy", "no-answer", "failed"],
        help="how the call ended (completed: answered)",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    call = pending_call(settings, args.case)
    if call is None:
        print(
            f"no IVR call of {args.case} has been placed yet. A call is placed only for a case "
            "awaiting verification whose kind the policy calls by IVR, and only in calling "
            "hours (ivr_calling_from to ivr_calling_until, 09:00 to 20:00 IST by default): at "
            "night it waits for the morning (docs/ivr.md, 'Try it', for a policy that calls at "
            "any hour)."
        )
        return 1
    for twiml in answer(settings, call, args.digit, args.status):
        print(twiml)
    print(f"call {call.call_sid} of {args.case}: {args.digit or 'no key'}, {args.status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
