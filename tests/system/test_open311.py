"""Open311 GeoReport v2 at /open311/v2/, against the real API process.

Real third-party clients from PyPI talk to it over HTTP: `georeport` (reads services, service
definitions and requests, in JSON and in XML: it parses XML with xmltodict) and `civicbot`
(lists and POSTs in JSON, through urllib). Our XML is also read the way FixMyStreet's client
reads it (XML::Simple with forced arrays for service, attribute, value, request and error),
here with xmltodict's `force_list`. The embedded stack (dev server, worker, API as processes)
is started once for the module; each test uses its own phone numbers and services so that
the tests do not depend on each other.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
import xmltodict
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from api.services.intake import RecentDuplicates, register_complaint
from core.auth import create_user
from core.db import make_engine
from core.models import Complaint, Message, utcnow
from harness.factories import complaint_body
from harness.processes import EmbeddedStack
from schemas.auth import Role
from schemas.complaint import ComplaintCreate
from schemas.i18n import local_name
from schemas.reference import CATEGORIES, DISTRICTS
from schemas.tracking import STATUS_LABELS

JURISDICTION = "jharkhand.gov.in"
FMS_CLIENT = "fixmystreet-ranchi"  # configured to record its posts as the web channel
# What FixMyStreet's client forces into arrays (XML::Simple ForceArray).
FORCED = ("service", "attribute", "value", "request", "error")
DESCRIPTION = "Hamare tola mein handpump teen hafte se kharab hai, paani nahi mil raha"

T = TypeVar("T")


# ---- the stack and its clients -------------------------------------------------------------


class Open311Stack:
    def __init__(self, stack: EmbeddedStack) -> None:
        self.stack = stack
        self.root = f"{stack.base_url}/open311/v2"
        self.engine = make_engine(stack.database_url)
        self.http = httpx.Client(base_url=self.root, timeout=30)
        self.staff = httpx.Client(base_url=stack.base_url, headers=stack.headers, timeout=30)
        self.fms_key = self.token(Role.INTEGRATION, name=FMS_CLIENT)
        self.app_key = self.token(Role.INTEGRATION)

    def token(self, *roles: Role, name: str | None = None) -> str:
        _user, token = create_user(
            self.engine, name=name or f"open311-{uuid.uuid4().hex[:8]}", roles=list(roles)
        )
        return token

    def civicbot(self, fmt: str = "json") -> Open311Client:
        endpoint = Endpoint(id="jan-samvad", name="Jan Samvad", base_url=self.root, write=True)
        # No politeness delay between calls to our own local server.
        transport = HttpTransport(rate_limiter=RateLimiter(min_interval=0))
        return Open311Client(endpoint, transport=transport, jurisdiction_id=JURISDICTION, fmt=fmt)

    def case(self, service_request_id: str) -> dict[str, Any]:
        """The case as staff see it through the JSON API."""
        year, sequence = service_request_id.split("-")
        answer = self.staff.get(f"/v1/complaints/{year}/{sequence}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def complaints(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(Complaint)).one()

    def messages_to(self, phone: str) -> list[Message]:
        with Session(self.engine) as session:
            return list(session.exec(select(Message).where(col(Message.recipient) == phone)).all())


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def o311(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Open311Stack]:
    """The embedded stack with a SQLite read model, then with a PostgreSQL one (a schema of
    its own), where concurrent registrations are serialised by the counter's row lock."""
    directory: Path = tmp_path_factory.mktemp("open311")
    settings = {
        "OPEN311_JURISDICTION_ID": JURISDICTION,
        "OPEN311_DUPLICATE_WINDOW_SECONDS": "3600",
        "OPEN311_CLIENT_CHANNELS": f"{FMS_CLIENT}:web",
    }
    with contextlib.ExitStack() as cleanup:
        database_url = None
        if request.param == "postgres":
            url = sa.make_url(request.getfixturevalue("postgres_url"))
            schema = f"open311_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(url)
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

            def drop() -> None:
                with admin.begin() as connection:
                    connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()

            cleanup.callback(drop)
            scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
            database_url = scoped.render_as_string(hide_password=False)
        stack = cleanup.enter_context(
            EmbeddedStack(directory, database_url=database_url, env=settings)
        )
        stack.healthy()
        o = Open311Stack(stack)
        try:
            yield o
        finally:
            o.http.close()
            o.staff.close()
            o.engine.dispose()


def a_phone() -> str:
    """A valid Indian mobile number of its own (the daily per-phone limit stays out of it)."""
    return f"9{random.randint(100_000_000, 999_999_999)}"


def form(key: str, **overrides: str) -> dict[str, str]:
    """An Open311 POST body as a city app sends it."""
    body = {
        "api_key": key,
        "jurisdiction_id": JURISDICTION,
        "service_code": "drinking_water",
        "first_name": "Sunita",
        "last_name": "Oraon",
        "phone": a_phone(),
        "address_string": "Tola Bariatu, Ward 12, Ranchi",
        "description": DESCRIPTION,
        "attribute[district]": "Ranchi",
        "attribute[language]": "hi",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v != ""}


def wait_for(probe: Callable[[], T], check: Callable[[T], bool], within: float = 30) -> T:
    """Poll until `check` holds (asynchronous work of the worker, never a timer)."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s; last: {value!r}")
        time.sleep(0.2)


def errors_of(answer: httpx.Response) -> list[dict[str, Any]]:
    """The error list, read as FixMyStreet reads it (XML) or as JSON."""
    if answer.headers["content-type"].startswith("text/xml"):
        parsed = xmltodict.parse(answer.content, force_list=FORCED)
        errors: list[dict[str, Any]] = parsed["errors"]["error"]
        return [{"code": int(e["code"]), "description": e["description"]} for e in errors]
    body: list[dict[str, Any]] = answer.json()
    return body


def assert_refused(answer: httpx.Response, status: int, field: str) -> None:
    assert answer.status_code == status, answer.text
    errors = errors_of(answer)
    assert errors and all(e["code"] == status for e in errors), errors
    assert any(e["description"].startswith(f"{field}:") for e in errors), errors


# ---- real clients --------------------------------------------------------------------------


def test_civicbot_posts_a_request_that_becomes_a_complaint_with_workflow_and_sms(
    o311: Open311Stack,
) -> None:
    client = o311.civicbot()
    phone = a_phone()
    prepared = client.create_request(
        "drinking_water",
        dry_run=False,
        confirm="SEND",
        api_key=o311.fms_key,
        validate_remote=True,  # reads services and the definition first, checks attributes
        address_string="Tola Bariatu, Ward 12, Ranchi",
        description=DESCRIPTION,
        first_name="Sunita",
        last_name="Oraon",
        phone=phone,
        attributes={"district": "Ranchi", "wishes_to_meet_cm": "true", "pincode": "834009"},
    )
    [created] = prepared.response
    rid = created["service_request_id"]
    year, sequence = rid.split("-")
    assert created["token"] == rid
    assert f"{sequence}/{year}" in created["service_notice"]

    case = o311.case(rid)
    assert case["registration_number"] == f"{sequence}/{year}"
    assert case["channel"] == "web"  # the client's channel (OPEN311_CLIENT_CHANNELS)
    assert case["category"] == "drinking_water"
    assert case["citizen"]["name"] == "Sunita Oraon"
    assert case["citizen"]["phone"] == f"+91{phone}"
    assert case["citizen"]["address"] == "Tola Bariatu, Ward 12, Ranchi"
    assert case["citizen"]["district"] == "Ranchi" and case["citizen"]["pincode"] == "834009"
    assert case["description"] == DESCRIPTION
    assert case["wishes_to_meet_cm"] is True
    assert case["workflow_started"] is True

    # The audit trail names the client, and the request as a registration.
    trail = o311.staff.get(f"/v1/complaints/{year}/{sequence}/audit").json()["data"]
    [entry] = [e for e in trail if e["method"] == "POST"]
    assert entry["subject"] == FMS_CLIENT and entry["roles"] == ["integration"]
    assert entry["route"] == "/open311/v2/requests.{fmt}" and entry["status_code"] == 201
    assert entry["summary"].startswith("register")

    # Its workflow forwards it and the citizen is acknowledged by SMS with the number.
    case = wait_for(
        lambda: o311.case(rid),
        lambda c: (
            c["status"] == "awaiting_report"
            and any(m["template"] == "acknowledgement" for m in c["messages"])
        ),
    )
    [ack] = [m for m in case["messages"] if m["template"] == "acknowledgement"]
    assert f"{sequence}/{year}" in ack["text"] and ack["recipient"] == f"+91{phone}"
    assert case["assigned_officer"] is not None
    # The timeline credits the client that took it in, for the citizen, through its channel.
    [registered] = [e for e in case["timeline"] if e["event"] == "registered"]
    assert registered["actor"] == FMS_CLIENT and registered["channel"] == "web"
    assert registered["on_behalf_of_citizen"] is True

    # civicbot lists it back (JSON) and reads it by id, open, with its next deadline.
    listed = client.list_requests(service_request_ids=[rid])
    assert [r["service_request_id"] for r in listed] == [rid]
    one = client.get_request(rid)
    assert one is not None and one["status"] == "open"
    assert one["expected_datetime"].endswith("+05:30")
    assert client.get_token(rid) == [{"service_request_id": rid, "token": rid}]


def test_an_app_without_a_configured_channel_is_recorded_as_the_mobile_app(
    o311: Open311Stack,
) -> None:
    answer = o311.http.post("/requests.json", data=form(o311.app_key))
    assert answer.status_code == 201, answer.text
    assert o311.case(answer.json()[0]["service_request_id"])["channel"] == "mobile_app"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_services_definitions_and_requests(o311: Open311Stack, fmt: str) -> None:
    posted = o311.http.post(f"/requests.{fmt}", data=form(o311.app_key, service_code="pension"))
    assert posted.status_code == 201, posted.text
    client = GeoReport(o311.root, jurisdiction=JURISDICTION, output_format=fmt)

    services = client.get_service_list()
    assert [s["service_code"] for s in services] == [c.code for c in CATEGORIES]
    sanitation = services[0]
    assert "Sanitation" in sanitation["service_name"] and "शौचालय" in sanitation["service_name"]
    assert str(sanitation["metadata"]).lower() == "true"

    definition = client.get_service_definition("lpg_connection")
    assert definition["service_code"] == "lpg_connection"
    attributes = definition["attributes"]
    if fmt == "xml":  # xmltodict without forced arrays: <attributes><attribute>...
        attributes = attributes["attribute"]
    by_code = {a["code"]: a for a in attributes}
    assert {"district", "language", "wishes_to_meet_cm", "kind"} <= set(by_code)
    district = by_code["district"]
    assert district["datatype"] == "singlevaluelist"
    assert str(district["required"]).lower() == "true"
    values = district["values"] if fmt == "json" else district["values"]["value"]
    assert [v["key"] for v in values] == list(DISTRICTS)

    pensions = client.get_service_requests(service_code="pension", status="open")
    if fmt == "xml" and isinstance(pensions, dict):  # one request: not a list in xmltodict
        pensions = [pensions]
    rid = posted.json()[0]["service_request_id"] if fmt == "json" else None
    if rid is None:
        rid = xmltodict.parse(posted.content)["service_requests"]["request"]["service_request_id"]
    assert rid in [r["service_request_id"] for r in pensions]
    one = client.get_service_request(rid)
    assert one["service_request_id"] == rid
    assert one["status"] == "open" and one["service_code"] == "pension"
    assert "Registration number" in one["service_notice"]


# ---- privacy -------------------------------------------------------------------------------


def test_get_answers_no_personal_field(o311: Open311Stack) -> None:
    phone = a_phone()
    body = form(
        o311.app_key,
        phone=phone,
        first_name="Birsa",
        last_name="Munda-Kujur",
        address_string="House 77, Lalpur Chowk",
        description="Meri vidhwa pension chaar mahine se band hai (PPO 55512)",
        **{"attribute[pincode]": "834001"},
    )
    posted = o311.http.post("/requests.json", data=body)
    assert posted.status_code == 201, posted.text
    rid = posted.json()[0]["service_request_id"]
    personal = ["Birsa", "Munda-Kujur", phone[-6:], "Lalpur", "House 77", "PPO 55512", "834001"]
    answers = [
        o311.http.get(f"/requests/{rid}.json"),
        o311.http.get(f"/requests/{rid}.xml"),
        o311.http.get("/requests.json", params={"service_request_id": rid}),
        o311.http.get("/requests.xml"),
        o311.http.get("/servicerequestupdates.xml"),
        o311.http.get("/servicerequestupdates.json"),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert rid in answer.text
        for value in personal:
            assert value not in answer.text, (value, answer.url)
    [shown] = answers[0].json()
    for field in ("description", "address", "address_id", "zipcode", "lat", "long", "media_url"):
        assert shown[field] is None, field
    # What /v1/track shows: the status in both languages, the next deadline, the number.
    labels = {f"{label} / {local_name('status', label, 'hi')}" for label in STATUS_LABELS.values()}
    assert shown["status_notes"] in labels
    assert shown["requested_datetime"].endswith("+05:30")
    assert "Ranchi / रांची (district)" in shown["agency_responsible"]


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_each_kind_of_error_is_in_the_spec_format_and_writes_nothing(
    o311: Open311Stack, fmt: str
) -> None:
    before = o311.complaints()
    telecaller = o311.token(Role.TELECALLER)
    http = o311.http
    # 403: no key, a key that is no token, a token of staff rather than an integration.
    assert_refused(http.post(f"/requests.{fmt}", data=form("")), 403, "api_key")
    assert_refused(http.post(f"/requests.{fmt}", data=form("js_nope.nope")), 403, "api_key")
    assert_refused(http.post(f"/requests.{fmt}", data=form(telecaller)), 403, "api_key")
    # 404: another jurisdiction, an unknown service, request or token.
    other = {"jurisdiction_id": "delhi.gov.in"}
    assert_refused(http.get(f"/services.{fmt}", params=other), 404, "jurisdiction_id")
    assert_refused(
        http.post(f"/requests.{fmt}", data=form(o311.app_key, **other)), 404, "jurisdiction_id"
    )
    assert_refused(http.get(f"/services/potholes.{fmt}"), 404, "service_code")
    assert_refused(http.get(f"/requests/2026-999999.{fmt}"), 404, "service_request_id")
    # The registration number itself is no path segment: still 404 in the spec's format.
    slashed = http.get(f"/requests/1%2F2026.{fmt}")
    assert slashed.status_code == 404 and errors_of(slashed)[0]["code"] == 404
    assert_refused(http.get(f"/tokens/nope.{fmt}"), 404, "token")
    assert http.get(f"/no-such-thing.{fmt}").status_code == 404
    # 400: each field named.
    key = o311.app_key
    for body, field in [
        (form(key, phone="12345"), "phone"),
        (form(key, phone=""), "phone"),
        (form(key, service_code="potholes"), "service_code"),
        (form(key, **{"attribute[district]": ""}), "attribute[district]"),
        (form(key, **{"attribute[district]": "Gotham"}), "attribute[district]"),
        (form(key, **{"attribute[language]": "fr"}), "attribute[language]"),
        (form(key, **{"attribute[wishes_to_meet_cm]": "maybe"}), "attribute[wishes_to_meet_cm]"),
        (form(key, **{"attribute[pincode]": "110001"}), "attribute[pincode]"),
        (form(key, first_name="", last_name=""), "first_name"),
        (form(key, description=""), "description"),
        (form(key, address_string=""), "address_string"),
        (form(key, address_string="", lat="23.36"), "long"),
        (form(key, description="x" * 4001), "description"),
    ]:
        assert_refused(http.post(f"/requests.{fmt}", data=body), 400, field)
    assert_refused(
        http.post(
            f"/requests.{fmt}", json=form(key), params={"api_key": key}
        ),  # JSON is not the spec's POST
        400,
        "body",
    )
    # Refused by the request guard before any route, still in Open311's format.
    assert_refused(
        http.post(f"/requests.{fmt}", data=form(key, description="a\x00b")), 400, "description"
    )
    huge = http.post(f"/requests.{fmt}", data=form(key, description="x" * 300_000))
    assert huge.status_code == 413 and errors_of(huge)[0]["code"] == 413
    assert_refused(http.get(f"/requests.{fmt}", params={"status": "pending"}), 400, "status")
    assert_refused(http.get(f"/requests.{fmt}", params={"page_size": "5000"}), 400, "page_size")
    assert_refused(
        http.get(f"/requests.{fmt}", params={"start_date": "2026-01-01", "end_date": "2026-12-01"}),
        400,
        "start_date",
    )
    assert_refused(http.get(f"/requests.{fmt}", params={"end_date": "yesterday"}), 400, "end_date")
    assert o311.complaints() == before  # nothing half-written


def test_content_types_are_the_specs(o311: Open311Stack) -> None:
    assert o311.http.get("/services.xml").headers["content-type"].startswith("text/xml")
    assert o311.http.get("/services.json").headers["content-type"] == "application/json"
    discovery = xmltodict.parse(o311.http.get("/discovery.xml").content, force_list=("endpoint",))
    [endpoint] = discovery["discovery"]["endpoints"]["endpoint"]
    assert endpoint["url"] == o311.root
    assert endpoint["formats"]["format"] == ["text/xml", "application/json"]


# ---- jurisdiction, paging, FixMyStreet's reading of our XML --------------------------------


def test_jurisdiction_may_be_left_out_or_named_but_not_another(o311: Open311Stack) -> None:
    assert o311.http.get("/services.json").status_code == 200
    assert o311.http.get("/services.json", params={"jurisdiction_id": JURISDICTION}).is_success
    answer = o311.http.get("/requests.json", params={"jurisdiction_id": "ranchi.gov.in"})
    assert_refused(answer, 404, "jurisdiction_id")


def test_pages_of_requests_newest_first(o311: Open311Stack) -> None:
    posted = []
    for n in range(3):
        answer = o311.http.post(
            "/requests.json",
            data=form(o311.app_key, service_code="road", description=f"Road broken, stretch {n}"),
        )
        assert answer.status_code == 201, answer.text
        posted.append(answer.json()[0]["service_request_id"])

    def page(number: int) -> list[str]:
        params = {"service_code": "road", "page_size": "2", "page": str(number)}
        answer = o311.http.get("/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return [r["service_request_id"] for r in answer.json()]

    assert page(1) + page(2) == list(reversed(posted))
    assert page(3) == []


def test_our_xml_reads_as_fixmystreet_reads_it(o311: Open311Stack) -> None:
    posted = o311.http.post("/requests.xml", data=form(o311.app_key, service_code="electricity"))
    assert posted.status_code == 201, posted.text
    # FixMyStreet reads the id of a POST as request->service_request_id.
    created = xmltodict.parse(posted.content, force_list=FORCED)["service_requests"]["request"]
    rid = created[0]["service_request_id"]
    assert rid and created[0]["token"] == rid

    services = xmltodict.parse(o311.http.get("/services.xml").content, force_list=FORCED)
    assert len(services["services"]["service"]) == len(CATEGORIES)
    definition = xmltodict.parse(o311.http.get("/services/riot.xml").content, force_list=FORCED)[
        "service_definition"
    ]
    attributes = definition["attributes"]["attribute"]
    district = next(a for a in attributes if a["code"] == "district")
    assert len(district["values"]["value"]) == len(DISTRICTS)
    # One request is still a list of one.
    one = xmltodict.parse(o311.http.get(f"/requests/{rid}.xml").content, force_list=FORCED)
    [request] = one["service_requests"]["request"]
    assert request["service_request_id"] == rid and request["status"] == "open"
    updates = xmltodict.parse(
        o311.http.get("/servicerequestupdates.xml").content, force_list=("request_update",)
    )["service_request_updates"]["request_update"]
    assert any(u["service_request_id"] == rid and u["status"] == "open" for u in updates)
    errors = errors_of(o311.http.get("/services/riot.xml", params={"jurisdiction_id": "x"}))
    assert errors[0]["code"] == 404


# ---- a re-sent post is one complaint -------------------------------------------------------


def test_an_identical_post_resent_within_the_window_answers_the_first(o311: Open311Stack) -> None:
    body = form(o311.fms_key, service_code="ration")
    first = o311.http.post("/requests.xml", data=body)
    again = o311.http.post("/requests.xml", data=body)
    assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
    assert again.headers["Idempotent-Replayed"] == "true"
    rid = xmltodict.parse(first.content, force_list=FORCED)["service_requests"]["request"][0][
        "service_request_id"
    ]
    assert (
        xmltodict.parse(again.content, force_list=FORCED)["service_requests"]["request"][0][
            "service_request_id"
        ]
        == rid
    )
    phone = f"+91{body['phone']}"
    wait_for(
        lambda: o311.case(rid),
        lambda c: any(m["template"] == "acknowledgement" for m in c["messages"]),
    )
    with Session(o311.engine) as session:
        assert (
            session.exec(select(func.count()).where(col(Complaint.citizen_phone) == phone)).one()
            == 1
        )
    acks = [m for m in o311.messages_to(phone) if m.template == "acknowledgement"]
    assert len(acks) == 1

    # Another text is another complaint; the same text from another client is that client's.
    other = o311.http.post("/requests.json", data={**body, "description": "Ration nahi mila"})
    assert other.json()[0]["service_request_id"] != rid
    theirs = o311.http.post("/requests.json", data={**body, "api_key": o311.app_key})
    assert theirs.json()[0]["service_request_id"] != rid


def test_identical_posts_racing_each_other_are_one_complaint(o311: Open311Stack) -> None:
    """A client that times out and re-sends at once: the posts overlap on the server."""
    body = form(o311.fms_key, service_code="land")

    def post(_: int) -> str:
        with httpx.Client(base_url=o311.root, timeout=60) as http:
            answer = http.post("/requests.json", data=body)
            assert answer.status_code == 201, answer.text
            rid: str = answer.json()[0]["service_request_id"]
            return rid

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(post, range(6)))
    assert len(ids) == 1
    with Session(o311.engine) as session:
        phone = f"+91{body['phone']}"
        rows = session.exec(select(Complaint).where(col(Complaint.citizen_phone) == phone)).all()
    assert [f"{r.year}-{r.sequence}" for r in rows] == list(ids)


def test_an_idempotency_key_decides_when_sent(o311: Open311Stack) -> None:
    body = form(o311.app_key, service_code="housing")
    one = {"Idempotency-Key": f"app-{uuid.uuid4().hex}"}
    first = o311.http.post("/requests.json", data=body, headers=one)
    again = o311.http.post("/requests.json", data=body, headers=one)
    rid = first.json()[0]["service_request_id"]
    assert again.json()[0]["service_request_id"] == rid
    # A new key is a new request, even with the same body.
    two = {"Idempotency-Key": f"app-{uuid.uuid4().hex}"}
    assert (
        o311.http.post("/requests.json", data=body, headers=two).json()[0]["service_request_id"]
        != rid
    )
    # The same key with another body is refused, naming the header.
    changed = {**body, "description": "Awas yojana ki kisht nahi aayi"}
    assert_refused(
        o311.http.post("/requests.json", data=changed, headers=one), 400, "Idempotency-Key"
    )


def test_the_window_has_an_end(any_engine: Engine) -> None:
    """At the intake level, with the clock given: within the window the first request is
    answered, past it an identical request is a complaint of its own."""
    complaint = ComplaintCreate.model_validate(complaint_body(channel="mobile_app"))
    window = timedelta(hours=1)
    start = utcnow()
    answers = []
    for n, moment in enumerate([start, start + timedelta(minutes=59), start + window * 2]):
        row, created = register_complaint(
            any_engine,
            complaint,
            idempotency_key=f"client-a:open311:{n}",
            now=moment,
            recent_duplicates=RecentDuplicates(
                key_prefix="client-a:open311:", since=moment - window
            ),
        )
        answers.append((row.registration_number, created))
    assert answers[0][1] and not answers[1][1] and answers[2][1]
    assert answers[1][0] == answers[0][0] != answers[2][0]
    # Another client's identical request within the window is its own.
    row, created = register_complaint(
        any_engine,
        complaint,
        idempotency_key="client-b:open311:0",
        now=start + timedelta(minutes=1),
        recent_duplicates=RecentDuplicates(key_prefix="client-b:open311:", since=start),
    )
    assert created and row.registration_number not in {a for a, _ in answers}
    # The registration numbers stay gap-free: the replay's counter bump was rolled back.
    sequences = sorted(int(a.split("/")[0]) for a, created in answers if created)
    assert sequences[1] - sequences[0] == 1


def test_json_answers_are_utf8_json(o311: Open311Stack) -> None:
    answer = o311.http.get("/services.json")
    assert json.loads(answer.content.decode("utf-8"))[0]["service_code"] == "sanitation"
    with pytest.raises(HttpError) as refused:
        o311.civicbot().get_service_definition("potholes")
    assert refused.value.status == 404
