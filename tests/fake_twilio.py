"""A local fake of Twilio's REST API (Messages), for the real `twilio` library to talk to.

It speaks SMS and WhatsApp: a `whatsapp:+91...` address is a WhatsApp message, sent as a
`Body` (free text) or as an approved template (`ContentSid` + `ContentVariables`, the Content
API; `approve_template` gives the fake its text, `{{1}}`... filled in as Twilio does). Inbound
messages and status callbacks are posted to the app signed as Twilio signs them
(`whatsapp_message`, `message_status`).

It speaks the wire format of `/2010-04-01/Accounts/{AccountSid}/Messages.json`: HTTP basic auth
with the account SID and auth token, form-encoded POST (`To`, `Body`, `From` or
`MessagingServiceSid`, `StatusCallback`), JSON answers with `sid` and `status`, Twilio's error
JSON (`code`, `message`, `more_info`, `status`), and the GET list filtered by `To`, newest first.

Tests script what the next create requests meet (`fail_next`, `lose_next_response`, or an
`outage` of a few seconds answering 500/429) and read what was really created (`created`).
`http_client()` is the hook through which the real Twilio client is pointed at this server
instead of api.twilio.com; `python -m tests.fake_twilio worker` runs the project's worker
process with that hook (FAKE_TWILIO_URL), for tests that run the worker as a child process.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree import ElementTree

import httpx
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class Failure:
    """Answer the next create with this Twilio error (nothing is created)."""

    status: int
    code: int
    message: str


@dataclass(frozen=True)
class LoseResponse:
    """Create the message, then drop the connection before answering (a lost response)."""


@dataclass
class CreatedMessage:
    sid: str
    to: str
    body: str
    form: dict[str, str]
    created_at: datetime
    monotonic: float
    status: str = "queued"

    @property
    def whatsapp(self) -> bool:
        return self.to.startswith("whatsapp:")

    @property
    def content_sid(self) -> str | None:
        return self.form.get("ContentSid")

    @property
    def content_variables(self) -> dict[str, str]:
        return dict(json.loads(self.form.get("ContentVariables") or "{}"))


@dataclass
class CreatedCall:
    """A call placed through the Calls API: its TwiML URL and status callback are ours."""

    sid: str
    to: str
    form: dict[str, str]
    status: str = "queued"


@dataclass
class _State:
    account_sid: str
    auth_token: str
    script: list[Failure | LoseResponse] = field(default_factory=list)
    refused: dict[str, Failure] = field(default_factory=dict)
    created: list[CreatedMessage] = field(default_factory=list)
    calls: list[CreatedCall] = field(default_factory=list)
    # Recordings of calls (their WAV bytes), served at .../Recordings/{sid}.wav, and how
    # many times each was fetched.
    recordings: dict[str, bytes] = field(default_factory=dict)
    recording_fetches: Counter[str] = field(default_factory=Counter)
    # Content SID → the approved template's text (`{{1}}` placeholders).
    templates: dict[str, str] = field(default_factory=dict)
    # Until this monotonic time every create answers the outage's failures in turn.
    outage_until: float = 0.0
    outage: list[Failure] = field(default_factory=list)
    errors_answered: Counter[int] = field(default_factory=Counter)
    create_requests: int = 0
    list_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _message_json(state: _State, m: CreatedMessage) -> dict[str, Any]:
    uri = f"/2010-04-01/Accounts/{state.account_sid}/Messages/{m.sid}.json"
    stamp = format_datetime(m.created_at, usegmt=True)
    return {
        "account_sid": state.account_sid,
        "api_version": "2010-04-01",
        "body": m.body,
        "date_created": stamp,
        "date_sent": None,
        "date_updated": stamp,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": m.form.get("From"),
        "messaging_service_sid": m.form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": m.sid,
        "status": m.status,
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": m.to,
        "uri": uri,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, message: str) -> None:
        self._send_json(
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def _authorised(self) -> bool:
        state = self.server.state
        expected = base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._error(401, 20003, "Authenticate")
            return False
        return True

    def _messages_path(self) -> bool:
        path = urlsplit(self.path).path
        return path == f"/2010-04-01/Accounts/{self.server.state.account_sid}/Messages.json"

    def _create_call(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if not (form.get("To") and form.get("From") and (form.get("Url") or form.get("Twiml"))):
            self._error(400, 21205, "'To', 'From' and 'Url' are required.")
            return
        state = self.server.state
        with state.lock:
            call = CreatedCall(sid="CA" + uuid.uuid4().hex, to=form["To"], form=form)
            state.calls.append(call)
        uri = f"/2010-04-01/Accounts/{state.account_sid}/Calls/{call.sid}.json"
        self._send_json(
            201,
            {
                "account_sid": state.account_sid,
                "sid": call.sid,
                "to": call.to,
                "from": form["From"],
                "status": call.status,
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": uri,
            },
        )

    def do_POST(self) -> None:
        if not self._authorised():
            return
        path = urlsplit(self.path).path
        if path == f"/2010-04-01/Accounts/{self.server.state.account_sid}/Calls.json":
            self._create_call()
            return
        if not self._messages_path():
            self._error(404, 20404, "The requested resource was not found")
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        state = self.server.state
        with state.lock:
            state.create_requests += 1
            action = state.script.pop(0) if state.script else None
            if form.get("To") in state.refused:
                action = state.refused[form["To"]]
            if time.monotonic() < state.outage_until and state.outage:
                action = state.outage[state.create_requests % len(state.outage)]
            if isinstance(action, Failure):
                state.errors_answered[action.status] += 1
                self._error(action.status, action.code, action.message)
                return
            content = form.get("ContentSid")
            if "To" not in form or ("Body" not in form and not content):
                self._error(400, 21604, "A 'To' phone number and a 'Body' are required.")
                return
            if not (form.get("From") or form.get("MessagingServiceSid")):
                self._error(400, 21603, "A 'From' phone number is required.")
                return
            if form["To"].startswith("whatsapp:") != form.get("From", "").startswith("whatsapp:"):
                self._error(400, 63007, "Twilio could not find a Channel with the From address")
                return
            if content is not None and content not in state.templates:
                self._error(400, 21655, "The ContentSid is Invalid.")
                return
            body = form.get("Body", "")
            if content is not None:
                body = state.templates[content]
                for number, value in json.loads(form.get("ContentVariables") or "{}").items():
                    body = body.replace("{{" + number + "}}", value)
            message = CreatedMessage(
                sid="SM" + uuid.uuid4().hex,
                to=form["To"],
                body=body,
                form=form,
                created_at=datetime.now(UTC).replace(microsecond=0),
                monotonic=time.monotonic(),
                status="accepted" if form.get("MessagingServiceSid") else "queued",
            )
            state.created.append(message)
            payload = _message_json(state, message)
        if isinstance(action, LoseResponse):
            self.close_connection = True  # the message exists; the client never hears of it
            return
        self._send_json(201, payload)

    def _send_recording(self) -> bool:
        """A recording's media (`GET .../Recordings/{RecordingSid}.wav`), if the path is one."""
        state = self.server.state
        prefix = f"/2010-04-01/Accounts/{state.account_sid}/Recordings/"
        path = urlsplit(self.path).path
        if not (path.startswith(prefix) and path.endswith(".wav")):
            return False
        sid = path.removeprefix(prefix).removesuffix(".wav")
        with state.lock:
            data = state.recordings.get(sid)
            state.recording_fetches[sid] += 1
        if data is None:
            self._error(404, 20404, "The requested resource was not found")
            return True
        self.send_response(200)
        self.send_header("Content-Type", "audio/x-wav")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return True

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self._send_recording():
            return
        if not self._messages_path():
            self._error(404, 20404, "The requested resource was not found")
            return
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        state = self.server.state
        with state.lock:
            state.list_requests += 1
            found = [m for m in reversed(state.created) if m.to == query.get("To", m.to)]
            page_size = int(query.get("PageSize", "50"))
            records = [_message_json(state, m) for m in found[:page_size]]
        uri = urlsplit(self.path).path
        self._send_json(
            200,
            {
                "messages": records,
                "end": max(len(records) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": page_size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            },
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class RedirectingHttpClient(TwilioHttpClient):
    """The twilio library's own HTTP client, sending api.twilio.com requests to the fake."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=5)
        self._base_url = base_url

    def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return super().request(
            method,
            url.replace(TWILIO_API, self._base_url, 1),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


class FakeTwilio:
    """The fake server on 127.0.0.1 (a free port), run in a thread while in a `with` block."""

    def __init__(
        self, account_sid: str = "AC" + "1" * 32, auth_token: str = "test-auth-token"
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(account_sid, auth_token)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def http_client(self) -> RedirectingHttpClient:
        return RedirectingHttpClient(self.base_url)

    @property
    def created(self) -> list[CreatedMessage]:
        with self._server.state.lock:
            return list(self._server.state.created)

    @property
    def calls(self) -> list[CreatedCall]:
        with self._server.state.lock:
            return list(self._server.state.calls)

    @property
    def create_requests(self) -> int:
        return self._server.state.create_requests

    @property
    def list_requests(self) -> int:
        return self._server.state.list_requests

    def add_recording(self, sid: str, wav: bytes) -> str:
        """A call's recording the API serves (as Twilio does once `<Record>` ended); its URL."""
        with self._server.state.lock:
            self._server.state.recordings[sid] = wav
        return f"{TWILIO_API}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"

    def recording_fetches(self, sid: str) -> int:
        with self._server.state.lock:
            return self._server.state.recording_fetches[sid]

    def approve_template(self, content_sid: str, text: str) -> None:
        """An approved WhatsApp template (Content API): its text, `{{1}}`... its variables."""
        with self._server.state.lock:
            self._server.state.templates[content_sid] = text

    def fail_next(self, status: int, code: int, message: str) -> None:
        with self._server.state.lock:
            self._server.state.script.append(Failure(status, code, message))

    def refuse_number(self, to: str, code: int, message: str) -> None:
        """Refuse every message to `to` (as Twilio does an invalid or non-mobile number)."""
        with self._server.state.lock:
            self._server.state.refused[to] = Failure(400, code, message)

    def lose_next_response(self) -> None:
        with self._server.state.lock:
            self._server.state.script.append(LoseResponse())

    def outage(self, seconds: float, failures: list[Failure] | None = None) -> None:
        """For the next `seconds`, answer every create with these failures in turn (default:
        Twilio's 500 and its 429 "Too Many Requests"); nothing is created meanwhile."""
        with self._server.state.lock:
            self._server.state.outage = failures or [
                Failure(500, 20500, "Internal Server Error"),
                Failure(429, 20429, "Too Many Requests"),
            ]
            self._server.state.outage_until = time.monotonic() + seconds

    @property
    def errors_answered(self) -> Counter[int]:
        """How many creates were answered with each HTTP error status (scripted or outage)."""
        with self._server.state.lock:
            return Counter(self._server.state.errors_answered)

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def run_worker_against(base_url: str) -> None:
    """The project's worker process, its Twilio client talking to the fake at `base_url`.

    Only the host changes: the real `twilio` library builds and sends every request (through
    `RedirectingHttpClient`, the library's own HTTP client) and parses every answer.
    """
    from activities import twilio_gateway
    from workers import main as worker_main

    twilio_gateway.TwilioHttpClient = lambda timeout=None, **_: RedirectingHttpClient(base_url)
    worker_main.main()


if __name__ == "__main__":
    if sys.argv[1:] != ["worker"]:
        raise SystemExit("usage: FAKE_TWILIO_URL=http://... python -m tests.fake_twilio worker")
    run_worker_against(os.environ["FAKE_TWILIO_URL"])


# ---- the citizen's side of an IVR call ------------------------------------------------------


def signed_post(
    http: httpx.Client | httpx.AsyncClient, url: str, params: dict[str, str], auth_token: str
) -> Any:
    """POST `params` to the public `url` as Twilio does (signed); `http` talks to the app
    (its base URL stands for the public one)."""
    signature = RequestValidator(auth_token).compute_signature(url, params)
    parts = urlsplit(url)
    return http.post(
        parts.path + (f"?{parts.query}" if parts.query else ""),
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


async def answer_call(
    http: httpx.AsyncClient,
    call: CreatedCall,
    auth_token: str,
    *,
    digits: str | None = None,
    status: str = "completed",
    recording_url: str | None = None,
) -> list[str]:
    """What Twilio does with a placed call: fetch its TwiML (if answered), press `digits`
    (None: silence), follow a `<Record>` with `recording_url` (its last part, when it is a
    recording SID, sent as `RecordingSid`), then send the final status callback. Returns the
    TwiML documents the citizen heard."""
    base = {"CallSid": call.sid, "AccountSid": "AC" + "1" * 32, "To": call.to}
    heard: list[str] = []
    if status == "completed":
        twiml = await signed_post(
            http, call.form["Url"], {**base, "CallStatus": "in-progress"}, auth_token
        )
        twiml.raise_for_status()
        heard.append(twiml.text)
        gather = ElementTree.fromstring(twiml.text).find("Gather")
        if digits is not None and gather is not None:
            answered = await signed_post(
                http, gather.attrib["action"], {**base, "Digits": digits}, auth_token
            )
            answered.raise_for_status()
            heard.append(answered.text)
            record = ElementTree.fromstring(answered.text).find("Record")
            if record is not None and recording_url is not None:
                remark = await signed_post(
                    http,
                    record.attrib["action"],
                    {
                        **base,
                        "RecordingUrl": recording_url,
                        "RecordingSid": recording_url.rsplit("/", 1)[-1],
                        "RecordingDuration": "7",
                    },
                    auth_token,
                )
                remark.raise_for_status()
                heard.append(remark.text)
    await send_call_status(http, call, auth_token, status)
    return heard


async def send_call_status(
    http: httpx.AsyncClient, call: CreatedCall, auth_token: str, status: str
) -> None:
    """The call's final status callback (Twilio may send it more than once)."""
    base = {"CallSid": call.sid, "AccountSid": "AC" + "1" * 32, "To": call.to}
    done = await signed_post(
        http, call.form["StatusCallback"], {**base, "CallStatus": status}, auth_token
    )
    done.raise_for_status()


# ---- a citizen's side of SMS and WhatsApp -----------------------------------------------------


async def message_status(
    http: httpx.AsyncClient,
    message: CreatedMessage,
    status: str,
    auth_token: str,
    *,
    error_code: str | None = None,
) -> httpx.Response:
    """Twilio's status callback for a created message (SMS or WhatsApp), to the URL the
    message named; `error_code` with `failed`/`undelivered` (63016: outside the window)."""
    params = {
        "AccountSid": "AC" + "1" * 32,
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": message.to,
        "From": message.form.get("From", ""),
        "ApiVersion": "2010-04-01",
        **({"ErrorCode": error_code} if error_code else {}),
    }
    answer = await signed_post(http, message.form["StatusCallback"], params, auth_token)
    answer.raise_for_status()
    return answer


async def whatsapp_message(
    http: httpx.AsyncClient,
    url: str,
    phone: str,
    body: str,
    auth_token: str,
    *,
    sid: str | None = None,
    to: str = "whatsapp:+919000000000",
    photo_url: str | None = None,
) -> httpx.Response:
    """A citizen's WhatsApp message as Twilio delivers it to the centre's webhook `url` (the
    public URL; `http` talks to the app): `sid` to redeliver the same message, `photo_url`
    for a JPEG sent with it (Twilio's MediaUrl0)."""
    params = {
        "AccountSid": "AC" + "1" * 32,
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "SmsMessageSid": sid or "",
        "From": "whatsapp:" + phone,
        "To": to,
        "Body": body,
        "NumMedia": "1" if photo_url else "0",
        "ApiVersion": "2010-04-01",
        **({"MediaUrl0": photo_url, "MediaContentType0": "image/jpeg"} if photo_url else {}),
    }
    params["SmsMessageSid"] = params["MessageSid"]
    return await signed_post(http, url, params, auth_token)


def twiml_text(answer: httpx.Response) -> str:
    """The text of a TwiML `<Message>` answer ("" for an empty answer)."""
    answer.raise_for_status()
    found = ElementTree.fromstring(answer.text).find("Message")
    return (found.text or "") if found is not None else ""
