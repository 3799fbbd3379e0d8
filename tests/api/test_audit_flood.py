"""The audit trail against floods and forged operators (a kind of bad input: refused anonymous
writes appended an undeletable row each, 314 rows/s; administrators' commands were attributed
from `$USER`; actions by SMS command were not linked to their case). Both databases."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import audit
from core.admin import operator, os_user, user_cli
from core.models import AuditEntry
from core.settings import Settings
from harness.factories import complaint_body


async def test_a_flood_of_refused_anonymous_writes_leaves_a_few_counted_rows(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    for _ in range(25):
        refused = await http.post("/v1/complaints", json=complaint_body())  # no token
        assert refused.status_code == 401
    with Session(any_engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(AuditEntry.route == "/v1/complaints", AuditEntry.status_code == 401)
            .order_by(col(AuditEntry.id))
        ).all()
    # Rows for the 1st and the 10th refusal of the minute (then the 100th, 1000th...).
    assert len(rows) == 2
    assert "refused anonymous requests this minute: 10" in rows[1].summary


def test_an_administrators_command_is_attributed_to_the_account_not_to_user(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "someone-else")
    user_cli(["user", "create", "asha", "--role", "telecaller"], settings, engine)
    user_cli(["--actor", "ravi.kumar", "user", "revoke", "asha"], settings, engine)
    user_cli(["dev-tokens"], settings, engine)
    trail = {e.route: e for e in audit.entries(engine)}
    assert trail["core.admin user create"].subject == operator() == f"cli:{os_user()}"
    assert trail["core.admin user create"].subject != "cli:someone-else"  # not from $USER
    revoke = trail["core.admin user revoke"]
    assert revoke.subject == "cli:ravi.kumar" and f"os_user={os_user()}" in revoke.summary
    assert "core.admin dev-tokens" in trail  # issuing development tokens is recorded too
