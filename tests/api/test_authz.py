"""Who may do what: every route of the app against every role, the district and
department scopes (out of scope is 404, like a missing case), and the actor taken from the
token rather than from the body.

Most cells need no workflow: a case inserted into the read model answers an allowed action
with 409 (its workflow has not started) or 422 (the empty body), a refused one with 403. A few
end-to-end cells run on the `stack` fixture.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any, Literal

import httpx
from sqlalchemy.engine import Engine

from api.main import create_app
from core.models import Complaint, utcnow
from core.settings import Settings
from harness.factories import (
    auth_headers,
    complaint_body,
    eventually,
    insert_case,
    named_headers,
    routes_of,
)
from schemas.auth import Role

# Pages sign in with a session cookie, not a bearer token: ("page", roles) or
# "page-open"; tests/api/test_pages.py checks them with a signed-in browser per role.
Decision = (
    frozenset[Role]
    | Literal["open", "signed", "api_key", "page-open"]
    | tuple[Literal["page"], frozenset[Role]]
)

R = Role
CASE_READERS = frozenset(
    {R.NODAL_OFFICER, R.DEPARTMENT_OFFICER, R.REVIEWER, R.TELECALLER, R.ADMINISTRATOR}
)
CASE = "/v1/complaints/{year}/{sequence}"
SESSION = "/v1/reviews/{kind}/{day}"
OPEN311 = "/open311/v2"

# The decision for every route of the app: the roles admitted, or open without a token
# ("signed": Twilio's signature instead; "api_key": an integration token in the form, as
# Open311 sends it). A route missing here fails the test.
EXPECTED: dict[tuple[str, str], Decision] = {
    ("GET", "/healthz"): "open",
    ("GET", "/docs"): "open",
    ("GET", "/docs/oauth2-redirect"): "open",
    ("GET", "/redoc"): "open",
    ("GET", "/openapi.json"): "open",
    ("GET", "/v1/track/{year}/{sequence}"): "open",  # the citizen's phone is the key
    ("POST", "/v1/twilio/status"): "signed",
    ("POST", "/v1/twilio/inbound"): "signed",
    ("POST", "/v1/twilio/whatsapp"): "signed",
    ("POST", "/v1/voice/twiml"): "signed",
    ("POST", "/v1/voice/answer"): "signed",
    ("POST", "/v1/voice/remark"): "signed",
    ("POST", "/v1/voice/status"): "signed",
    ("GET", "/v1/voice/checks"): frozenset({R.TELECALLER, R.REVIEWER}),
    ("POST", "/v1/voice/checks/{year}/{sequence}"): frozenset({R.TELECALLER, R.REVIEWER}),
    ("GET", "/v1/voice/verification"): frozenset({R.TELECALLER, R.REVIEWER, R.ADMINISTRATOR}),
    ("POST", "/v1/complaints"): frozenset({R.TELECALLER, R.INTEGRATION}),
    ("GET", "/v1/complaints"): CASE_READERS,
    ("GET", CASE): CASE_READERS,
    ("GET", f"{CASE}/live"): frozenset({R.ENGINEER, R.ADMINISTRATOR}),
    ("POST", f"{CASE}/report"): frozenset({R.NODAL_OFFICER, R.DEPARTMENT_OFFICER}),
    ("POST", f"{CASE}/interim-reply"): frozenset({R.NODAL_OFFICER, R.DEPARTMENT_OFFICER}),
    ("POST", f"{CASE}/callback"): frozenset({R.TELECALLER}),
    ("POST", f"{CASE}/review-request"): frozenset({R.TELECALLER, R.REVIEWER}),
    ("POST", f"{CASE}/withdraw"): frozenset({R.TELECALLER}),
    ("POST", f"{CASE}/reopen"): frozenset({R.TELECALLER}),
    ("POST", f"{CASE}/rating"): frozenset({R.TELECALLER}),
    ("POST", f"{CASE}/decision"): frozenset({R.REVIEWER}),
    # A case's files (tests/api/test_attachments_api.py: scope, the integration's own cases).
    ("POST", f"{CASE}/attachments"): frozenset(
        {R.TELECALLER, R.NODAL_OFFICER, R.DEPARTMENT_OFFICER, R.INTEGRATION}
    ),
    ("GET", f"{CASE}/attachments"): CASE_READERS,
    ("GET", f"{CASE}/attachments/{{attachment_id}}"): CASE_READERS,
    ("POST", f"{CASE}/attachments/{{attachment_id}}/publication"): frozenset(
        {R.TELECALLER, R.REVIEWER, R.ADMINISTRATOR}
    ),
    ("POST", f"{CASE}/attachments/{{attachment_id}}/deletion"): frozenset({R.ADMINISTRATOR}),
    ("GET", "/v1/attachments/{attachment_id}"): "open",  # public files only
    ("GET", "/v1/callbacks"): frozenset({R.TELECALLER, R.REVIEWER}),
    ("GET", "/v1/sms/unreachable"): frozenset({R.TELECALLER, R.ADMINISTRATOR}),
    ("PUT", "/v1/whatsapp/preference"): frozenset({R.TELECALLER, R.ADMINISTRATOR}),
    ("GET", "/v1/officers"): frozenset(Role) - {R.INTEGRATION, R.MONITORING},
    ("GET", "/v1/grading"): frozenset({R.REVIEWER, R.ADMINISTRATOR, R.NODAL_OFFICER}),
    ("GET", "/v1/reviews"): frozenset({R.REVIEWER, R.ADMINISTRATOR}),
    ("GET", SESSION): frozenset({R.REVIEWER, R.ADMINISTRATOR}),
    ("POST", f"{SESSION}/decisions"): frozenset({R.REVIEWER}),
    ("POST", f"{SESSION}/close"): frozenset({R.REVIEWER}),
    ("POST", f"{SESSION}/bulk-decisions"): frozenset({R.REVIEWER}),
    ("GET", f"{SESSION}/bulk-decisions/{{bulk_id}}"): frozenset({R.REVIEWER, R.ADMINISTRATOR}),
    ("GET", f"{SESSION}/minutes"): frozenset({R.REVIEWER, R.ADMINISTRATOR}),
    ("GET", "/v1/audit"): frozenset({R.ADMINISTRATOR, R.REVIEWER}),
    ("GET", f"{CASE}/audit"): frozenset({R.ADMINISTRATOR, R.REVIEWER}),
    ("GET", "/metrics"): frozenset({R.MONITORING, R.ADMINISTRATOR, R.ENGINEER}),
    # The Temporal UI's codec endpoint (tests/api/test_codec.py: the cookie, CORS, decoding).
    ("POST", "/v1/codec/decode"): frozenset({R.ENGINEER, R.ADMINISTRATOR}),
    ("POST", "/v1/codec/encode"): frozenset({R.ENGINEER, R.ADMINISTRATOR}),
    ("POST", "/v1/codec/{namespace}/decode"): frozenset({R.ENGINEER, R.ADMINISTRATOR}),
    ("POST", "/v1/codec/{namespace}/encode"): frozenset({R.ENGINEER, R.ADMINISTRATOR}),
    ("POST", "/v1/codec/session"): frozenset({R.ENGINEER, R.ADMINISTRATOR}),
    ("DELETE", "/v1/codec/session"): "open",  # forgets the caller's own cookie
    # Open311 GeoReport v2 (tests/system/test_open311.py): reads are public in the spec and answer
    # no personal field; a POST brings an integration token as its api_key.
    ("GET", f"{OPEN311}/discovery.{{fmt}}"): "open",
    ("GET", f"{OPEN311}/services.{{fmt}}"): "open",
    ("GET", f"{OPEN311}/services/{{service_code}}.{{fmt}}"): "open",
    ("GET", f"{OPEN311}/requests.{{fmt}}"): "open",
    ("GET", f"{OPEN311}/requests/{{request_id}}.{{fmt}}"): "open",
    ("GET", f"{OPEN311}/tokens/{{token}}.{{fmt}}"): "open",
    ("GET", f"{OPEN311}/servicerequestupdates.{{fmt}}"): "open",
    ("POST", f"{OPEN311}/requests.{{fmt}}"): "api_key",
    ("GET", f"{OPEN311}/{{unknown:path}}"): "open",  # 404 in Open311's format
    ("POST", f"{OPEN311}/{{unknown:path}}"): "open",
    # The pages (api/pages/).
    ("GET", "/"): "page-open",
    ("GET", "/language"): "page-open",
    ("GET", "/sign-in"): "page-open",
    ("POST", "/sign-in"): "page-open",
    ("GET", "/sign-in/oidc"): "page-open",  # tests/api/test_pages_oidc.py
    ("GET", "/sign-in/oidc/callback"): "page-open",
    ("POST", "/sign-out"): "page-open",
    ("GET", "/track"): "page-open",
    ("POST", "/track"): "page-open",
    ("POST", "/track/rating"): "page-open",  # the phone checked again (test_closure_pages.py)
    ("GET", "/desk"): ("page", frozenset({R.TELECALLER})),
    ("POST", "/desk/register"): ("page", frozenset({R.TELECALLER})),
    ("POST", "/desk/history"): ("page", frozenset({R.TELECALLER})),
    ("POST", "/desk/history.json"): ("page", frozenset({R.TELECALLER})),
    ("GET", "/cases"): ("page", CASE_READERS),
    ("GET", "/cases/{year}/{sequence}"): ("page", CASE_READERS),
    ("POST", "/cases/{year}/{sequence}/callback"): ("page", frozenset({R.TELECALLER})),
    ("POST", "/cases/{year}/{sequence}/review-request"): (
        "page",
        frozenset({R.TELECALLER, R.REVIEWER}),
    ),
    ("POST", "/cases/{year}/{sequence}/withdraw"): ("page", frozenset({R.TELECALLER})),
    ("POST", "/cases/{year}/{sequence}/reopen"): ("page", frozenset({R.TELECALLER})),
    ("POST", "/cases/{year}/{sequence}/report"): (
        "page",
        frozenset({R.NODAL_OFFICER, R.DEPARTMENT_OFFICER}),
    ),
    ("POST", "/cases/{year}/{sequence}/interim-reply"): (
        "page",
        frozenset({R.NODAL_OFFICER, R.DEPARTMENT_OFFICER}),
    ),
    ("POST", "/cases/{year}/{sequence}/attachments"): (
        "page",
        frozenset({R.TELECALLER, R.NODAL_OFFICER, R.DEPARTMENT_OFFICER}),
    ),
    ("GET", "/cases/{year}/{sequence}/attachments/{attachment_id}"): ("page", CASE_READERS),
    ("POST", "/cases/{year}/{sequence}/attachments/{attachment_id}/publication"): (
        "page",
        frozenset({R.TELECALLER, R.REVIEWER, R.ADMINISTRATOR}),
    ),
    ("GET", "/inbox"): ("page", frozenset({R.NODAL_OFFICER, R.DEPARTMENT_OFFICER})),
    ("GET", "/review-room"): ("page", frozenset({R.REVIEWER, R.ADMINISTRATOR})),
    ("GET", "/review-room/{kind}/{day}"): ("page", frozenset({R.REVIEWER, R.ADMINISTRATOR})),
    ("POST", "/review-room/{kind}/{day}/bulk-decisions"): ("page", frozenset({R.REVIEWER})),
    ("GET", "/review-room/{kind}/{day}/minutes"): (
        "page",
        frozenset({R.REVIEWER, R.ADMINISTRATOR}),
    ),
    ("GET", "/review-room/{kind}/{day}/minutes.csv"): (
        "page",
        frozenset({R.REVIEWER, R.ADMINISTRATOR}),
    ),
    ("POST", "/review-room/{kind}/{day}/decisions"): ("page", frozenset({R.REVIEWER})),
    ("POST", "/review-room/{kind}/{day}/close"): ("page", frozenset({R.REVIEWER})),
    ("GET", "/dashboard"): ("page", frozenset({R.REVIEWER, R.ADMINISTRATOR})),
    ("GET", "/grading"): ("page", frozenset({R.REVIEWER, R.ADMINISTRATOR, R.NODAL_OFFICER})),
    ("GET", "/engineer"): ("page", frozenset({R.ENGINEER, R.ADMINISTRATOR})),
    ("POST", "/engineer/temporal-ui"): ("page", frozenset({R.ENGINEER, R.ADMINISTRATOR})),
}


def path_of(row: Complaint) -> str:
    return f"/v1/complaints/{row.year}/{row.sequence}"


def test_every_route_has_a_declared_decision(settings: Settings) -> None:
    app = create_app(settings)  # its lifespan is not run: nothing is opened
    served = routes_of(app)
    assert served - set(EXPECTED) == set(), "routes without a declared decision in EXPECTED"
    assert set(EXPECTED) - served == set(), "EXPECTED names routes the app does not serve"


async def test_authorisation_matrix(http: httpx.AsyncClient, any_engine: Engine) -> None:
    case = insert_case(any_engine, district="Ranchi")
    values: defaultdict[str, Any] = defaultdict(
        lambda: "x", year=case.year, sequence=case.sequence, kind="weekly_review"
    )
    values["day"] = "2026-12-01"
    values["fmt"] = "json"
    tokens = {role: auth_headers(any_engine, role) for role in Role}
    every_role = auth_headers(any_engine, *Role)
    wrong: list[str] = []

    async def call(method: str, url: str, headers: dict[str, str]) -> httpx.Response:
        body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
        return await http.request(method, url, json=body, headers=headers)

    for (method, template), decision in sorted(EXPECTED.items(), key=lambda item: item[0]):
        if decision == "page-open" or isinstance(decision, tuple):
            continue  # cookie sessions: tests/api/test_pages.py
        url = template.replace(":path}", "}").format_map(values)  # a catch-all's converter
        anonymous = await call(method, url, {})
        if decision == "open":
            if anonymous.status_code in (401, 403):
                wrong.append(f"{method} {template}: {anonymous.status_code} without a token")
            continue
        if decision == "signed":
            # Tokenless; the missing signature refuses it, with or without a token.
            for headers in ({}, every_role):
                answer = await call(method, url, headers)
                if answer.status_code != 403 or "Signature" not in answer.text:
                    wrong.append(f"{method} {template}: {answer.status_code} {answer.text}")
            continue
        if decision == "api_key":
            # A bearer token does not stand for the form's api_key; only an integration's
            # token as the api_key is admitted.
            for headers in ({}, every_role):
                answer = await http.request(method, url, data={"x": "1"}, headers=headers)
                if answer.status_code != 403 or "api_key" not in answer.text:
                    wrong.append(f"{method} {template}: {answer.status_code} {answer.text}")
            for role in Role:
                key = tokens[role]["Authorization"].removeprefix("Bearer ")
                answer = await http.request(method, url, data={"api_key": key})
                refused = answer.status_code in (401, 403) or answer.status_code >= 500
                if refused is (role is R.INTEGRATION):
                    wrong.append(f"{method} {template} as {role}: {answer.status_code}")
            continue
        if anonymous.status_code != 401:
            wrong.append(f"{method} {template}: {anonymous.status_code} without a token")
        for role in Role:
            answer = await call(method, url, tokens[role])
            if role in decision:
                if answer.status_code in (401, 403) or answer.status_code >= 500:
                    wrong.append(f"{method} {template} as {role}: refused {answer.status_code}")
            elif answer.status_code != 403:
                wrong.append(f"{method} {template} as {role}: {answer.status_code}, not 403")
    assert wrong == []


async def test_a_nodal_officer_sees_only_the_cases_of_their_district(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    ranchi = insert_case(any_engine, district="Ranchi")
    dhanbad = insert_case(any_engine, district="Dhanbad")
    # Transferred from Dhanbad to Ranchi's officer: now Ranchi's to report on.
    transferred = insert_case(
        any_engine, district="Dhanbad", assigned_officer_id="nodal-district-ranchi"
    )
    nodal_ranchi = auth_headers(any_engine, Role.NODAL_OFFICER, district="Ranchi")

    assert (await http.get(path_of(ranchi), headers=nodal_ranchi)).status_code == 200
    assert (await http.get(path_of(transferred), headers=nodal_ranchi)).status_code == 200
    hidden = await http.get(path_of(dhanbad), headers=nodal_ranchi)
    missing = await http.get(f"/v1/complaints/{dhanbad.year}/999999999", headers=nodal_ranchi)
    assert hidden.status_code == missing.status_code == 404
    # The same answer as for a number that does not exist: nothing confirms the case.
    assert hidden.json() == {"detail": f"no complaint {dhanbad.sequence}/{dhanbad.year}"}
    assert missing.json() == {"detail": f"no complaint 999999999/{dhanbad.year}"}
    assert set(hidden.headers) == set(missing.headers)

    listed = (await http.get("/v1/complaints", headers=nodal_ranchi)).json()
    numbers = {c["registration_number"] for c in listed["data"]}
    assert numbers == {ranchi.registration_number, transferred.registration_number}
    assert listed["count"] == 2
    asked_for_dhanbad = await http.get(
        "/v1/complaints", params={"district": "Dhanbad"}, headers=nodal_ranchi
    )
    assert [c["registration_number"] for c in asked_for_dhanbad.json()["data"]] == [
        transferred.registration_number
    ]

    # Acting on another district's case: the same 404; on their own, past scope (409: the
    # workflow of an inserted case never started).
    report = {"outcome": "resolved", "reply": "done"}
    refused = await http.post(f"{path_of(dhanbad)}/report", json=report, headers=nodal_ranchi)
    assert refused.status_code == 404
    assert refused.json() == {"detail": f"no complaint {dhanbad.sequence}/{dhanbad.year}"}
    own = await http.post(f"{path_of(ranchi)}/report", json=report, headers=nodal_ranchi)
    assert own.status_code == 409

    # The reviewer reads the whole state.
    reviewer = auth_headers(any_engine, Role.REVIEWER)
    everything = (await http.get("/v1/complaints", headers=reviewer)).json()
    assert {c["registration_number"] for c in everything["data"]} >= {
        ranchi.registration_number,
        dhanbad.registration_number,
        transferred.registration_number,
    }
    assert (await http.get(path_of(dhanbad), headers=reviewer)).status_code == 200


async def test_a_department_nodal_officer_sees_their_departments_cases(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    police = insert_case(any_engine, district="Dhanbad", department="police")
    other = insert_case(any_engine, district="Dhanbad", department="health")
    nodal_police = auth_headers(any_engine, Role.NODAL_OFFICER, department="police")
    listed = (await http.get("/v1/complaints", headers=nodal_police)).json()
    assert [c["registration_number"] for c in listed["data"]] == [police.registration_number]
    assert (await http.get(path_of(other), headers=nodal_police)).status_code == 404


async def test_a_department_officer_sees_only_urgent_cases_of_their_department(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    urgent_police = insert_case(any_engine, district="Dhanbad", department="police", urgent=True)
    routine_police = insert_case(any_engine, district="Dhanbad", department="police")
    urgent_health = insert_case(any_engine, district="Ranchi", department="health", urgent=True)
    desk = auth_headers(any_engine, Role.DEPARTMENT_OFFICER, department="police")

    listed = (await http.get("/v1/complaints", headers=desk)).json()
    assert [c["registration_number"] for c in listed["data"]] == [urgent_police.registration_number]
    assert (await http.get(path_of(urgent_police), headers=desk)).status_code == 200
    for hidden in (routine_police, urgent_health):
        assert (await http.get(path_of(hidden), headers=desk)).status_code == 404
    report = {"outcome": "resolved", "reply": "arrested"}
    answer = await http.post(f"{path_of(routine_police)}/report", json=report, headers=desk)
    assert answer.status_code == 404
    answer = await http.post(f"{path_of(urgent_police)}/report", json=report, headers=desk)
    assert answer.status_code == 409


async def test_only_the_roles_an_endpoint_admits_widen_the_scope(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    dhanbad = insert_case(any_engine, district="Dhanbad")
    # A Ranchi nodal officer who also works as a telecaller reads every case (as a
    # telecaller) but reports only on Ranchi's (reporting admits no telecaller).
    both = auth_headers(any_engine, Role.NODAL_OFFICER, Role.TELECALLER, district="Ranchi")
    assert (await http.get(path_of(dhanbad), headers=both)).status_code == 200
    report = {"outcome": "resolved", "reply": "done"}
    answer = await http.post(f"{path_of(dhanbad)}/report", json=report, headers=both)
    assert answer.status_code == 404


async def test_an_officer_token_without_district_or_department_is_state_level(
    http: httpx.AsyncClient, any_engine: Engine
) -> None:
    cases = [insert_case(any_engine, district=d) for d in ("Ranchi", "Dhanbad", "Dumka")]
    state = auth_headers(any_engine, Role.NODAL_OFFICER)
    listed = (await http.get("/v1/complaints", headers=state)).json()
    assert {c["registration_number"] for c in listed["data"]} == {
        c.registration_number for c in cases
    }


# ---- end to end: identity from the token ---------------------------------------------------


async def test_the_actor_recorded_is_the_tokens_subject(stack: httpx.AsyncClient) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    suffix = uuid.uuid4().hex[:6]
    telecaller = named_headers(engine, f"tc-{suffix}", Role.TELECALLER)
    nodal = named_headers(engine, f"nodal-ranchi-{suffix}", Role.NODAL_OFFICER, district="Ranchi")
    nodal_dhanbad = named_headers(
        engine, f"nodal-dhanbad-{suffix}", Role.NODAL_OFFICER, district="Dhanbad"
    )
    reviewer = named_headers(engine, f"reviewer-{suffix}", Role.REVIEWER)

    created = await stack.post("/v1/complaints", json=complaint_body(), headers=telecaller)
    assert created.status_code == 201, created.text
    path = created.json()["links"]["self"]

    async def case() -> dict[str, Any]:
        answer = await stack.get(path, headers=nodal)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    await eventually(case, lambda c: c["status"] == "awaiting_report")

    # Another district's officer: neither sees nor acts on it.
    assert (await stack.get(path, headers=nodal_dhanbad)).status_code == 404
    report = {"outcome": "resolved", "reply": "Toilet built"}
    assert (
        await stack.post(f"{path}/report", json=report, headers=nodal_dhanbad)
    ).status_code == 404

    # A body cannot name who acted: refused, naming the field, and nothing recorded.
    forged = await stack.post(
        f"{path}/report", json={**report, "submitted_by": "cm-himself"}, headers=nodal
    )
    assert forged.status_code == 422
    assert [e["field"] for e in forged.json()["errors"]] == ["submitted_by"]
    assert (await case())["status"] == "awaiting_report"

    reported = await stack.post(f"{path}/report", json=report, headers=nodal)
    assert reported.status_code == 200, reported.text
    called = await stack.post(
        f"{path}/callback",
        json={"outcome": "not_satisfied", "remark": "half built"},
        headers=telecaller,
    )
    assert called.status_code == 200 and called.json()["status"] == "weekly_review"
    directed = await stack.post(
        f"{path}/decision",
        json={
            "decision": "directive",
            "text": "Finish it",
            "new_deadline": (utcnow() + timedelta(days=5)).isoformat(),
        },
        headers=reviewer,
    )
    assert directed.status_code == 200, directed.text
    requested = await stack.post(
        f"{path}/review-request", json={"note": "the citizen called again"}, headers=telecaller
    )
    assert requested.status_code == 200, requested.text
    withdrawn = await stack.post(
        f"{path}/withdraw", json={"reason": "solved locally"}, headers=telecaller
    )
    assert withdrawn.status_code == 200, withdrawn.text

    final = await eventually(case, lambda c: "withdrawn" in [e["event"] for e in c["timeline"]])
    actors = {e["event"]: e["actor"] for e in final["timeline"]}
    assert actors["report_received"] == f"nodal-ranchi-{suffix}"
    assert actors["citizen_not_satisfied"] == f"tc-{suffix}"
    assert actors["directive_given"] == f"reviewer-{suffix}"
    assert actors["withdrawn"] == f"tc-{suffix}"
    # Who acted, how it came in, and whether for the citizen: three fields, not one string.
    entries = {e["event"]: e for e in final["timeline"]}
    assert actors["registered"] == f"tc-{suffix}"
    assert entries["registered"]["channel"] == "call_centre"
    assert actors["review_requested"] == f"tc-{suffix}"
    assert entries["review_requested"]["channel"] == "api"
    for event in ("registered", "review_requested", "withdrawn"):
        assert entries[event]["on_behalf_of_citizen"] is True, event
    for event in ("report_received", "directive_given"):
        assert entries[event]["on_behalf_of_citizen"] is False, event
