"""Times without a zone: one rule everywhere — a date/time without an offset, or a date alone,
is India Standard Time (its midnight for a date); a time that must lie ahead and does not, or a
string that is no time, is 422 naming the field.

A kind of bad input (issue: `GET /v1/audit?since=2026-11-29` answered 500, a directive's
`new_deadline` without an offset answered 409). Every time the API takes in: the audit
filters, and a decision's `new_deadline` on the case's and the session's routes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from harness.factories import complaint_body, eventually
from schemas.calendar import IST, assume_ist


def test_the_rule() -> None:
    assert assume_ist(datetime(2026, 11, 29)) == datetime(2026, 11, 29, tzinfo=IST)
    aware = datetime(2026, 11, 29, 5, tzinfo=UTC)
    assert assume_ist(aware) is aware


@pytest.mark.parametrize(
    "since", ["2026-11-29", "2026-11-29T10:00", "2026-11-29T10:00:00+05:30", "2026-11-29T04:30Z"]
)
async def test_audit_filters_take_dates_and_zone_less_times_as_ist(
    stack: httpx.AsyncClient, since: str
) -> None:
    answer = await stack.get("/v1/audit", params={"since": since, "until": "2099-01-01"})
    assert answer.status_code == 200, answer.text


async def test_audit_filters_read_a_date_as_the_start_of_that_ist_day(
    stack: httpx.AsyncClient,
) -> None:
    assert (await stack.post("/v1/complaints", json=complaint_body())).status_code == 201
    today = datetime.now(IST).date()
    tomorrow = today + timedelta(days=1)
    found = (await stack.get("/v1/audit", params={"since": today.isoformat()})).json()
    none = (await stack.get("/v1/audit", params={"since": tomorrow.isoformat()})).json()
    assert found["data"] and not none["data"]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "29-11-2026"])
async def test_what_is_no_time_is_422_naming_the_field(
    app_http: httpx.AsyncClient, value: str
) -> None:
    answer = await app_http.get("/v1/audit", params={"since": value})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["since"]


async def _escalated(stack: httpx.AsyncClient) -> str:
    created = await stack.post("/v1/complaints", json=complaint_body())
    path: str = created.json()["links"]["self"]

    async def status() -> str:
        return str((await stack.get(path)).json()["status"])

    await eventually(status, lambda s: s == "awaiting_report")
    await stack.post(f"{path}/report", json={"outcome": "resolved", "reply": "done"})
    answer = await stack.post(
        f"{path}/callback", json={"outcome": "not_satisfied", "remark": "not done"}
    )
    assert answer.json()["status"] == "weekly_review"
    return path


async def test_a_deadline_without_an_offset_is_ist(stack: httpx.AsyncClient) -> None:
    path = await _escalated(stack)
    directive = {"decision": "directive", "text": "Finish it", "new_deadline": "2030-01-15T17:00"}
    answer = await stack.post(f"{path}/decision", json=directive)
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_deadline"] == "2030-01-15T17:00:00+05:30"


@pytest.mark.parametrize("deadline", ["2020-01-15T17:00", "2020-01-15T17:00:00+00:00"])
@pytest.mark.parametrize("route", ["case", "session"], ids=["per-case route", "session route"])
async def test_a_deadline_in_the_past_is_422_on_both_decision_routes(
    app_http: httpx.AsyncClient, deadline: str, route: str
) -> None:
    body = {"decision": "directive", "text": "Finish it", "new_deadline": deadline}
    if route == "case":
        answer = await app_http.post("/v1/complaints/2026/1/decision", json=body)
    else:
        body["registration_number"] = "1/2026"
        answer = await app_http.post("/v1/reviews/weekly_review/2026-12-01/decisions", json=body)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["new_deadline"]
