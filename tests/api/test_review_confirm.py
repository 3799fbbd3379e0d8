"""Closing a case at a review from the review room, on SQLite and
PostgreSQL with the real worker, dev server and session workflow: without the citizen
informed, the refusal is said beside the checkbox in the reader's words (no
"citizen_informed: …"); with it, a second page says what closing does and nothing is decided
until it is confirmed (the API unchanged)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.models import utcnow
from core.settings import Settings
from harness.factories import auth_headers, eventually
from schemas.auth import Role
from schemas.calendar import IST, SessionKind
from schemas.i18n import translations
from schemas.review import ReviewSessionInput
from tests.api.test_pages import sign_in, token_of
from tests.lifecycle_helpers import open_case
from workflows.review import ReviewSessionWorkflow, session_workflow_id

HINDI = translations("pages", "hi").gettext


def visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


async def _on_a_frozen_agenda(
    stack: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> tuple[str, str, str]:
    """A case the citizen was not satisfied with, on a weekly review whose agenda is frozen;
    returns (its registration number, the session's day, the API path of the case)."""
    engine = stack.app_engine  # type: ignore[attr-defined]
    handle = await open_case(dev_env.client, engine, settings)
    year, sequence = handle.id.rsplit("-", 2)[-2:]
    path = f"/v1/complaints/{year}/{sequence}"

    async def case() -> dict[str, Any]:
        return dict((await stack.get(path)).json())

    await eventually(case, lambda c: c.get("status") == "awaiting_report")
    report = await stack.post(f"{path}/report", json={"outcome": "resolved", "reply": "done"})
    assert report.status_code == 200, report.text
    unhappy = await stack.post(
        f"{path}/callback", json={"outcome": "not_satisfied", "remark": "nothing was done"}
    )
    assert unhappy.status_code == 200, unhappy.text
    escalated = await eventually(case, lambda c: c.get("status") == "weekly_review")
    starts = datetime.fromisoformat(escalated["review_date"])
    day = starts.astimezone(IST).date().isoformat()
    sid = f"weekly-review-{day}"
    workflow_id = session_workflow_id(settings.workflow_id_prefix, sid)
    try:  # opened by the case with the real cutoff, which the test cannot wait for
        await dev_env.client.get_workflow_handle(workflow_id).terminate("cutoff moved")
    except RPCError:
        pass
    await dev_env.client.start_workflow(
        ReviewSessionWorkflow.run,
        ReviewSessionInput(
            kind=SessionKind.WEEKLY_REVIEW,
            session_id=sid,
            starts_at=starts,
            cutoff_at=utcnow() - timedelta(minutes=1),
        ),
        id=workflow_id,
        task_queue=settings.temporal_task_queue,
    )
    return f"{sequence}/{year}", day, path


async def test_closing_at_a_review_is_refused_in_words_then_confirmed(
    stack: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    number, day, path = await _on_a_frozen_agenda(stack, dev_env, settings)
    engine = stack.app_engine  # type: ignore[attr-defined]
    api_token = stack.headers.pop("Authorization")
    await sign_in(stack, token_of(auth_headers(engine, Role.REVIEWER)))
    stack.cookies.set("jan_samvad_lang", "hi")
    agenda = f"/review-room/weekly_review/{day}"
    page = await eventually(
        lambda: stack.get(agenda), lambda p: 'class="decision"' in p.text, within=30
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    decision = {
        "csrf_token": token.group(1),
        "idempotency_key": "close-1",
        "registration_number": number,
        "decision": "close",
        "text": "resolved on the ground, photos seen",
    }
    # Not informed: the refusal beside the checkbox, in Hindi, without the field's name.
    refused = await stack.post(f"{agenda}/decisions", data=decision)
    assert refused.status_code == 409, visible(refused.text)[:1500]
    assert (
        HINDI(
            "Inform the citizen first: a review closes a case only once the citizen has been "
            "told, then tick this box."
        )
        in refused.text
    )
    assert "citizen_informed" not in visible(refused.text)

    # Informed: a second page says what will happen; nothing is decided yet.
    informed = {**decision, "citizen_informed": "on"}
    asked = await stack.post(f"{agenda}/decisions", data=informed)
    assert asked.status_code == 200 and 'id="confirm"' in asked.text
    assert number in asked.text and "resolved on the ground" in asked.text
    assert 'name="citizen_informed" value="on"' in asked.text
    status = (await stack.get(path, headers={"Authorization": api_token})).json()["status"]
    assert status == "weekly_review"

    done = await stack.post(f"{agenda}/decisions", data={**informed, "confirmed": "yes"})
    assert done.status_code == 303, visible(done.text)[:1500]
    closed = await eventually(
        lambda: stack.get(path, headers={"Authorization": api_token}),
        lambda r: r.json()["status"] == "closed",
    )
    assert closed.json()["closure_reason"] == "closed_at_review"

    # Closing the session: asked first too, with the counts.
    asked = await stack.post(
        f"{agenda}/close", data={"csrf_token": token.group(1), "idempotency_key": "c-1"}
    )
    assert asked.status_code == 200 and 'id="confirm"' in asked.text
    held = await stack.get(f"/v1/reviews/weekly_review/{day}", headers={"Authorization": api_token})
    assert held.json()["session"]["phase"] != "closed"
