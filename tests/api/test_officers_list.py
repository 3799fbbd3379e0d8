"""`GET /v1/officers` answers like every other list: `{data, count}`, paged by `limit` and
`offset` in a stated order (by id), `count` the whole match."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from core.models import Officer
from harness.factories import auth_headers
from schemas.auth import Role


async def test_the_directory_is_a_paged_list_with_its_count(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    engine = any_engine
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(Officer)).one()
    assert total > 30  # the seeded directory: more than one page of 10
    headers = auth_headers(engine, Role.REVIEWER)
    first = await http.get("/v1/officers", params={"limit": 10}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"data", "count"}
    assert body["count"] == total and len(body["data"]) == 10
    seen = []
    for offset in range(0, total, 10):
        page = await http.get(
            "/v1/officers", params={"limit": 10, "offset": offset}, headers=headers
        )
        seen += [o["id"] for o in page.json()["data"]]
    assert seen == sorted(seen) and len(set(seen)) == total  # every entry once, by id
    ranchi = (await http.get("/v1/officers?district=Ranchi", headers=headers)).json()
    assert ranchi["count"] == len(ranchi["data"]) >= 1
    assert {o["district"] for o in ranchi["data"]} == {"Ranchi"}
    too_many = await http.get("/v1/officers", params={"limit": 501}, headers=headers)
    assert too_many.status_code == 422 and "limit" in too_many.text
