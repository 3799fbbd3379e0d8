"""Characters that cannot be stored or sent, and oversized bodies, in every field of every route.

A kind of bad input (issue: "NUL and control characters"): a `\\u0000` in a description gave
500 on PostgreSQL. Now every string of every request — JSON at any depth, forms, query
parameters, paths — is checked in one place (`api/guard.py`) and refused with 422 naming the
field; nothing is written. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from api.guard import forbidden_character
from core.models import Complaint
from core.settings import Settings
from harness.factories import complaint_body

BAD = ["\x00", "\x1b", "\x7f", "\x85", "\ud800", "\uffff"]
CASE = "/v1/complaints/2026/1"
SESSION = "/v1/reviews/weekly_review/2026-12-01"

# (method, path, body, the field holding the bad text): every text a client sends.
FIELDS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/v1/complaints", complaint_body(citizen__name="{}"), "citizen.name"),
    ("POST", "/v1/complaints", complaint_body(citizen__address="{}"), "citizen.address"),
    ("POST", "/v1/complaints", complaint_body(description="{}"), "description"),
    (
        "POST",
        "/v1/complaints",
        complaint_body(limit_override_reason="{}"),
        "limit_override_reason",
    ),
    ("POST", f"{CASE}/report", {"outcome": "resolved", "reply": "{}"}, "reply"),
    ("POST", f"{CASE}/callback", {"outcome": "not_satisfied", "remark": "{}"}, "remark"),
    ("POST", f"{CASE}/review-request", {"note": "{}"}, "note"),
    ("POST", f"{CASE}/withdraw", {"reason": "{}"}, "reason"),
    ("POST", f"{CASE}/reopen", {"reason": "{}"}, "reason"),
    ("POST", f"{CASE}/decision", {"decision": "directive", "text": "{}"}, "text"),
    (
        "POST",
        f"{SESSION}/decisions",
        {"registration_number": "1/2026", "decision": "directive", "text": "{}"},
        "text",
    ),
]


def _with(value: Any, bad: str) -> Any:
    if isinstance(value, str):
        return value.replace("{}", f"before{bad}after")
    if isinstance(value, dict):
        return {k: _with(v, bad) for k, v in value.items()}
    return value


def _complaints(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Complaint)).one())


@pytest.mark.parametrize("bad", BAD, ids=[f"U+{ord(c):04X}" for c in BAD])
@pytest.mark.parametrize(
    ("method", "path", "body", "field"), FIELDS, ids=[f"{f[1]}:{f[3]}" for f in FIELDS]
)
async def test_every_text_field_refuses_what_cannot_be_stored(
    app_http: httpx.AsyncClient,
    any_engine: Engine,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    bad: str,
) -> None:
    # As JSON escapes (`\u0000`, `\ud800`): what a client sends on the wire.
    answer = await app_http.request(
        method,
        path,
        content=json.dumps(_with(body, bad)).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert f"U+{ord(bad):04X}" in answer.json()["detail"]
    assert _complaints(any_engine) == 0


async def test_query_parameters_and_forms_are_checked_too(
    app_http: httpx.AsyncClient, any_engine: Engine
) -> None:
    listed = await app_http.get("/v1/complaints", params={"district": "Ran\x00chi"})
    assert listed.status_code == 422
    assert listed.json()["errors"][0]["field"] == "district"
    # A path: the server has decoded %00 into a NUL; a literal "%00" (%2500) is just text.
    in_path = await app_http.get("/v1/complaints/2026/1%00")
    assert in_path.status_code == 422
    assert in_path.json()["errors"][0]["field"] == "path"
    literal = await app_http.get("/v1/reviews/weekly_review/2026-12-01%2500")
    assert literal.status_code != 422 or literal.json()["errors"][0]["field"] == "day"
    # A Twilio webhook's form (refused before its signature is even looked at).
    inbound = await app_http.post("/v1/twilio/inbound", data={"Body": "STATUS 1/2026\x00"})
    assert inbound.status_code == 422
    assert inbound.json()["errors"][0]["field"] == "Body"


async def test_what_can_be_stored_passes(app_http: httpx.AsyncClient, any_engine: Engine) -> None:
    text = "गाँव में शौचालय नहीं\nline two\twith a tab — and 😀"
    assert forbidden_character(text) is None
    created = await app_http.post("/v1/complaints", json=complaint_body(description=text))
    assert created.status_code in (201, 202), created.text
    assert created.json()["description"] == text
    assert _complaints(any_engine) == 1


async def test_a_body_too_large_is_refused_before_it_is_read(
    app_http: httpx.AsyncClient, settings: Settings, any_engine: Engine
) -> None:
    big = complaint_body(description="x" * (settings.max_body_bytes + 1))
    answer = await app_http.post("/v1/complaints", json=big)
    assert answer.status_code == 413
    # Without a Content-Length (streamed): refused once the bytes pass the limit.

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    streamed = await app_http.post(
        "/v1/complaints", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert _complaints(any_engine) == 0
