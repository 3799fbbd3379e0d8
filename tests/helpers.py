"""Helpers shared by test modules (fixtures stay in conftest.py): the project's real workers
on a test's task queues, an in-process HTTP client for the app, and whether this run is CI."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sms import OutboxGateway, SmsGateway
from activities.voice import VoiceGateway
from core.auth import create_user
from core.settings import Settings
from schemas.auth import Role
from schemas.calendar import IST
from schemas.policy import Policy
from workers.main import build_sms_worker, build_worker

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@asynccontextmanager
async def running_worker(
    client: Client,
    engine: Engine,
    settings: Settings,
    *,
    gateway: SmsGateway | None = None,
    policy: Policy | None = None,
    voice: VoiceGateway | None = None,
) -> AsyncIterator[Worker]:
    """The project's real workers on the test's task queues: workflows and activities, and
    the SMS activities on their own (rate-limited) queue."""
    gateway = gateway or OutboxGateway()
    with ThreadPoolExecutor(max_workers=8) as executor:
        worker = build_worker(
            client,
            settings=settings,
            engine=engine,
            gateway=gateway,
            policy=policy or Policy(),
            executor=executor,
            voice=voice,
        )
        sms_worker = build_sms_worker(
            client,
            settings=settings,
            engine=engine,
            gateway=gateway,
            executor=executor,
            voice=voice,
        )
        async with worker, sms_worker:
            yield worker


@asynccontextmanager
async def api_client(app: FastAPI, *, authorized: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process, with its lifespan run. It sends by default
    the token of a state-wide user holding every role (no district or department scope), so
    tests of behaviour need not care about authorisation (tests/api/test_auth.py and
    tests/api/test_authz.py do); a request's own Authorization header replaces it."""
    async with app.router.lifespan_context(app):
        headers: dict[str, str] = {}
        if authorized:
            engine: Engine = app.state.jan_samvad.engine
            _user, token = create_user(
                engine, name=f"test-all-roles-{uuid.uuid4().hex[:10]}", roles=list(Role)
            )
            headers["Authorization"] = f"Bearer {token}"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as http:
            yield http


async def to_monday_noon(env: WorkflowEnvironment) -> None:
    """Skip a time-skipping server to the next Monday 12:00 IST (at most a week on).

    Review tests compare the session a case is put on with the one the planner opens (the
    next sitting). From the Tuesday review's agenda cutoff (Monday 17:00 IST) until the
    sitting, those differ: a case escalated then goes to the week after. Started from the
    wall clock, such a test passed or failed by the hour the suite ran; from here it runs
    the same every time."""
    now = (await env.get_current_time()).astimezone(IST)
    day = now.date() + timedelta(days=(0 - now.weekday()) % 7)
    moment = datetime.combine(day, time(12, 0), tzinfo=IST)
    if moment <= now:
        moment += timedelta(days=7)
    await env.sleep(moment - now)
