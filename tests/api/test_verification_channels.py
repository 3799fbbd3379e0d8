"""Verification by channel: the rows the timeline's projection writes for each verification
(`record_transition`), a person's check of a machine "solved", and the figures by channel
and period — counted in the database (SQLite and PostgreSQL) against numbers worked out by
hand, in the JSON (`GET /v1/voice/verification`) and on the dashboard's panel."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from activities.case import CaseActivities
from api.main import create_app
from core.db import alembic_config, read_session
from core.ivr_calls import record_check
from core.models import Attachment, Complaint, IvrCall, Verification, utcnow
from core.settings import Settings
from core.verifications import by_channel
from harness.factories import auth_headers, insert_case
from schemas.auth import Role
from schemas.calendar import IST
from schemas.enums import ClosureReason, ComplaintStatus
from schemas.voice import VerificationChannel, verification_channel
from schemas.workflow import CaseSnapshot, RecordTransitionInput
from tests.api.test_metrics import labels, parse
from tests.api.test_pages import sign_in, token_of
from tests.helpers import api_client

DAY = timedelta(days=1)


@pytest.fixture
def engine(any_engine: Engine) -> Engine:
    return any_engine


def _entry(
    row: Complaint, seq: int, at: datetime, event: str, actor: str, reason: ClosureReason | None
) -> RecordTransitionInput:
    closed = event == "closed"
    return RecordTransitionInput(
        registration_number=row.registration_number,
        seq=seq,
        at=at,
        event=event,
        actor=actor,
        note=f"{reason.value}: by call" if reason else "the citizen says not solved",
        snapshot=CaseSnapshot(
            status=ComplaintStatus.CLOSED if closed else ComplaintStatus.AWAITING_CALLBACK,
            escalation_level=0,
            next_deadline=None,
            officer=None,
            review=None,
            closure_reason=reason,
            closed_at=at if closed else None,
            last_reply=None,
            citizen_remark=None,
            callback_due_at=None,
            callback_attempts=0,
        ),
    )


def _case(
    engine: Engine,
    district: str,
    at: datetime,
    event: str,
    actor: str,
    reason: ClosureReason | None = None,
    *,
    sampled_call: bool = False,
) -> Complaint:
    """A case whose timeline's entry 5 is `event` by `actor` at `at`, projected the way the
    workflow projects it (twice: a retried activity)."""
    row = insert_case(engine, district=district)
    project = CaseActivities(engine).record_transition
    project(_entry(row, 5, at, event, actor, reason))
    project(_entry(row, 5, at, event, actor, reason))
    if sampled_call:  # the machine's "solved", in the sample a person checks
        with Session(engine) as session:
            session.add(
                IvrCall(
                    key=f"{row.registration_number}:1:ivr:1",
                    registration_number=row.registration_number,
                    call_sid=f"CA{row.sequence:032d}",
                    result="satisfied",
                    sampled=True,
                    audit=True,
                )
            )
            session.commit()
    return row


@pytest.fixture
def verified(engine: Engine) -> dict[str, Complaint]:
    """Seven cases, worked out by hand for the last 30 days (IST) ending now:

    machine (ivr): A solved 2 days ago, checked, the citizen disagreed; B solved 3 days ago,
        checked, agreed; C not solved yesterday (Dhanbad); G solved 40 days ago (outside).
        → verified 3, satisfied 2, not satisfied 1, checked 2, disagreed 1, rate 0.5
    telecaller: D solved yesterday; E not solved 5 days ago. → 2, 1, 1
    F closed at a review yesterday: not a verification.
    """
    now = utcnow()
    ivr, solved, review = "ivr", ClosureReason.RESOLVED_VERIFIED, ClosureReason.CLOSED_AT_REVIEW
    cases = {
        "A": _case(engine, "Ranchi", now - 2 * DAY, "closed", ivr, solved, sampled_call=True),
        "B": _case(engine, "Ranchi", now - 3 * DAY, "closed", ivr, solved, sampled_call=True),
        "C": _case(engine, "Dhanbad", now - DAY, "citizen_not_satisfied", ivr),
        "G": _case(engine, "Ranchi", now - 40 * DAY, "closed", ivr, solved),
        "D": _case(engine, "Ranchi", now - DAY, "closed", "tc-asha", solved),
        "E": _case(engine, "Ranchi", now - 5 * DAY, "citizen_not_satisfied", "tc-ravi"),
        "F": _case(engine, "Ranchi", now - DAY, "closed", "system", review),
    }
    assert record_check(engine, cases["A"].registration_number, agrees=False, checked_by="p1")
    assert record_check(engine, cases["B"].registration_number, agrees=True, checked_by="p1")
    assert not record_check(engine, cases["B"].registration_number, agrees=False, checked_by="p")
    return cases


def test_each_verification_is_one_row_by_its_channel(
    engine: Engine, verified: dict[str, Complaint]
) -> None:
    with Session(engine) as session:
        rows = session.exec(select(Verification)).all()
    by_case = {r.complaint_id: r for r in rows}
    assert len(rows) == 6  # F is no verification; the retried projection wrote none twice
    a, c, d = (by_case[verified[k].id or 0] for k in "ACD")
    assert (a.channel, a.result, a.check_disagreed) == ("ivr", "satisfied", True)
    assert (c.channel, c.result, c.checked_at) == ("ivr", "not_satisfied", None)
    assert (d.channel, d.result) == ("telecaller", "satisfied")
    assert by_case[verified["B"].id or 0].check_disagreed is False
    assert verification_channel("tc-1", "sms") is VerificationChannel.SMS
    assert verification_channel("ivr", "api") is VerificationChannel.IVR


def test_figures_by_channel_and_period(engine: Engine, verified: dict[str, Complaint]) -> None:
    now = utcnow()
    with read_session(engine) as session:
        month = by_channel(session, since=now - 30 * DAY, until=now + DAY)
        dhanbad = by_channel(
            session, since=now - 30 * DAY, where=[col(Complaint.district) == "Dhanbad"]
        )
        ever = by_channel(session)
        week_before = by_channel(session, since=now - 60 * DAY, until=now - 30 * DAY)
    ivr, people = month.channels[0], month.channels[1]
    assert (ivr.channel, ivr.verified, ivr.satisfied, ivr.not_satisfied) == ("ivr", 3, 2, 1)
    assert (ivr.checked, ivr.disagreed, ivr.disagreement_rate) == (2, 1, 0.5)
    assert (people.channel, people.verified, people.satisfied, people.not_satisfied) == (
        "telecaller",
        2,
        1,
        1,
    )
    assert (month.by_ivr, month.by_telecaller, month.checked, month.disagreed) == (3, 2, 2, 1)
    assert month.disagreement_rate == 0.5
    assert (dhanbad.by_ivr, dhanbad.by_telecaller, dhanbad.checked) == (1, 0, 0)
    assert dhanbad.disagreement_rate is None
    assert (ever.by_ivr, ever.by_telecaller) == (4, 2)
    assert (week_before.by_ivr, week_before.by_telecaller) == (1, 0)


@pytest.fixture
async def app_client(
    engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        http.headers["accept-language"] = "en"
        yield http


async def test_the_json_by_period_and_scope(
    app_client: httpx.AsyncClient, engine: Engine, verified: dict[str, Complaint]
) -> None:
    today = utcnow().astimezone(IST).date()
    reviewer = auth_headers(engine, Role.REVIEWER)
    period = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    answer = await app_client.get("/v1/voice/verification", params=period, headers=reviewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["by_ivr"], body["by_telecaller"], body["checked"], body["disagreed"]) == (
        3,
        2,
        2,
        1,
    )
    assert body["disagreement_rate"] == 0.5
    assert body["since"].endswith("+05:30") and body["since"].startswith(period["from"])
    assert [c["channel"] for c in body["channels"]] == ["ivr", "telecaller"]
    assert body["channels"][0]["disagreement_rate"] == 0.5
    whole = (await app_client.get("/v1/voice/verification", headers=reviewer)).json()
    assert (whole["by_ivr"], whole["by_telecaller"]) == (4, 2)
    backwards = await app_client.get(
        "/v1/voice/verification",
        params={"from": period["to"], "to": period["from"]},
        headers=reviewer,
    )
    assert backwards.status_code == 422 and "to" in backwards.text
    bad = await app_client.get(
        "/v1/voice/verification", params={"from": "2026-13-01"}, headers=reviewer
    )
    assert bad.status_code == 422 and "from" in bad.text


async def test_the_dashboard_panel(
    app_client: httpx.AsyncClient, engine: Engine, verified: dict[str, Complaint]
) -> None:
    await sign_in(app_client, token_of(auth_headers(engine, Role.REVIEWER)))
    today = utcnow().astimezone(IST).date()
    page = await app_client.get(
        "/dashboard",
        params={
            "registered_from": (today - timedelta(days=29)).isoformat(),
            "registered_to": today.isoformat(),
        },
    )
    assert page.status_code == 200, page.text
    panel = page.text[page.text.index('id="verification-by-channel"') :]
    rows = dict(
        (channel, re.findall(r'<td class="num[^"]*"[^>]*>([^<]*)</td>', body))
        for channel, body in re.findall(r'<tr data-channel="(\w+)">(.*?)</tr>', panel, re.S)
    )
    assert rows["ivr"] == ["3", "2", "1", "2", "1", "50%"]
    assert rows["telecaller"] == ["2", "1", "1", "—", "—", "—"]
    assert "IVR call" in panel and "Telecaller" in panel
    # The district filter narrows the panel too; by default, the last 90 days (G is 40 days old).
    dhanbad = await app_client.get("/dashboard", params={"district": "Dhanbad"})
    panel = dhanbad.text[dhanbad.text.index('id="verification-by-channel"') :]
    assert re.search(r'data-channel="ivr"><td>[^<]*</td><td class="num">1</td>', panel)
    whole = await app_client.get("/dashboard")
    panel = whole.text[whole.text.index('id="verification-by-channel"') :]
    assert re.search(r'data-channel="ivr"><td>[^<]*</td><td class="num">4</td>', panel)


def awaiting_callback_after_calls(engine: Engine, results: list[str]) -> Complaint:
    """A case awaiting its verification call, overdue, after the machine's calls ended with
    `results` (`schemas.voice.CallResult` values), in order."""
    row = insert_case(engine, district="Ranchi")
    with Session(engine) as session:
        stored = session.get(Complaint, row.id)
        assert stored is not None
        stored.status = ComplaintStatus.AWAITING_CALLBACK
        stored.callback_due_at = utcnow() - timedelta(hours=2)
        session.add(stored)
        for attempt, result in enumerate(results, start=1):
            session.add(
                IvrCall(
                    key=f"{row.registration_number}:4:ivr:{attempt}",
                    registration_number=row.registration_number,
                    attempt=attempt,
                    call_sid=f"CA{attempt:02d}{row.sequence:030d}",
                    status="completed",
                    result=result,
                )
            )
        session.commit()
    return row


@pytest.mark.parametrize(("language", "words"), [("en", "Not answered"), ("hi", "फ़ोन नहीं उठाया")])
async def test_the_desk_and_the_case_page_say_the_ivr_result_in_words(
    app_client: httpx.AsyncClient, engine: Engine, language: str, words: str
) -> None:
    row = awaiting_callback_after_calls(engine, ["no_answer", "no_answer"])
    with Session(engine) as session:  # a spoken remark kept on the case (as the fetch does)
        session.add(
            Attachment(
                id="a" * 32,
                complaint_id=row.id or 0,
                sha256="b" * 64,
                media_type="audio/wav",
                size=2048,
                kind="evidence",
                source="ivr",
                uploaded_by="ivr",
                uploaded_at=utcnow(),
            )
        )
        session.commit()
    app_client.headers["accept-language"] = language
    await sign_in(app_client, token_of(auth_headers(engine, Role.TELECALLER)))
    desk = await app_client.get("/desk")
    assert desk.status_code == 200, desk.text
    line = re.search(r'<div class="hint ivr">(.*?)</div>', desk.text, re.S)
    assert line is not None and words in line.group(1) and "no_answer" not in line.group(1)
    page = await app_client.get(f"/cases/{row.year}/{row.sequence}")
    assert page.status_code == 200, page.text
    summary = re.search(r'<dd id="ivr-summary">(.*?)</dd>', page.text, re.S)
    assert summary is not None and summary.group(1).startswith("2 · ")
    assert words in summary.group(1) and "no_answer" not in summary.group(1)
    src = f"/cases/{row.year}/{row.sequence}/attachments/{'a' * 32}"
    assert f'<audio controls preload="none" src="{src}"></audio>' in page.text


def test_the_migration_fills_the_verifications_from_the_timeline(
    engine: Engine, verified: dict[str, Complaint]
) -> None:
    """Down to 0021 (before the verifications) and up again: the rows come back from the
    timeline and the checks."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0021")
        command.upgrade(config, "0022")
    with read_session(engine) as session:
        figures = by_channel(session, since=utcnow() - 30 * DAY)
    assert (figures.by_ivr, figures.by_telecaller, figures.checked, figures.disagreed) == (
        3,
        2,
        2,
        1,
    )


async def test_the_metrics_count_verifications_by_channel(
    app_client: httpx.AsyncClient, engine: Engine, verified: dict[str, Complaint]
) -> None:
    answer = await app_client.get("/metrics", headers=auth_headers(engine, Role.MONITORING))
    assert answer.status_code == 200, answer.text
    samples = parse(answer.text)
    assert samples[("jansamvad_verifications", labels(channel="ivr", result="satisfied"))] == 3
    assert samples[("jansamvad_verifications", labels(channel="ivr", result="not_satisfied"))] == 1
    assert (
        samples[("jansamvad_verifications", labels(channel="telecaller", result="satisfied"))] == 1
    )
    disagreed = labels(channel="ivr", citizen="disagreed")
    assert samples[("jansamvad_verification_checks", disagreed)] == 1
    assert samples[("jansamvad_verification_checks", labels(channel="ivr", citizen="agreed"))] == 1
