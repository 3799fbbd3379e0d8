"""People's words on the staff pages, on SQLite and PostgreSQL with the
real worker and dev server: a refusal about a field is said beside it in the reader's
language without the field's name ("a transfer names the district (transfer_to_district)"
and "citizen_informed: …" no more), the timeline names outcomes (`partially_resolved`) and
actors (`system`) in the reader's language, officers read officers' wording for a status
(not the citizen's "we will call you to confirm"), and a department officer's header names
the department (not "police")."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.errors import refusal
from api.pages.words import actor_label, field_refusal, note_text, staff_status
from harness.factories import auth_headers, eventually, insert_case
from schemas.auth import Role
from schemas.enums import ComplaintStatus
from schemas.i18n import translations
from tests.api.test_pages import sign_in, token_of
from tests.lifecycle_helpers import open_case

HINDI = translations("pages", "hi").gettext
ENGLISH = translations("pages", "en").gettext


def visible(html: str) -> str:
    """The text a reader sees (tags and their attributes removed)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_refusals_about_a_field_are_said_beside_it_without_its_name() -> None:
    for key, name in [
        ("transfer_target", "transfer_to_district"),
        ("citizen_not_informed", "citizen_informed"),
        ("remark_required", "remark"),
        ("reply_required", "reply"),
    ]:
        for _ in (HINDI, ENGLISH):
            said = field_refusal(refusal(key), _)
            assert said is not None and set(said) == {name}, key
            assert not said[name].startswith(f"{name}:") and "_" not in said[name], said
    assert (
        field_refusal(refusal("wrong_status", status="closed", wanted="awaiting_report"), HINDI)
        is None
    )
    hindi = field_refusal(refusal("citizen_not_informed"), HINDI)
    assert hindi is not None and re.search("[\u0900-\u097f]", hindi["citizen_informed"])


def test_the_timeline_names_codes_and_machines_in_the_readers_language() -> None:
    def outcome(value: str) -> str:
        return {"partially_resolved": HINDI("Partially resolved")}.get(value, value)

    def forum(kind: str) -> str:
        return kind

    note = note_text(
        "report_received", "partially_resolved: 2 of 3 toilets built", HINDI, outcome, forum
    )
    assert note == "आंशिक रूप से निराकृत: 2 of 3 toilets built"
    closed = note_text("closed", "resolved_verified: happy", HINDI, outcome, forum)
    assert "resolved_verified" not in closed and closed.endswith(": happy")
    sms = note_text("sms_failed", "acknowledgement to citizen: gateway down", HINDI, outcome, forum)
    assert "acknowledgement" not in sms and sms.endswith(": gateway down")
    assert "reminder" not in note_text(
        "officer_reminded", "reminder 1: report due 15-12-2026 17:00", HINDI, outcome, forum
    )
    assert actor_label("system", HINDI) == "जन संवाद (स्वचालित)"
    assert actor_label("timer", ENGLISH) == "Deadline (automatic)"
    assert actor_label("telecaller-07", HINDI) == "telecaller-07"  # a person's name as it is
    # Officers' wording for a status, not the citizen's.
    for _ in (ENGLISH, HINDI):
        said = staff_status(ComplaintStatus.AWAITING_CALLBACK, "en", _)
        assert "call you" not in said and "आपको" not in said


async def _report_page(
    stack: httpx.AsyncClient, engine: Engine, dev_env: WorkflowEnvironment, settings: Any
) -> tuple[str, str]:
    handle = await open_case(dev_env.client, engine, settings)
    year, sequence = handle.id.rsplit("-", 2)[-2:]

    async def status() -> str:
        return str((await stack.get(f"/v1/complaints/{year}/{sequence}")).json().get("status"))

    await eventually(status, lambda s: s == "awaiting_report")
    return year, sequence


async def test_a_transfer_without_a_target_is_said_beside_the_field_in_hindi(
    stack: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Any
) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    year, sequence = await _report_page(stack, engine, dev_env, settings)
    stack.headers.pop("Authorization")
    await sign_in(stack, token_of(auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")))
    stack.cookies.set("jan_samvad_lang", "hi")
    page = await stack.get(f"/cases/{year}/{sequence}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    refused = await stack.post(
        f"/cases/{year}/{sequence}/report",
        data={"csrf_token": token.group(1), "outcome": "transferred", "reply": "not ours"},
    )
    assert refused.status_code == 409, refused.text[:500]
    error = re.search(r'id="transfer_to_district-error">([^<]+)<', refused.text)
    assert error is not None, visible(refused.text)[:2000]
    assert error.group(1) == HINDI("Choose the district or the department to transfer the case to.")
    assert "transfer_to_district" not in visible(refused.text)
    assert "transfer_to" not in visible(refused.text)
    # What was typed is kept.
    assert "not ours" in refused.text

    # A report that goes through: the timeline says it in Hindi, its actor too.
    done = await stack.post(
        f"/cases/{year}/{sequence}/report",
        data={
            "csrf_token": token.group(1),
            "outcome": "partially_resolved",
            "reply": "2 of 3 toilets built",
            "idempotency_key": "r1",
        },
    )
    assert done.status_code == 303, done.text[:500]
    case = await eventually(
        lambda: stack.get(f"/cases/{year}/{sequence}"),
        lambda p: "2 of 3 toilets built" in p.text and "report_received" not in visible(p.text),
    )
    timeline = visible(case.text[case.text.index('class="timeline"') :])
    assert "आंशिक रूप से निराकृत: 2 of 3 toilets built" in timeline
    assert "partially_resolved" not in timeline
    assert " system" not in timeline and "जन संवाद (स्वचालित)" in timeline
    # An officer reads officers' wording for the status.
    assert "पुष्टि के लिए आपको कॉल किया जाएगा" not in visible(case.text)


async def test_a_department_officers_header_names_the_department(
    stack: httpx.AsyncClient,
) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    insert_case(engine, district="Ranchi", department="police", urgent=True)
    stack.headers.pop("Authorization")
    await sign_in(
        stack, token_of(auth_headers(engine, Role.DEPARTMENT_OFFICER, department="police"))
    )
    inbox = await stack.get("/inbox", headers={"accept-language": "en"})
    assert inbox.status_code == 200
    header = inbox.text[
        inbox.text.index('class="subject"') : inbox.text.index(
            "</span>", inbox.text.index('class="subject"')
        )
    ]
    assert "Home and Police" in header and "· police" not in header
    hindi = await stack.get("/inbox", headers={"accept-language": "hi"})
    header = hindi.text[
        hindi.text.index('class="subject"') : hindi.text.index(
            "</span>", hindi.text.index('class="subject"')
        )
    ]
    assert re.search("[\u0900-\u097f]", header) and "police" not in header


def test_every_timeline_event_has_words_in_every_language() -> None:
    from api.pages.reference import TIMELINE_EVENTS

    for event in TIMELINE_EVENTS:
        for _ in (ENGLISH, HINDI):
            said = _(event)
            assert said != event and "_" not in said, (event, said)
