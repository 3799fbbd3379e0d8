"""Forwarded addresses are believed only from configured proxies (a kind of bad input: a
client at 127.0.0.1 changing `X-Forwarded-For` per request walked 60 registration numbers
with no 429, and forged its address in the audit trail). Both ways, both databases."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.models import AuditEntry
from core.settings import Settings
from tests.api.test_tracking import lookup, public_client, register


async def test_a_client_cannot_choose_its_address_by_header(
    any_engine: Engine, settings: Settings
) -> None:
    limited = settings.model_copy(update={"track_failures_per_client": 3})
    row = register(any_engine)
    async with public_client(limited, any_engine, address="127.0.0.1") as http:
        for n, sequence in enumerate(range(row.sequence + 1, row.sequence + 4)):
            forged = {"X-Citizen-Phone": "9876543210", "X-Forwarded-For": f"203.0.113.{n}"}
            answer = await http.get(f"/v1/track/{row.year}/{sequence}", headers=forged)
            assert answer.status_code == 404
        blocked = await http.get(
            f"/v1/track/{row.year}/{row.sequence}",
            headers={"X-Citizen-Phone": "9876543210", "X-Forwarded-For": "203.0.113.99"},
        )
    assert blocked.status_code == 429  # one client, whatever its headers say


async def test_a_configured_proxy_is_believed(any_engine: Engine, settings: Settings) -> None:
    behind = settings.model_copy(
        update={"track_failures_per_client": 3, "forwarded_allow_ips": "10.0.0.5"}
    )
    row = register(any_engine)
    async with public_client(behind, any_engine, address="10.0.0.5") as http:
        for n, sequence in enumerate(range(row.sequence + 1, row.sequence + 4)):
            forwarded = {"X-Citizen-Phone": "9876543210", "X-Forwarded-For": f"203.0.113.{n}"}
            await http.get(f"/v1/track/{row.year}/{sequence}", headers=forwarded)
        # Each citizen behind the proxy is counted as themselves.
        answer = await lookup(http, f"/v1/track/{row.year}/{row.sequence}")
    assert answer.status_code == 200


async def test_the_audit_trail_records_the_peer_unless_a_proxy_vouches(
    any_engine: Engine, settings: Settings
) -> None:
    for allow, peer, expected in (
        ("", "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1", "203.0.113.7"),
    ):
        configured = settings.model_copy(update={"forwarded_allow_ips": allow})
        async with public_client(configured, any_engine, address=peer) as http:
            await http.post("/v1/complaints", json={}, headers={"X-Forwarded-For": "203.0.113.7"})
        with Session(any_engine) as session:
            latest = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
        assert latest is not None and latest.client_address == expected
