"""The FastAPI application (`create_app`) and its entry point (`python -m api.main`)."""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from temporalio.client import Client
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import errors, metrics, pages, ratelimit
from api.auth import Authenticator, authenticator_from_settings
from api.deps import AppState
from api.guard import RequestGuard
from api.middleware import AuditMiddleware, CaseContextMiddleware, HttpSemanticsMiddleware
from api.routes import (
    attachments,
    audit,
    codec,
    complaints,
    grading,
    health,
    open311,
    reviews,
    staff,
    track,
    twilio,
    voice,
    whatsapp,
)
from core.db import prepare_database
from core.holidays import configured_policy
from core.ladder import configured_ladder
from core.logging import configure_logging
from core.settings import Settings, get_settings
from core.temporal import connect
from core.tracing import configure_tracing, instrument_app, shutdown_tracing

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    client: Client | None = None,
    authenticator: Authenticator | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The app; tests pass their own engine and Temporal client (and may pass the bearer-token
    authenticator; default: the one AUTH_PROVIDER names).

    `freeze_heap`: once started, the process's objects so far (the app, its routes, templates,
    catalogues, the ORM's metadata: some 240,000) are moved out of the garbage collector's
    reach (`gc.freeze`), so that a full collection walks only what requests made since. Without
    it such a collection costs the request it lands in about 70 ms (2 vCPUs). For a server
    process (`main`); not for a test process, whose frozen objects would never be freed."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = engine if engine is not None else await run_in_threadpool(prepare_database, settings)
        # Lazy: the API starts (and registers complaints) even while Temporal is down.
        temporal = client or await connect(settings, lazy=True)
        policy = configured_policy(settings, datetime.now(UTC))
        app.state.jan_samvad = AppState(
            settings=settings,
            engine=db,
            client=temporal,
            policy=policy,
            # A bad LADDER_FILE stops the start here, naming the field.
            ladder=configured_ladder(settings, policy),
        )
        if freeze_heap:
            gc.collect()
            gc.freeze()
        yield
        if engine is None:
            db.dispose()

    # /docs and /redoc from Swagger UI's and ReDoc's files shipped in the fastapi-offline
    # package: they work without internet (no CDN, no online validator).
    app = FastAPIOffline(
        title="Jan Samvad",
        version="0.1.0",
        summary="Chief Minister's public-grievance centre: every complaint a durable workflow.",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.authenticator = authenticator or authenticator_from_settings(settings)
    errors.install(app)
    ratelimit.install(app)
    app.include_router(complaints.router)
    app.include_router(attachments.router)  # a case's files (docs/attachments.md)
    app.include_router(attachments.public_router)  # files staff made public: no token
    app.include_router(staff.router)
    app.include_router(grading.router)  # monthly grading (docs/closure.md)
    app.include_router(health.router)
    app.include_router(twilio.router)
    app.include_router(whatsapp.router)
    app.include_router(voice.router)  # IVR calls' webhooks, signed by Twilio
    app.include_router(reviews.router)
    app.include_router(audit.router)
    app.include_router(track.router)  # public: no token
    app.include_router(open311.router)  # Open311 GeoReport v2 for civic apps
    codec.install(app, settings)  # the Temporal UI's codec endpoint, with its CORS
    pages.install(app)  # the staff and citizen pages
    if settings.metrics_enabled:
        metrics.install(app)
    # Unstorable characters (422) and oversized bodies (413), refused before any route.
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        answers={f"{open311.PREFIX}/": open311.guard_answer},  # in Open311's error format
        # Files: spooled to disk as they come, up to their own limit.
        uploads={
            attachments.UPLOAD_PATH: settings.attachment_max_bytes + attachments.MULTIPART_OVERHEAD,
            # A page's form may carry a few files at once.
            pages.files.UPLOAD_PATH: 5 * settings.attachment_max_bytes
            + attachments.MULTIPART_OVERHEAD,
        },
    )
    # Every state-changing request; refused anonymous ones counted per address and route.
    app.add_middleware(AuditMiddleware, count_refused=ratelimit.count_refused)
    app.add_middleware(CaseContextMiddleware)
    # HEAD on every GET route; Cache-Control and Vary on the answers.
    app.add_middleware(HttpSemanticsMiddleware)
    # Outermost: the client's address as rate limits and the audit trail see it. Forwarded
    # headers are believed only from the configured proxies (none by default).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies(settings))
    instrument_app(app, settings)
    return app


def trusted_proxies(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.forwarded_allow_ips.split(",") if p.strip()]


def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    # uvicorn finishes in-flight requests on SIGTERM, then re-raises the signal to the handler
    # that was installed before it: a no-op one makes an orchestrator's stop a clean exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    configure_tracing(settings, service="api")
    uvicorn.run(
        create_app(settings, freeze_heap=True),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
        # Forwarded headers are the app's business (ProxyHeadersMiddleware, FORWARDED_ALLOW_IPS):
        # uvicorn's own default would believe them from 127.0.0.1.
        proxy_headers=False,
        # Our root handler (text or JSON) formats uvicorn's lines too.
        log_config=None,
    )
    shutdown_tracing()


if __name__ == "__main__":
    main()
