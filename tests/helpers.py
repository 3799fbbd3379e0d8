"""Helpers shared by test modules (fixtures stay in conftest.py): the project's real workers
on a test's task queues, an in-process HTTP client for the app, and whether this run is CI."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.sms import OutboxGateway, SmsGateway
from activities.voice import VoiceGateway
from core.auth import create_user
from core.settings import Settings
from schemas.auth import Role
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
