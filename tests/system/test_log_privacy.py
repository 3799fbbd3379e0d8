"""No token, key, phone, name, address or message text in any log line.

The README's walk-through (register, read, track, report, call back, decide, ask for a review,
withdraw, list, audit), plus what the walk-through's neighbours do (Open311 with its `api_key`
in the query string, a citizen's SMS commands, a page sign-in, a phone put in a URL), is run
against the real API and worker processes with LOG_LEVEL=INFO. Then the logs of both are
searched for every token, phone spelling and text the run used, and for every SMS text the
case recorded. The logs must not be empty of the lines that used to leak: access-log lines
and the outbox's "NOT SENT" lines are there, without the data.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from core.logging import redact
from harness.processes import EmbeddedStack
from schemas.auth import Role

TWILIO_TOKEN = "log-privacy-twilio-token"
NATIONAL = f"9{uuid.uuid4().int % 900_000_000 + 100_000_000}"
PHONE = f"+91{NATIONAL}"
SPACED = f"{NATIONAL[:5]} {NATIONAL[5:]}"
O311_NATIONAL = f"8{uuid.uuid4().int % 900_000_000 + 100_000_000}"

NAME = "Ramesh Logcheck Mahto"
ADDRESS = "Village Barwadihlogs, Block Kanke"
DESCRIPTION = "गाँव में शौचालय नहीं मिला, logcheck description text"
REPLY = "Toilet built on 2 Dec logcheck reply"
REMARK = "only half built logcheck remark"
DIRECTIVE = "BDO Kanke to complete it logcheck directive"
NOTE = "please review logcheck note"
REASON = "solved locally logcheck reason"
O311_FIRST, O311_LAST = "Sunitalog", "Oraonlog"
O311_ADDRESS = "Tola Bariatulog, Ward 12"
O311_DESCRIPTION = "Handpump kharab hai logcheck open311"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedStack]:
    """The API and worker as processes logging at INFO, on SQLite and on PostgreSQL (a schema
    of its own, whose errors would name values if any were logged)."""
    directory = tmp_path_factory.mktemp("log-privacy")
    with contextlib.ExitStack() as cleanup:
        database_url = None
        if request.param == "postgres":
            url = sa.make_url(request.getfixturevalue("postgres_url"))
            schema = f"logs_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(url)
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

            def drop() -> None:
                with admin.begin() as connection:
                    connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()

            cleanup.callback(drop)
            scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
            database_url = scoped.render_as_string(hide_password=False)
        stack = cleanup.enter_context(
            EmbeddedStack(
                directory,
                database_url=database_url,
                env={"LOG_LEVEL": "INFO", "LOG_FORMAT": "text"},
                api_env={"TWILIO_AUTH_TOKEN": TWILIO_TOKEN},
            )
        )
        stack.healthy()
        yield stack


def _signed(stack: EmbeddedStack, body: str, sid: str) -> tuple[str, dict[str, str]]:
    params = {"MessageSid": sid, "From": PHONE, "To": "+15005550006", "Body": body}
    url = f"{stack.base_url}/v1/twilio/inbound"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return urlencode(params), headers


def _walk_through(stack: EmbeddedStack, http: httpx.Client) -> tuple[list[str], list[str]]:
    """The README's walk-through and its neighbours; (tokens used, SMS texts recorded)."""
    roles = {
        role: stack.issue_token(role)
        for role in (
            Role.TELECALLER,
            Role.NODAL_OFFICER,
            Role.REVIEWER,
            Role.ADMINISTRATOR,
            Role.ENGINEER,
            Role.INTEGRATION,
        )
    }
    tc, nodal, rev = roles[Role.TELECALLER], roles[Role.NODAL_OFFICER], roles[Role.REVIEWER]
    body = {
        "kind": "complaint",
        "channel": "call_centre",
        "citizen": {
            "name": NAME,
            "phone": NATIONAL,
            "address": ADDRESS,
            "district": "Ranchi",
            "pincode": "834006",
            "language": "hi",
        },
        "category": "sanitation",
        "description": DESCRIPTION,
    }
    key = {"Idempotency-Key": f"call-181-{uuid.uuid4().hex[:8]}"}
    created = http.post("/v1/complaints", json=body, headers={**tc, **key})
    assert created.status_code == 201, created.text
    assert http.post("/v1/complaints", json=body, headers={**tc, **key}).status_code == 201
    path = created.json()["links"]["self"]
    year, sequence = path.rsplit("/", 2)[-2:]
    reg = created.json()["registration_number"]

    def settled() -> dict[str, object]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            case = http.get(path, headers=tc).json()
            messages = case["messages"]
            if case["status"] == "awaiting_report" and len(messages) >= 3:
                if all(m["status"] != "pending" for m in messages):
                    return case
            time.sleep(0.3)
        raise AssertionError(f"the case did not settle: {case}")

    settled()
    assert http.get(f"/v1/track/{year}/{sequence}", headers={"X-Citizen-Phone": SPACED}).is_success
    http.get(f"/v1/track/{year}/{sequence}", params={"phone": NATIONAL})  # a client's mistake
    assert http.post(
        f"{path}/report", json={"outcome": "resolved", "reply": REPLY}, headers=nodal
    ).is_success
    http.get("/v1/callbacks", params={"due_only": "false"}, headers=tc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the report reaches the workflow, then the callback
        answer = http.post(
            f"{path}/callback", json={"outcome": "not_satisfied", "remark": REMARK}, headers=tc
        )
        if answer.is_success:
            break
        time.sleep(0.3)
    http.post(
        f"{path}/decision",
        json={
            "decision": "directive",
            "text": DIRECTIVE,
            "responsible_officer_id": "nodal-district-ranchi",
            "new_deadline": "2099-12-10T17:00:00+05:30",
        },
        headers=rev,
    )
    http.post(f"{path}/review-request", json={"note": NOTE}, headers=tc)
    http.post(f"{path}/withdraw", json={"reason": REASON}, headers=tc)
    http.get("/v1/complaints", params={"district": "Ranchi"}, headers=rev)
    http.get("/v1/officers", headers=rev)
    http.get(f"{path}/live", headers=roles[Role.ENGINEER])
    http.get(f"{path}/audit", headers=roles[Role.ADMINISTRATOR])
    # A token where tokens do not belong, and a wrong one.
    http.get("/v1/complaints", params={"token": tc["Authorization"][7:]})
    http.get("/v1/complaints", headers={"Authorization": "Bearer js_0123abcd_notavalidsecret"})
    # Open311: the integration's key in the query string, as some city apps send it.
    api_key = roles[Role.INTEGRATION]["Authorization"][7:]
    o311 = http.post(
        "/open311/v2/requests.json",
        params={"api_key": api_key},
        data={
            "api_key": api_key,
            "jurisdiction_id": "jharkhand.gov.in",
            "service_code": "drinking_water",
            "first_name": O311_FIRST,
            "last_name": O311_LAST,
            "phone": O311_NATIONAL,
            "address_string": O311_ADDRESS,
            "description": O311_DESCRIPTION,
            "attribute[district]": "Ranchi",
        },
    )
    assert o311.status_code == 201, o311.text
    http.get("/open311/v2/requests.json", params={"api_key": api_key, "phone": O311_NATIONAL})
    # The citizen's SMS commands, then STOP.
    for text in (f"STATUS {reg}", f"REVIEW {reg}", "STOP"):
        content, headers = _signed(stack, text, "SM" + uuid.uuid4().hex)
        assert http.post("/v1/twilio/inbound", content=content, headers=headers).is_success
    # A page sign-in (the token in a form body) and a case page.
    sign_in = http.get("/sign-in")
    csrf = sign_in.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    http.post("/sign-in", data={"token": tc["Authorization"][7:], "csrf_token": csrf})
    http.get(f"/cases/{year}/{sequence}")
    final = http.get(path, headers=tc).json()
    texts = [m["text"] for m in final["messages"]]
    tokens = [headers["Authorization"][7:] for headers in roles.values()]
    return tokens, texts


def test_a_walk_through_at_info_leaves_no_personal_data_in_the_logs(
    live: EmbeddedStack,
) -> None:
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        tokens, texts = _walk_through(live, http)
        time.sleep(1.0)  # the worker's last lines
    logs = {
        name: (live.directory / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        for name in ("api", "worker")
    }
    everything = "\n".join(logs.values())
    # The lines that used to leak are there (INFO is on), without the data.
    assert "POST /v1/complaints" in logs["api"], logs["api"][-3000:]
    assert "/open311/v2/requests.json?api_key=[redacted]" in logs["api"]
    assert "NOT SENT" in logs["worker"], logs["worker"][-3000:]
    secrets: dict[str, str] = {}
    for token in tokens:
        secrets[f"token {token[:12]}…"] = token
        secrets[f"secret of {token[:12]}…"] = token.split("_", 2)[2]  # the secret may hold "_"
    for spelling in (NATIONAL, PHONE, SPACED, O311_NATIONAL, f"+91{O311_NATIONAL}"):
        secrets[f"phone {spelling}"] = spelling
    for label, text in {
        "name": NAME,
        "address": ADDRESS,
        "description": DESCRIPTION,
        "reply": REPLY,
        "remark": REMARK,
        "directive": DIRECTIVE,
        "note": NOTE,
        "reason": REASON,
        "Open311 first name": O311_FIRST,
        "Open311 last name": O311_LAST,
        "Open311 address": O311_ADDRESS,
        "Open311 description": O311_DESCRIPTION,
        "inbound text": "logcheck",
    }.items():
        secrets[label] = text
    assert len(texts) >= 4
    for index, text in enumerate(texts):
        secrets[f"SMS text {index}"] = text
    leaked = {label: value for label, value in secrets.items() if value in everything}
    assert not leaked, {
        label: next(line for line in everything.splitlines() if value in line)
        for label, value in leaked.items()
    }


def test_redact_covers_each_kind() -> None:
    line = (
        '127.0.0.1:5 - "GET /open311/v2/requests.json?api_key=js_ab12cd_S3cr3t-x&phone='
        '9876543210&first_name=Sita&registration_number=1/2026&limit=5 HTTP/1.1" 200'
    )
    cleaned = redact(line)
    for secret in ("S3cr3t", "9876543210", "Sita"):
        assert secret not in cleaned
    assert "registration_number=1/2026" in cleaned and "limit=5" in cleaned
    assert redact("token js_ab12cd_S3cr3t-x refused") == "token js_ab12cd_[redacted] refused"
    assert redact("to +91 98765 43210: hello") == "to [phone]: hello"
    assert redact("Authorization: Bearer eyJhbGc.eyJzdWIi.c2ln") == (
        "Authorization: Bearer [redacted]"
    )
    assert "eyJzdWIi" not in redact("token eyJhbGc.eyJzdWIi.c2ln refused")
    assert redact("/auth/callback?code=abc&state=xyz") == (
        "/auth/callback?code=[redacted]&state=[redacted]"
    )
    # What must stay: registration numbers, workflow ids, provider ids, times.
    for kept in ("20983/2018", "complaint-2026-20983", "SM0123456789abcdef9876543210ab"):
        assert redact(kept) == kept


def test_an_exception_text_is_redacted_too(tmp_path: Path) -> None:
    import logging

    from core.logging import RedactFilter, TextFormatter

    stream = (tmp_path / "out.log").open("w+", encoding="utf-8")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("test-log-privacy")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("no such phone +919876543210")
        except ValueError:
            logger.error("lookup for %s failed", "9876543210", exc_info=True)
    finally:
        logger.removeHandler(handler)
    stream.seek(0)
    written = stream.read()
    assert "9876543210" not in written and "[phone]" in written and "ValueError" in written
