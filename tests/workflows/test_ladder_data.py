"""A ladder of five levels from configuration alone: the example `deploy/ladders/five_levels.json`
(L1 nodal officer → L2 Collector's review, one per district → L3 Divisional Commissioner's
review, one per division → L4 Principal Secretary's review → L5 Chief Minister's review), given
as a LADDER_FILE in the test's own folder with Hindi names as catalogue entries the test adds.
A case climbs every rung by its own timers (time-skipping server, SQLite and PostgreSQL) and
every page names each rung in Hindi and English; a bad file stops the start naming the field."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po, write_po
from markupsafe import escape
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.pages.reference import district_label
from core.holidays import configured_policy
from core.ladder import LadderFileError, configured_ladder
from core.models import utcnow
from core.settings import Settings, get_settings
from harness.factories import auth_headers, eventually
from schemas import i18n
from schemas.auth import Role
from schemas.calendar import IST, session_start
from schemas.escalation import _CONFIGURED, Ladder, parse_session_id
from schemas.reference import forget_names
from schemas.review import PlannerInput
from schemas.workflow import ComplaintState
from tests.api.test_metrics import labels, parse
from tests.api.test_minutes_files import closed_session
from tests.api.test_pages import sign_in, token_of
from tests.helpers import api_client, running_worker
from tests.lifecycle_helpers import (
    EXACT_DEADLINES,
    CaseHandle,
    messages,
    open_case,
    row_of,
    state_of,
    timeline,
)
from tests.paths import ROOT
from workflows.review import ReviewPlannerWorkflow

EXAMPLE = ROOT / "deploy" / "ladders" / "five_levels.json"
DEADLINES = {
    "reminder_fractions": (),
    "report_deadline_complaint": timedelta(days=1),
    "working_day_ends": None,
}
POLICY = EXACT_DEADLINES.model_copy(update=DEADLINES)
# Each rung's names in Hindi: the `names` catalogue's entries (contexts forum, forum|sms,
# status) a state adds beside its ladder file.
HINDI = {
    "nodal_officer": (
        "एल1: नोडल पदाधिकारी",
        "नोडल पदाधिकारी (एल1)",
        "कार्रवाई हेतु विभाग के पास (एल1)",
    ),
    "collector_review": (
        "एल2: कलेक्टर की समीक्षा",
        "कलेक्टर की समीक्षा (एल2)",
        "कलेक्टर की समीक्षा में (एल2)",
    ),
    "divcom_review": (
        "एल3: संभागीय आयुक्त की समीक्षा",
        "संभागीय आयुक्त समीक्षा (एल3)",
        "संभागीय आयुक्त की समीक्षा में (एल3)",
    ),
    "secretary_review": (
        "एल4: प्रमुख सचिव की समीक्षा",
        "प्रमुख सचिव समीक्षा (एल4)",
        "प्रमुख सचिव की समीक्षा में (एल4)",
    ),
    "cm_review": ("एल5: मुख्यमंत्री की समीक्षा", "मुख्यमंत्री समीक्षा (एल5)", "मुख्यमंत्री की समीक्षा में (एल5)"),
}
CLIMB = ("collector_review", "divcom_review", "secretary_review", "cm_review")
# The forums' chairs (the file's `chair`) and a division's name in Hindi: `names` entries of
# contexts forum|chair and division.
HINDI_CHAIRS = {
    "Collector": "कलेक्टर",
    "Divisional Commissioner": "संभागीय आयुक्त",
    "Principal Secretary": "प्रमुख सचिव",
    "Chief Minister": "मुख्यमंत्री",
}
HINDI_DIVISIONS = {"Kolhan": "कोल्हान"}


def _forget() -> None:
    for cached in (get_settings, i18n.catalogue, i18n.translations, i18n.offered_languages):
        cached.cache_clear()
    forget_names()


@pytest.fixture
def five_levels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[tuple[Settings, Ladder]]:
    """Settings naming the five-level ladder file, and the shipped catalogues plus the rungs'
    Hindi names; the configured ladder made the process's."""
    file = tmp_path / "ladder.json"
    shutil.copy(EXAMPLE, file)
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    names = locale / "hi" / "LC_MESSAGES" / "names.po"
    with names.open("rb") as po:
        catalogue = read_po(po, locale="hi")
    for rung in json.loads(file.read_text())["rungs"]:
        label, sms, status = HINDI[rung["code"]]
        catalogue.add(rung["labels"]["en"], label, context="forum")
        catalogue.add(rung["sms_names"]["en"], sms, context="forum|sms")
        catalogue.add(rung["status_labels"]["en"], status, context="status")
    for english, hindi in HINDI_CHAIRS.items():
        catalogue.add(english, hindi, context="forum|chair")
    for english, hindi in HINDI_DIVISIONS.items():
        catalogue.add(english, hindi, context="division")
    with names.open("wb") as po:
        write_po(po, catalogue, width=100)
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    _forget()
    configured = settings.model_copy(update={"ladder_file": file})
    yield configured, configured_ladder(configured, POLICY)
    monkeypatch.undo()
    _CONFIGURED.clear()
    _forget()


def test_the_ladder_file_defines_its_statuses_levels_kinds_and_divisions(
    five_levels: tuple[Settings, Ladder],
) -> None:
    _, ladder = five_levels
    assert [str(r.status) for r in ladder.rungs[1:]] == list(CLIMB)
    assert [int(r.level) for r in ladder.rungs] == [0, 11, 12, 13, 14]
    divcom = ladder.rung("divcom_review").forum
    assert divcom is not None and divcom.held_by == "division"
    assert divcom.place_of("Seraikela Kharsawan") == "Kolhan"
    assert len(divcom.places()) == 5
    for rung in ladder.rungs:
        assert rung.label("hi") == HINDI[rung.code][0]
        assert rung.sms_name("hi") == HINDI[rung.code][1]


def _bad(tmp_path: Path, settings: Settings, change: Any) -> str:
    data = json.loads(EXAMPLE.read_text())
    change(data)
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(data))
    with pytest.raises(LadderFileError) as refused:
        configured_ladder(settings.model_copy(update={"ladder_file": file}), POLICY)
    return str(refused.value)


def test_a_bad_rung_stops_the_start_naming_the_field(tmp_path: Path, settings: Settings) -> None:
    def unknown_holder(data: dict[str, Any]) -> None:
        data["rungs"][2]["forum"]["held_by"] = "tehsil"

    assert "rungs.2.forum.held_by" in _bad(tmp_path, settings, unknown_holder)

    def unknown_district(data: dict[str, Any]) -> None:
        data["rungs"][2]["forum"]["divisions"]["Kolhan"].append("Atlantis")

    message = _bad(tmp_path, settings, unknown_district)
    assert "rungs.2.forum" in message and "divisions.Kolhan: unknown district 'Atlantis'" in message

    def duplicate_status(data: dict[str, Any]) -> None:
        data["rungs"][3]["status"] = "divcom_review"

    assert "rungs.3.status: 'divcom_review' is already" in _bad(
        tmp_path, settings, duplicate_status
    )

    def bad_kind(data: dict[str, Any]) -> None:
        data["rungs"][4]["forum"]["session_kind"] = "CM Review!"

    assert "rungs.4.forum.session_kind" in _bad(tmp_path, settings, bad_kind)

    def lifecycle_status(data: dict[str, Any]) -> None:
        data["rungs"][1]["status"] = "closed"

    assert "rungs.1.status: 'closed'" in _bad(tmp_path, settings, lifecycle_status)


@pytest.mark.parametrize(
    ("chair", "reason"),
    [
        ("", "at least 1 character"),
        ("C" * 81, "at most 80 characters"),
        (" Collector", "one line without surrounding spaces"),
        ("Divisional\nCommissioner", "one line without surrounding spaces"),
        ("Collector\u202e", "bidirectional control"),
        ("12345", "at least one letter"),
        (7, "string"),
    ],
)
def test_a_bad_chair_stops_the_start_naming_the_field(
    tmp_path: Path, settings: Settings, chair: Any, reason: str
) -> None:
    def bad_chair(data: dict[str, Any]) -> None:
        data["rungs"][2]["forum"]["chair"] = chair

    message = _bad(tmp_path, settings, bad_chair)
    assert "rungs.2.forum.chair" in message and reason in message, message


def _last(weekday: int, before: date) -> date:
    day = before - timedelta(days=1)
    while day.weekday() != weekday:
        day -= timedelta(days=1)
    return day


async def test_the_minutes_of_a_division_s_session_name_the_division_and_the_forum_s_chair(
    dev_env: WorkflowEnvironment, any_engine: Engine, five_levels: tuple[Settings, Ladder]
) -> None:
    settings, ladder = five_levels
    divcom = ladder.rung("divcom_review").forum
    assert divcom is not None and divcom.chair == "Divisional Commissioner"
    # The chair stays out of the forum in workflows' payloads (a 1.0 worker refuses new fields).
    assert "chair" not in divcom.model_dump() and "chair" not in divcom.model_dump_json()
    day = _last(divcom.weekday, utcnow().astimezone(IST).date())
    starts = session_start(day, divcom.session_time)
    cases = [
        ("21/2026", "Seraikela Kharsawan", "Repair the handpump", "nodal-district-ranchi"),
        ("22/2026", "East Singhbhum", "Clear the drain", "nodal-district-ranchi"),
    ]
    closed_session(any_engine, "divcom_review", starts, "Kolhan", cases)
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        await sign_in(http, token_of(auth_headers(any_engine, Role.REVIEWER)))
        for language, division, chair in (
            ("en", "Kolhan", "Divisional Commissioner"),
            ("hi", "कोल्हान", "संभागीय आयुक्त"),
        ):
            for printable in ({}, {"print": "1"}):
                page = await http.get(
                    f"/review-room/divcom_review/{day.isoformat()}/minutes",
                    params={"district": "Kolhan", **printable},
                    headers={"accept-language": language},
                )
                assert page.status_code == 200, page.text[:500]
                assert f'id="minutes-division">{division}<' in page.text, language
                assert f'id="minutes-chair">{chair}<' in page.text, language
                present = re.search(r'id="minutes-districts">(.*?)</dd>', page.text)
                assert present is not None
                # The districts whose cases it took up; the division is not one of them.
                assert present.group(1) == ", ".join(
                    district_label(d, language) for d in ("East Singhbhum", "Seraikela Kharsawan")
                )
        # A district's session of the same ladder names no division, and its forum's chair.
        collector = ladder.rung("collector_review").forum
        assert collector is not None
        monday = _last(collector.weekday, utcnow().astimezone(IST).date())
        closed_session(
            any_engine,
            "collector_review",
            session_start(monday, collector.session_time),
            "Ranchi",
            [("23/2026", "Ranchi", "Repair", "nodal-district-ranchi")],
        )
        page = await http.get(
            f"/review-room/collector_review/{monday.isoformat()}/minutes",
            params={"district": "Ranchi"},
            headers={"accept-language": "en"},
        )
        assert page.status_code == 200, page.text[:500]
        assert 'id="minutes-division"' not in page.text
        assert 'id="minutes-chair">Collector<' in page.text
        assert 'id="minutes-districts">Ranchi<' in page.text


async def _sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    while (now := await env.get_current_time()) < moment:
        await env.sleep(min(moment - now, timedelta(days=1)))


async def _until(env: WorkflowEnvironment, handle: CaseHandle, status: str) -> ComplaintState:
    """Skip time, deadline by deadline, until the case stands at `status`."""
    for _ in range(12):
        state = await eventually(lambda: state_of(handle), lambda s: not s.outbox)
        if state.status == status:
            return state
        assert state.next_deadline is not None
        await _sleep_until(env, state.next_deadline + timedelta(minutes=1))
    raise AssertionError(f"never reached {status}")


@pytest.fixture
async def ladder_env(
    ts_env: WorkflowEnvironment, any_engine: Engine, five_levels: tuple[Settings, Ladder]
) -> AsyncIterator[WorkflowEnvironment]:
    async with running_worker(ts_env.client, any_engine, five_levels[0]):
        yield ts_env


async def test_a_case_climbs_five_levels_by_its_own_timers_and_every_page_names_each_rung(
    ladder_env: WorkflowEnvironment, any_engine: Engine, five_levels: tuple[Settings, Ladder]
) -> None:
    settings, ladder = five_levels
    env = ladder_env
    # The centre's policy (its holidays move a sitting, as the pages' calendar does), with a
    # day for the officer's report.
    policy = configured_policy(settings, utcnow()).model_copy(update=DEADLINES)
    handle = await open_case(
        env.client,
        any_engine,
        settings,
        policy=policy,
        citizen__language="en",
        citizen__district="Seraikela Kharsawan",
    )
    await eventually(lambda: state_of(handle), lambda s: s.status == "awaiting_report")
    sessions: dict[str, str] = {}
    for status in CLIMB:
        state = await _until(env, handle, status)
        rung = ladder.rung(status)
        assert state.rung == status and state.escalation_level == rung.level
        assert state.review is not None and str(state.review.kind) == status
        sessions[status] = state.review.session_id
        assert len(state.review.session_id) <= 40
        kind, day, place = parse_session_id(state.review.session_id)
        assert (kind, day) == (status, state.review.starts_at.astimezone(IST).date())
        assert rung.forum is not None
        assert place == rung.forum.place_of("Seraikela Kharsawan")
    # The Collector's session is the district's (its id shortened by a hash), the Divisional
    # Commissioner's the division's, the top rung's the state's.
    assert parse_session_id(sessions["collector_review"])[2] == "Seraikela Kharsawan"
    assert parse_session_id(sessions["divcom_review"])[2] == "Kolhan"
    assert parse_session_id(sessions["cm_review"])[2] is None
    events = timeline(any_engine, handle)
    told = [m.text for m in messages(any_engine, handle) if m.template == "escalated"]
    for status in CLIMB:
        assert events.count(f"escalated_to_{status}") == 1
        # The citizen is told each forum by its SMS name.
        assert any(ladder.rung(status).sms_names["en"] in text for text in told), status

    # The top rung rolls over to itself, counted.
    state = await state_of(handle)
    assert state.next_deadline is not None
    await _sleep_until(env, state.next_deadline + timedelta(minutes=1))
    state = await eventually(lambda: state_of(handle), lambda s: s.rollovers == 1)
    assert state.status == "cm_review"

    app = create_app(settings, engine=any_engine, client=env.client)
    async with api_client(app, authorized=False) as http:
        await sign_in(http, token_of(auth_headers(any_engine, Role.REVIEWER)))
        number = row_of(any_engine, handle).registration_number
        # The metrics count the case on its rung's agenda, a series per forum of the ladder.
        scraped = await http.get("/metrics", headers=auth_headers(any_engine, Role.MONITORING))
        agenda = parse(scraped.text)
        for status in CLIMB:
            expected = 1 if status == "cm_review" else 0
            assert agenda[("jansamvad_review_agenda_cases", labels(review=status))] == expected
        for language in ("en", "hi"):
            http.headers["accept-language"] = language
            await _every_page_names_the_rungs(http, language, ladder, number, state)


def _names(ladder: Ladder, code: str, language: str) -> str:
    """The rung's name as a page writes it in `language` (HTML-escaped)."""
    return str(escape(ladder.rung(code).labels["en"] if language == "en" else HINDI[code][0]))


async def _every_page_names_the_rungs(
    http: httpx.AsyncClient,
    language: str,
    ladder: Ladder,
    number: str,
    state: ComplaintState,
) -> None:
    sequence, year = number.split("/")
    case = await http.get(f"/cases/{year}/{sequence}")
    assert case.status_code == 200, case.text[:500]
    # Its level, its status and each escalation of its timeline by the forum's name.
    for code in CLIMB:
        assert _names(ladder, code, language) in case.text, (language, code)
    assert "escalated_to_" not in case.text
    # The escalations' notes name the forums left undecided at, not their codes.
    for code in CLIMB:
        assert f"of the {code}" not in case.text, (language, code)
    inbox = await http.get("/cases", params={"status": "cm_review"})
    assert inbox.status_code == 200
    assert number in inbox.text
    assert 'value="cm_review" selected' in inbox.text
    for code in CLIMB:  # the status filter offers every rung, by its forum's name
        assert _names(ladder, code, language) in inbox.text, (language, code)
    assert state.review is not None
    day = state.review.starts_at.astimezone(IST).date().isoformat()
    agenda = await http.get(f"/review-room/cm_review/{day}")
    assert agenda.status_code == 200, (day, agenda.text.split('role="alert">')[1][:300])
    assert _names(ladder, "cm_review", language) in agenda.text
    assert number in agenda.text
    dashboard = await http.get("/dashboard")
    assert dashboard.status_code == 200
    for rung in ladder.rungs:  # open cases by district and level: a column per rung
        assert _names(ladder, rung.code, language) in dashboard.text, (language, rung.code)


async def test_the_divisional_commissioners_sittings_are_one_per_division(
    env: WorkflowEnvironment, five_levels: tuple[Settings, Ladder], settings: Settings
) -> None:
    """The planner opens a forum held by divisions once per division and sitting, each
    session id naming its division (shortened by a hash where it would be too long)."""
    _, ladder = five_levels
    forum = ladder.rung("divcom_review").forum
    assert forum is not None
    planned = await env.client.execute_workflow(
        ReviewPlannerWorkflow.run,
        PlannerInput(
            kind=forum.session_kind,
            policy=POLICY,
            forum=forum,
            workflow_id_prefix=settings.workflow_id_prefix,
            sessions_ahead=1,
        ),
        id=f"{settings.workflow_id_prefix}divcom-planner",
        task_queue=settings.temporal_task_queue,
    )
    places = sorted(str(parse_session_id(sid)[2]) for sid in planned.opened)
    assert places == sorted(forum.divisions)
    assert all(
        len(sid) <= 40 and parse_session_id(sid)[0] == "divcom_review" for sid in planned.opened
    )
    assert {parse_session_id(sid)[1].weekday() for sid in planned.opened} == {forum.weekday}
