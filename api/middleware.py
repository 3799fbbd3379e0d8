"""The API's ASGI middlewares: the audit trail of every state-changing request, and the case
a request is about for the log lines written while serving it.

`AuditMiddleware` decides which requests are recorded (by method and route template) and
writes the entry; what an entry may hold, and what a route adds to it, is `core/audit.py`.
`CaseContextMiddleware` tags log lines with the registration number in the path
(`core/logging.py` does the tagging). `HttpSemanticsMiddleware` keeps HTTP's own rules
(caching of static files). `DocsPolicy` gives the API documentation pages their content
security policy; `CodecCors` opens the codec's paths, and only them, to the Temporal Web UI.

Two ASGI middlewares live with what they measure or check: the request guard
(`api/guard.py`, bodies refused before a route parses them, with the field checks the routes
and pages share) and the HTTP metrics (`api/metrics.py`, with their registry). `api/main.py`
installs them all, in order."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import CODEC_PREFIX
from core import audit
from core.logging import case_context
from core.models import AUDIT_SUMMARY_LENGTH, AuditEntry, utcnow

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that change nothing: the Temporal UI decoding (or encoding) payloads for display.
READ_ONLY_ROUTES = frozenset(
    {
        "/v1/codec/decode",
        "/v1/codec/encode",
        "/v1/codec/{namespace}/decode",
        "/v1/codec/{namespace}/encode",
    }
)


class AuditMiddleware:
    """ASGI middleware recording every state-changing request (see the module docstring).

    It must sit outside the router (so it sees the matched route, the path parameters and the
    principal `api.auth.require` left in the request state) and writes with the app's engine.
    A failure to write is logged loudly and answered 500: an unrecorded change must not look
    like a recorded one, and the middleware cannot undo what the route has done, so the
    client's retry (Idempotency-Key) is what repairs it."""

    def __init__(self, app: Any, *, count_refused: Callable[[Any, str], int] | None = None) -> None:
        self.app = app
        # (engine, "address route") -> refusals of that key in the current minute, the call
        # included; None: every refusal is a row.
        self.count_refused = count_refused or (lambda _engine, _key: 1)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        pending = audit.Pending()
        token = audit.PENDING.set(pending)
        started = dropped = False

        async def send_and_record(message: Any) -> None:
            nonlocal started, dropped
            if message["type"] == "http.response.start" and not started:
                started = True
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                replayed = headers.get(b"idempotent-replayed") == b"true"
                recorded = await self._record(scope, pending, message["status"], replayed)
                if not recorded and message["status"] < 500:
                    dropped = True
                    await _answer_unrecorded(send)
                    return
            if not dropped:
                await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        except Exception:
            if not started:
                await self._record(scope, pending, 500, False)
            raise
        finally:
            audit.PENDING.reset(token)

    async def _record(
        self, scope: Any, pending: audit.Pending, status: int, replayed: bool
    ) -> bool:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        if route in READ_ONLY_ROUTES:
            return True
        state = scope.get("state") or {}
        principal = state.get("principal")
        complaint = pending.complaint or _complaint_of(scope.get("path_params") or {})
        client = scope.get("client")
        subject = getattr(principal, "subject", None) or pending.subject
        app_state = getattr(scope.get("app"), "state", None)
        jan_samvad = getattr(app_state, "jan_samvad", None)
        if subject is None and status >= 400 and client and jan_samvad is not None:
            # Refused and anonymous: counted per address and route, and recorded at the 1st,
            # 10th, 100th... of a minute, so a flood cannot grow the (undeletable) trail by a
            # row a request, yet the trail says it happened and how often.
            count = await run_in_threadpool(
                self.count_refused, jan_samvad.engine, f"{client[0]} {route}"
            )
            if not _worth_a_row(count):
                return True
            if count > 1:
                pending.summary.append(f"refused anonymous requests this minute: {count}")
        entry = AuditEntry(
            at=utcnow(),
            subject=subject[:200] if subject else None,
            roles=",".join(sorted(r.value for r in getattr(principal, "roles", ()))),
            token_id=getattr(principal, "token_id", None),
            client_address=str(client[0])[:64] if client else None,
            method=scope["method"],
            route=route[:200],
            complaint_year=complaint[0] if complaint else None,
            complaint_sequence=complaint[1] if complaint else None,
            summary="; ".join(pending.summary)[:AUDIT_SUMMARY_LENGTH],
            status_code=status,
            outcome=audit.outcome_of(status, replayed=replayed).value,
        )
        if jan_samvad is None:  # the app has not started (lifespan): nothing to write with
            log.error("audit: no database to record %s %s", scope["method"], route)
            return False
        try:
            await run_in_threadpool(audit.append, jan_samvad.engine, entry)
        except Exception:
            log.exception("audit: could not record %s %s (%s)", scope["method"], route, status)
            return False
        return True


def _worth_a_row(count: int) -> bool:
    """The 1st, 10th, 100th... refusal of a minute gets a row."""
    while count % 10 == 0 and count > 1:
        count //= 10
    return count == 1


async def _answer_unrecorded(send: Any) -> None:
    body = b'{"detail":"the request could not be recorded in the audit trail; retry it"}'
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _complaint_of(path_params: dict[str, Any]) -> tuple[int, int] | None:
    return audit.complaint_of(path_params.get("year"), path_params.get("sequence"))


# `/v1/complaints/2018/20983[/...]`: an API request about one case.
_CASE_PATH = re.compile(r"^/v1/complaints/(?P<year>\d{4})/(?P<sequence>\d+)(?:/|$)")


class CaseContextMiddleware:
    """ASGI middleware: lines logged while serving a request about a case carry its number."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        match = _CASE_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        with case_context(registration_number=f"{int(match['sequence'])}/{match['year']}"):
            await self.app(scope, receive, send)


# Answers that may be kept by a browser or a proxy: the pages' static files and the API
# documentation's assets. Everything else the app answers (JSON about cases, pages, XML of
# Open311) may carry personal data and is `no-store` unless its route says otherwise.
_CACHEABLE_TYPES = (b"text/css", b"application/javascript", b"text/javascript", b"image/", b"font/")


class HttpSemanticsMiddleware:
    """ASGI middleware: `HEAD` on every GET route, and the caching headers of answers.

    - **HEAD** (load balancers, link checkers) is served as the GET it stands for, without the
      body: the same status and headers (`Content-Length` included), on every route.
    - **Cache-Control: no-store** on every answer that does not set its own and is not a
      static asset: a shared computer's browser or a proxy must not keep a case, a tracking
      answer or a page.
    - **Vary: X-Citizen-Phone** on public tracking (`/v1/track/...`), whose answer depends on
      that header: a cache that ignored it would give one citizen's answer to another's phone.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        tracking = scope.get("path", "").startswith("/v1/track")

        async def send_adjusted(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _v in headers}
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if b"cache-control" not in names and not kind.startswith(_CACHEABLE_TYPES):
                    headers.append((b"cache-control", b"no-store"))
                if tracking:
                    headers.append((b"vary", b"X-Citizen-Phone"))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and head:
                if message.get("more_body", False):
                    return  # the body is not sent; its end is
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_adjusted)


# What the API documentation pages may load: their own files only. ReDoc's bundle shows a
# logo from its vendor's CDN; with this policy the browser never asks for it.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'"
)


class DocsPolicy:
    """Adds DOCS_POLICY to the answers of /docs and /redoc (FastAPI's own routes)."""

    def __init__(self, app: ASGIApp, *, paths: tuple[str, ...] = ("/docs", "/redoc")) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Content-Security-Policy"] = DOCS_POLICY
            await send(message)

        await self.app(scope, receive, with_policy)


class CodecCors:
    """CORS for the codec paths only, so the rest of the API stays same-origin."""

    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_credentials=True,
            allow_methods=["POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Authorization-Extras", "Content-Type", "X-Namespace"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CODEC_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
