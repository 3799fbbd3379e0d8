"""The review room's agenda and minutes show each case's file count beside its number (a
paperclip linking to the case's files), counting live files only, over HTTP on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.models import Attachment, Complaint, ReviewItem, ReviewSession, utcnow
from core.settings import Settings
from harness.factories import auth_headers, insert_case
from schemas.auth import Role
from schemas.calendar import IST, SessionKind, session_start
from schemas.enums import ComplaintKind, ComplaintStatus
from schemas.escalation import session_id
from schemas.policy import Policy
from schemas.review import AgendaItem
from tests.api.test_minutes_files import _last_tuesday_before
from tests.api.test_pages import sign_in, token_of
from tests.helpers import api_client


@pytest.fixture
async def web(
    any_engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with api_client(app, authorized=False) as http:
        http.headers["accept-language"] = "en"
        yield http


def _files(engine: Engine, case: Complaint, count: int, *, removed: int = 0) -> None:
    """`count` live files and `removed` removed ones on `case` (references only)."""
    assert case.id is not None
    now = utcnow()
    with Session(engine) as session:
        for n in range(count + removed):
            session.add(
                Attachment(
                    id=uuid.uuid4().hex,
                    complaint_id=case.id,
                    sha256=uuid.uuid4().hex * 2,
                    media_type="image/jpeg",
                    size=1000 + n,
                    kind="evidence",
                    source="desk",
                    uploaded_by="telecaller",
                    uploaded_at=now,
                    deleted_at=now if n >= count else None,
                    deleted_by="admin" if n >= count else None,
                    deletion_reason="duplicate" if n >= count else None,
                )
            )
        session.commit()


def _held_session(engine: Engine, cases: list[Complaint]) -> str:
    """A closed weekly review that decided `cases`; its day."""
    day = _last_tuesday_before(utcnow().astimezone(IST).date())
    starts = session_start(day, Policy().weekly_review_time)
    sid = session_id(SessionKind.WEEKLY_REVIEW, starts)
    now = utcnow()
    with Session(engine) as session:
        session.add(
            ReviewSession(
                session_id=sid,
                kind=SessionKind.WEEKLY_REVIEW.value,
                starts_at=starts,
                cutoff_at=starts - timedelta(hours=17),
                workflow_id=f"review-{sid}",
                phase="closed",
                agenda_count=len(cases),
                decided_count=len(cases),
                created_at=now,
                updated_at=now,
                closed_at=now,
                closed_by="secretary",
            )
        )
        session.flush()
        for position, case in enumerate(cases):
            item = AgendaItem(
                registration_number=case.registration_number,
                workflow_id=case.workflow_id,
                kind=ComplaintKind.COMPLAINT,
                district=case.district,
                department=None,
                category="sanitation",
                subject="Sanitation (toilets)",
                registered_at=now - timedelta(days=40),
                age_days=40,
                status=ComplaintStatus.WEEKLY_REVIEW,
                escalation_level=1,
            )
            session.add(
                ReviewItem(
                    session_id=sid,
                    registration_number=case.registration_number,
                    district=case.district,
                    position=position,
                    item=item.model_dump_json(),
                    outcome="directive",
                    decision_text="Repair within a week",
                    decided_by="secretary",
                    responsible_officer_id="nodal-district-ranchi",
                    new_deadline=now + timedelta(days=7),
                    decided_at=now,
                )
            )
        session.commit()
    return day.isoformat()


def _markers(page: str) -> dict[str, int]:
    """The paperclips on a page: the case page they link to -> the count they show."""
    found = re.findall(
        r'<a class="tag files-marker" href="/cases/(\d+)/(\d+)#files"[^>]*>.*?</svg> (\d+)</a>',
        page,
        flags=re.DOTALL,
    )
    return {f"{sequence}/{year}": int(n) for year, sequence, n in found}


async def test_the_agenda_and_the_minutes_show_each_cases_file_count(
    web: httpx.AsyncClient, any_engine: Engine
) -> None:
    with_files = insert_case(any_engine, district="Ranchi")
    with_one = insert_case(any_engine, district="Dhanbad")
    without = insert_case(any_engine, district="Ranchi")
    _files(any_engine, with_files, 3, removed=1)  # a removed file is not counted
    _files(any_engine, with_one, 1)
    day = _held_session(any_engine, [with_files, with_one, without])
    await sign_in(web, token_of(auth_headers(any_engine, Role.REVIEWER)))
    expected = {with_files.registration_number: 3, with_one.registration_number: 1}

    agenda = await web.get(f"/review-room/weekly_review/{day}")
    assert agenda.status_code == 200, agenda.text[-2000:]
    assert without.registration_number in agenda.text
    assert _markers(agenda.text) == expected

    minutes = await web.get(f"/review-room/weekly_review/{day}/minutes")
    assert minutes.status_code == 200, minutes.text[-2000:]
    assert without.registration_number in minutes.text
    assert _markers(minutes.text) == expected
