"""Idempotency keys are the caller's own, bounded, and a replay answers what the first answer
said (a kind of bad input: a shared key namespace let one client read or block another's
complaint, an empty key broke every later POST). Run on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from harness.factories import auth_headers, complaint_body, eventually
from schemas.auth import Role


def _integration(engine: Engine, key: str) -> dict[str, str]:
    return {**auth_headers(engine, Role.INTEGRATION), "Idempotency-Key": key}


async def test_two_clients_with_one_key_get_their_own_complaints(stack: httpx.AsyncClient) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    first, second = _integration(engine, "order-1"), _integration(engine, "order-1")
    a = await stack.post("/v1/complaints", json=complaint_body(), headers=first)
    b = await stack.post("/v1/complaints", json=complaint_body(), headers=second)
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert a.json()["registration_number"] != b.json()["registration_number"]
    # Another body under a key another client used: a complaint of its own, not a 409.
    other = complaint_body(description="something else entirely")
    c = await stack.post("/v1/complaints", json=other, headers=_integration(engine, "order-1"))
    assert c.status_code == 201, c.text
    # The same client again: the same complaint, marked as a replay.
    again = await stack.post("/v1/complaints", json=complaint_body(), headers=first)
    assert again.json()["registration_number"] == a.json()["registration_number"]
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_replay_tells_a_registering_client_only_what_the_first_answer_did(
    stack: httpx.AsyncClient,
) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    headers = _integration(engine, "intake-77")
    first = await stack.post("/v1/complaints", json=complaint_body(), headers=headers)
    path = first.json()["links"]["self"]

    async def case() -> dict[str, Any]:
        return (await stack.get(path)).json()

    await eventually(case, lambda c: c["status"] == "awaiting_report" and bool(c["messages"]))
    replay = (await stack.post("/v1/complaints", json=complaint_body(), headers=headers)).json()
    assert replay["registration_number"] == first.json()["registration_number"]
    assert replay["status"] == "registered"
    assert replay["assigned_officer"] is None
    assert replay["timeline"] == [] and replay["messages"] == []


@pytest.mark.parametrize("key", ["", "a" * 101, "with space", "ключ", "a/b"])
async def test_a_malformed_key_is_refused_naming_it_and_nothing_is_written(
    app_http: httpx.AsyncClient, key: str
) -> None:
    engine: Engine = app_http.app_engine  # type: ignore[attr-defined]
    headers = {**auth_headers(engine, Role.INTEGRATION)}
    answer = await app_http.post(
        "/v1/complaints",
        json=complaint_body(),
        headers={
            **{k.encode(): v.encode() for k, v in headers.items()},
            b"Idempotency-Key": key.encode(),
        },
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["Idempotency-Key"]
    listed = (await app_http.get("/v1/complaints")).json()
    assert listed["count"] == 0
    # An empty key spoils nothing for the next request.
    ok = await app_http.post("/v1/complaints", json=complaint_body(), headers=headers)
    assert ok.status_code == 201
