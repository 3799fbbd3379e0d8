"""Extreme numbers and dates in every parameter: 422 naming the parameter, never 500 (a kind of
bad input: `offset=10^20`, a huge `before_id`, `sidhi_baat/9999-12-28` answered 500). Every
numeric parameter has bounds the databases can bind; every date lies in the calendar's years
(2000-2100). Run on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

HUGE = str(10**20)


@pytest.mark.parametrize(
    ("method", "path", "params", "json", "field"),
    [
        ("GET", "/v1/complaints", {"offset": HUGE}, None, "offset"),
        ("GET", "/v1/complaints", {"limit": HUGE}, None, "limit"),
        ("GET", "/v1/complaints", {"undecided_min": HUGE}, None, "undecided_min"),
        ("GET", "/v1/audit", {"before_id": HUGE}, None, "before_id"),
        ("GET", "/v1/audit", {"since": "9999-12-31"}, None, "since"),
        ("GET", "/v1/audit", {"until": "0001-01-01T00:00"}, None, "until"),
        ("GET", "/v1/reviews/sidhi_baat/9999-12-28", {}, None, "day"),
        ("GET", "/v1/reviews/weekly_review/1000-01-06/minutes", {}, None, "day"),
        (
            "POST",
            "/v1/reviews/weekly_review/9999-12-28/close",
            {},
            {"reason": "x"},
            "day",
        ),
        (
            "POST",
            "/v1/complaints/2026/1/decision",
            {},
            {"decision": "directive", "text": "x", "new_deadline": "9999-12-31T23:59:59"},
            "new_deadline",
        ),
    ],
)
async def test_extremes_are_422_naming_the_parameter(
    app_http: httpx.AsyncClient,
    method: str,
    path: str,
    params: dict[str, str],
    json: dict[str, str] | None,
    field: str,
) -> None:
    answer = await app_http.request(method, path, params=params, json=json)
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]], answer.json()


async def test_numbers_beyond_a_database_integer_in_a_path_name_no_case(
    app_http: httpx.AsyncClient,
) -> None:
    assert (await app_http.get(f"/v1/complaints/{HUGE}/1")).status_code in (404, 422)
    assert (await app_http.get(f"/v1/complaints/2026/{HUGE}")).status_code in (404, 422)
