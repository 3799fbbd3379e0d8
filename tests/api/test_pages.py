"""The pages over plain HTTP: sign-in with a token into an HttpOnly cookie, CSRF on
every form, sign-out; roles and scope exactly as the API's (another district's case is the
same 404 as a missing one); the citizen's page with the API's limits; the telecaller desk's
validation beside the fields and its idempotent register; /docs and /redoc served with no
asset from anywhere but the API itself. Browser tests: tests/system/test_pages_browser.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.audit import entries
from core.models import Complaint, Message, utcnow
from core.settings import Settings
from harness.factories import auth_headers, eventually, insert_case
from schemas.auth import Role
from schemas.enums import MessageStatus, RecipientKind
from tests.helpers import api_client

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text[:2000]
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await http.get("/sign-in")
    answer = await http.post("/sign-in", data={"token": token, "csrf_token": csrf(page)})
    assert answer.status_code == 303, answer.text
    return answer


class Links(HTMLParser):
    """Every URL a page loads or links to (src, href, action)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action") and value:
                self.urls.append(value)


def urls_of(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


def no_foreign_url(html: str) -> list[str]:
    """URLs of another host in a page's tags or anywhere in its text (scripts, styles)."""
    foreign = [u for u in urls_of(html) if urlsplit(u).netloc not in ("", "testserver")]
    foreign += re.findall(r"https?://(?!testserver)[a-z0-9.-]+\.[a-z]{2,}[^\s\"'<>)]*", html)
    return foreign


@pytest.fixture
async def pages(
    engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, engine=engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        http.headers["accept-language"] = "en"  # the tests read English messages
        yield http


async def test_docs_and_redoc_load_nothing_from_a_cdn(pages: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        page = await pages.get(path)
        assert page.status_code == 200
        assert no_foreign_url(page.text) == [], path
        assets = [u for u in urls_of(page.text)]
        scripts = re.findall(r"""['"](/static-offline-docs/[^'"]+)['"]""", page.text)
        assert scripts, page.text
        for asset in {*assets, *scripts}:
            if asset.startswith("/"):
                fetched = await pages.get(asset)
                assert fetched.status_code == 200, asset
                assert len(fetched.content) > 100, asset
    # Swagger UI asks no online validator either.
    assert '"validatorUrl": null' in (await pages.get("/docs")).text


async def test_sign_in_sets_an_httponly_cookie_and_sign_out_forgets_it(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    token = token_of(auth_headers(engine, Role.TELECALLER))
    # Without a session: to the sign-in page, and back afterwards.
    first = await pages.get("/desk")
    assert first.status_code == 303
    assert first.headers["location"] == "/sign-in?next=%2Fdesk"

    page = await pages.get("/sign-in?next=/desk")
    wrong = await pages.post("/sign-in", data={"token": "js_nope_nope", "csrf_token": csrf(page)})
    assert wrong.status_code == 401
    assert "not valid" in wrong.text

    page = await pages.get("/sign-in?next=/desk")
    answer = await pages.post(
        "/sign-in", data={"token": token, "csrf_token": csrf(page), "next": "/desk"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/desk"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("jan_samvad_session=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Path=/" in cookie
    desk = await pages.get("/desk")
    assert desk.status_code == 200 and 'action="/desk/register"' in desk.text
    assert desk.headers["cache-control"] == "no-store"

    # A next= pointing to another site is ignored.
    page = await pages.get("/sign-in")
    away = await pages.post(
        "/sign-in", data={"token": token, "csrf_token": csrf(page), "next": "//evil.example/"}
    )
    assert away.headers["location"] == "/desk"

    # Sign-out needs the form's token too; then the session is gone.
    assert (await pages.post("/sign-out", data={})).status_code == 403
    out = await pages.post("/sign-out", data={"csrf_token": csrf(desk)})
    assert out.status_code == 303
    assert (
        'jan_samvad_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    assert (await pages.get("/desk")).status_code == 303


async def test_the_desk_names_subjects_departments_and_districts_in_the_readers_language(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    await sign_in(pages, token_of(auth_headers(engine, Role.TELECALLER)))
    pages.cookies.set("jan_samvad_lang", "hi")
    hindi = (await pages.get("/desk")).text
    assert '<html lang="hi" dir="ltr">' in hindi
    assert ">पेयजल</option>" in hindi  # subject (the names catalogue)
    assert ">स्वास्थ्य</option>" in hindi  # department
    assert '<option value="Ranchi">रांची</option>' in hindi  # the district picker
    assert 'hreflang="en" lang="en">English</a>' in hindi  # the other language, named in itself
    pages.cookies.set("jan_samvad_lang", "en")
    english = (await pages.get("/desk")).text
    assert ">Drinking water</option>" in english
    assert ">Health, Medical Education and Family Welfare</option>" in english
    assert 'hreflang="hi" lang="hi">हिन्दी</a>' in english


async def test_a_form_without_this_browsers_csrf_token_is_refused(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    await sign_in(pages, token_of(auth_headers(engine, Role.TELECALLER)))
    desk = await pages.get("/desk")
    good = csrf(desk)
    form = {
        "kind": "complaint",
        "channel": "call_centre",
        "citizen.name": "Ramesh Mahto",
        "citizen.phone": "9876543210",
        "citizen.address": "Village Barwadih",
        "citizen.district": "Ranchi",
        "description": "No toilet yet",
    }
    for forged in ({}, {"csrf_token": ""}, {"csrf_token": "0" * 64}, {"csrf_token": good[:-1]}):
        refused = await pages.post("/desk/register", data={**form, **forged})
        assert refused.status_code == 403, forged
        assert "expired" in refused.text
    # Another browser's token (of another session) is refused too.
    other = httpx.AsyncClient(transport=pages._transport, base_url="http://testserver")
    async with other:
        await sign_in(other, token_of(auth_headers(engine, Role.TELECALLER)))
        theirs = csrf(await other.get("/desk"))
    assert theirs != good
    assert (
        await pages.post("/desk/register", data={**form, "csrf_token": theirs})
    ).status_code == 403
    # Nothing was registered by any refused form.
    listed = await pages.get("/v1/complaints", headers=auth_headers(engine, Role.REVIEWER))
    assert listed.json()["count"] == 0


async def test_roles_and_scope_are_the_apis(pages: httpx.AsyncClient, engine: Engine) -> None:
    ranchi = insert_case(engine, district="Ranchi")
    dhanbad = insert_case(engine, district="Dhanbad")
    await sign_in(pages, token_of(auth_headers(engine, Role.NODAL_OFFICER, district="Ranchi")))
    inbox = await pages.get("/inbox")
    assert inbox.status_code == 200
    assert ranchi.registration_number in inbox.text
    assert dhanbad.registration_number not in inbox.text
    assert (await pages.get(f"/cases/{ranchi.year}/{ranchi.sequence}")).status_code == 200
    hidden = await pages.get(f"/cases/{dhanbad.year}/{dhanbad.sequence}")
    missing = await pages.get(f"/cases/{dhanbad.year}/999999999")
    assert hidden.status_code == missing.status_code == 404
    assert f"{dhanbad.sequence}/{dhanbad.year}" in hidden.text
    assert hidden.text.replace(str(dhanbad.sequence), "N") == missing.text.replace("999999999", "N")
    # A report on another district's case: the same 404, nothing sent.
    page = await pages.get(f"/cases/{ranchi.year}/{ranchi.sequence}")
    refused = await pages.post(
        f"/cases/{dhanbad.year}/{dhanbad.sequence}/report",
        data={"csrf_token": csrf(page), "outcome": "resolved", "reply": "done"},
    )
    assert refused.status_code == 404
    # Pages of other roles: 403.
    assert (await pages.get("/desk")).status_code == 403


async def test_the_citizen_page_tracks_with_the_apis_limits(
    pages: httpx.AsyncClient, engine: Engine, settings: Settings
) -> None:
    case = insert_case(engine, district="Ranchi")  # phone +919876500000 (harness/factories.py)
    page = await pages.get("/track", headers={"accept-language": "hi-IN,hi;q=0.9"})
    assert page.status_code == 200 and 'lang="hi"' in page.text
    # The reader's choice (a cookie) outranks the browser's language.
    switched = await pages.get("/language?to=hi&next=/track")
    assert switched.status_code == 303 and switched.headers["location"] == "/track"
    assert 'lang="hi"' in (await pages.get("/track")).text
    away = await pages.get("/language?to=hi&next=https://evil.example/")
    assert away.headers["location"] == "/"
    token = csrf(page)
    found = await pages.post(
        "/track",
        data={"number": case.registration_number, "phone": "098765 00000", "csrf_token": token},
    )
    assert found.status_code == 200, found.text
    assert "कार्रवाई हेतु विभाग के पास" in found.text or "पंजीकृत" in found.text
    # The phone never goes into a URL.
    assert "98765" not in str(found.url)
    wrong = await pages.post(
        "/track",
        data={"number": case.registration_number, "phone": "9123456789", "csrf_token": token},
    )
    unknown = await pages.post(
        "/track", data={"number": "999999/2026", "phone": "9876543210", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 404
    bad = await pages.post("/track", data={"number": "abc", "phone": "12345", "csrf_token": token})
    assert bad.status_code == 422
    assert bad.text.count('class="field-error"') == 2
    # Failed look-ups of one number: blocked like the API's (the counter is shared with it).
    statuses = []
    for _ in range(settings.track_failures_per_number + 1):
        answer = await pages.post(
            "/track",
            data={"number": case.registration_number, "phone": "9123456780", "csrf_token": token},
        )
        statuses.append(answer.status_code)
    assert statuses[-1] == 429
    blocked = await pages.get(
        f"/v1/track/{case.year}/{case.sequence}", headers={"X-Citizen-Phone": "9876500000"}
    )
    assert blocked.status_code == 429


async def test_the_desk_validates_beside_the_fields_and_registers_once(
    stack: httpx.AsyncClient,
) -> None:
    engine: Engine = stack.app_engine  # type: ignore[attr-defined]
    stack.headers.pop("Authorization")
    await sign_in(stack, token_of(auth_headers(engine, Role.TELECALLER)))
    desk = await stack.get("/desk", headers={"accept-language": "en"})
    key = re.search(r'name="idempotency_key" value="([^"]+)"', desk.text)
    assert key is not None
    form = {
        "csrf_token": csrf(desk),
        "idempotency_key": key.group(1),
        "kind": "complaint",
        "channel": "call_centre",
        "citizen.name": "Ramesh Mahto",
        "citizen.phone": "12345",
        "citizen.address": "Village Barwadih, Block Kanke",
        "citizen.district": "Ranchiville",
        "citizen.pincode": "110001",
        "citizen.language": "hi",
        "category": "sanitation",
        "description": "गाँव में शौचालय नहीं मिला",
    }
    refused = await stack.post("/desk/register", data=form, headers={"accept-language": "en"})
    assert refused.status_code == 422
    for name in ("citizen-phone", "citizen-district", "citizen-pincode"):
        assert f'id="{name}-error"' in refused.text, name
    # What was typed is kept.
    assert 'value="Ramesh Mahto"' in refused.text
    # Hindi district names are accepted by the picker.
    form.update({"citizen.phone": "9876543210", "citizen.district": "राँची", "citizen.pincode": ""})
    registered = await stack.post("/desk/register", data=form)
    assert registered.status_code == 303, registered.text
    location = registered.headers["location"]
    assert re.fullmatch(r"/cases/\d{4}/\d+\?registered=1", location)
    again = await stack.post("/desk/register", data=form)  # a double submit
    assert again.headers["location"] == location
    page = await stack.get(location, headers={"accept-language": "en"})
    number = re.search(r'id="registration-number">([^<]+)<', page.text)
    assert number is not None
    listed = await stack.get("/v1/complaints", headers=auth_headers(engine, Role.REVIEWER))
    assert [c["registration_number"] for c in listed.json()["data"]] == [number.group(1)]
    assert listed.json()["data"][0]["district"] == "Ranchi"

    # The citizen's requests by phone, from the case's page: a reason is required (in Hindi
    # beside its field), then the withdrawal is recorded; a reopening of a withdrawn case is
    # the workflow's refusal, shown on the page.
    case_path = location.split("?")[0]
    await eventually(
        lambda: stack.get(case_path, headers={"accept-language": "en"}),
        lambda p: 'action="' + case_path + '/withdraw"' in p.text,
    )
    stack.cookies.set("jan_samvad_lang", "hi")
    empty = await stack.post(
        f"{case_path}/withdraw", data={"csrf_token": form["csrf_token"], "reason": ""}
    )
    assert empty.status_code == 422
    assert 'id="withdraw_reason-error">यह प्रविष्टि आवश्यक है।' in empty.text
    withdrawal = {
        "csrf_token": form["csrf_token"],
        "reason": "solved locally",
        "idempotency_key": "w1",
    }
    # Irreversible: a second step says what will happen; nothing is done yet.
    asked = await stack.post(f"{case_path}/withdraw", data=withdrawal)
    assert asked.status_code == 200 and 'id="confirm"' in asked.text
    done = await stack.post(f"{case_path}/withdraw", data={**withdrawal, "confirmed": "yes"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=withdraw")
    year, sequence = case_path.split("/")[-2:]
    state = await stack.get(
        f"/v1/complaints/{year}/{sequence}", headers=auth_headers(engine, Role.REVIEWER)
    )
    assert state.json()["status"] == "withdrawn"
    page = await stack.get(done.headers["location"])
    assert "वापस लिया गया" in page.text
    assert f'action="{case_path}/reopen"' not in page.text  # only a closed case reopens
    refused = await stack.post(
        f"{case_path}/reopen", data={"csrf_token": form["csrf_token"], "reason": "no door yet"}
    )
    assert refused.status_code == 409 and 'class="problem"' in refused.text

    # The audit trail records the pages' actions as the API's: the signed-in user, the route
    # template, the complaint and the same summary (never the citizen's data).
    trail = [e for e in entries(engine, limit=50) if not e.route.startswith("/v1/")]
    by_route = {(e.route, e.outcome): e for e in trail}
    registered_entry = by_route[("/desk/register", "succeeded")]
    assert registered_entry.subject is not None
    assert registered_entry.subject.endswith("-telecaller")
    assert registered_entry.summary.startswith("register; kind=complaint")
    assert registered_entry.complaint_year == int(year)
    assert registered_entry.complaint_sequence == int(sequence)
    withdrawn_entry = by_route[("/cases/{year}/{sequence}/withdraw", "succeeded")]
    assert withdrawn_entry.subject == registered_entry.subject
    assert "Ramesh" not in " ".join(e.summary for e in trail)


async def test_every_page_admits_exactly_the_roles_declared(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    """tests/api/test_authz.py's EXPECTED for the pages, with a signed-in browser per role."""
    from tests.api.test_authz import EXPECTED

    case = insert_case(engine, district="Ranchi")
    values = {"year": case.year, "sequence": case.sequence, "kind": "weekly_review"}
    values["day"] = "2026-12-01"
    values["attachment_id"] = "x"
    wrong: list[str] = []
    transport = pages._transport
    for role in Role:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await sign_in(http, token_of(auth_headers(engine, role)))
            token = csrf(await http.get("/sign-in"))
            for (method, template), decision in sorted(EXPECTED.items(), key=lambda i: i[0]):
                if not isinstance(decision, tuple):
                    continue
                url = template.format_map(values)
                data = {"csrf_token": token} if method == "POST" else None
                answer = await http.request(method, url, data=data)
                refused = answer.status_code == 403
                to_sign_in = answer.headers.get("location", "").startswith("/sign-in")
                if role in decision[1]:
                    if refused or to_sign_in or answer.status_code >= 500:
                        wrong.append(f"{method} {template} as {role}: {answer.status_code}")
                elif not refused:
                    wrong.append(f"{method} {template} as {role}: {answer.status_code}, not 403")
    # Without a session every page sends the browser to sign in; open pages answer.
    for (method, template), decision in sorted(EXPECTED.items(), key=lambda i: i[0]):
        if isinstance(decision, tuple):
            url = template.format_map(values)
            answer = await pages.request(method, url, data={} if method == "POST" else None)
            if answer.status_code != 303 or not answer.headers["location"].startswith("/sign-in"):
                wrong.append(f"{method} {template} anonymous: {answer.status_code}")
        elif decision == "page-open" and method == "GET":
            answer = await pages.get(template)
            # (/sign-in/oidc answers 404 here: no provider is configured; test_pages_oidc.py)
            if answer.status_code in (401, 403) or answer.status_code >= 500:
                wrong.append(f"{method} {template} anonymous: {answer.status_code}")
    assert wrong == []


async def test_the_engineer_opens_the_temporal_ui_decoded_on_the_apis_host(
    pages: httpx.AsyncClient, engine: Engine, settings: Settings
) -> None:
    from core.stack import temporal_ui_url

    secret = token_of(auth_headers(engine, Role.ENGINEER))
    await sign_in(pages, secret)
    page = await pages.get("/engineer")
    assert page.status_code == 200
    ui = temporal_ui_url(settings)
    # Its form's answer redirects to the UI, which the page's policy must allow.
    assert f"form-action 'self' {ui};" in page.headers["content-security-policy"]
    # One site: the UI on the host of PUBLIC_BASE_URL (the codec cookie is SameSite=Lax).
    assert ui == f"http://localhost:{settings.temporal_ui_port}"
    assert temporal_ui_url(
        settings.model_copy(update={"public_base_url": "http://127.0.0.1:8000"})
    ) == (f"http://127.0.0.1:{settings.temporal_ui_port}")
    opened = await pages.post(
        "/engineer/temporal-ui",
        data={"csrf_token": csrf(page), "workflow_id": "complaint-2026-1"},
    )
    assert opened.status_code == 303
    assert opened.headers["location"] == f"{ui}/namespaces/default/workflows/complaint-2026-1"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"jan_samvad_codec={secret};") and "Path=/v1/codec" in cookie
    assert "HttpOnly" in cookie
    # The browser's cookie now admits the UI's requests (tests/api/test_codec.py: the decoding).
    answer = await pages.post("/v1/codec/decode", json={"payloads": []}, headers={"origin": ui})
    assert answer.status_code in (200, 404), answer.text  # 404: encryption is off in tests
    pages.cookies.delete("jan_samvad_codec")
    refused = await pages.post("/v1/codec/decode", json={"payloads": []}, headers={"origin": ui})
    assert refused.status_code == 401


def add_messages(engine: Engine, sent: list[tuple[Complaint, str, str, MessageStatus]]) -> None:
    """The citizen's acknowledgement of each case: (case, channel, text, status), a second
    apart in this order."""
    now = utcnow()
    with Session(engine) as session:
        for n, (case, channel, text, status) in enumerate(sent):
            session.add(
                Message(
                    key=f"test:{case.id}:{n}",
                    complaint_id=case.id,
                    template="acknowledgement",
                    recipient_kind=RecipientKind.CITIZEN,
                    recipient=case.citizen_phone,
                    language="hi",
                    text=text,
                    status=status,
                    provider="twilio",
                    channel=channel,
                    created_at=now + timedelta(seconds=n),
                    updated_at=now,
                )
            )
        session.commit()


async def test_the_desk_lists_the_citizens_the_sms_did_not_reach(
    pages: httpx.AsyncClient, engine: Engine
) -> None:
    reached = insert_case(engine, district="Ranchi")
    failed = insert_case(engine, district="Dhanbad", urgent=True)
    add_messages(
        engine,
        [
            (reached, "sms", "...", MessageStatus.DELIVERED),
            (failed, "sms", "...", MessageStatus.FAILED),
        ],
    )
    await sign_in(pages, token_of(auth_headers(engine, Role.TELECALLER)))
    desk = await pages.get("/desk")
    listed = desk.text.split('id="unreachable"', 1)[1].split("</ul>", 1)[0]
    assert failed.registration_number in listed and "urgent" in listed
    assert reached.registration_number not in listed


@pytest.mark.parametrize(
    ("language", "channels", "heading"),
    [("en", ["SMS", "WhatsApp"], "Messages"), ("hi", ["एसएमएस", "व्हाट्सऐप"], "भेजे गए संदेश")],
)
async def test_the_case_page_shows_each_message_s_channel(
    pages: httpx.AsyncClient, engine: Engine, language: str, channels: list[str], heading: str
) -> None:
    case = insert_case(engine, district="Ranchi")
    add_messages(
        engine,
        [
            (case, channel, f"text by {channel}", MessageStatus.DELIVERED)
            for channel in ("sms", "whatsapp")
        ],
    )
    await sign_in(pages, token_of(auth_headers(engine, Role.TELECALLER)))
    page = await pages.get(
        f"/cases/{case.year}/{case.sequence}", headers={"accept-language": language}
    )
    assert page.status_code == 200, page.text
    table = page.text.split('id="messages"', 1)[1].split("</table>", 1)[0]
    shown = {
        re.sub(r"<[^>]+>", "", text).strip(): re.sub(r"<[^>]+>", "", cell).strip()
        for cell, text in re.findall(
            r'<td[^>]*class="channel">(.*?)</td>\s*<td[^>]*>(.*?)</td>', table, re.S
        )
    }
    assert shown == {"text by sms": channels[0], "text by whatsapp": channels[1]}
    assert f"<h2>{heading}</h2>" in page.text
