"""Text that cannot be stored or sent, and bodies too large to read: refused before any route.

One ASGI middleware for every route, so that no field anywhere is forgotten:

- **Characters.** Every string of a request — JSON body (at any depth), form field, query
  parameter and path — is checked for characters the databases or SMS cannot carry: C0 control
  characters other than tab, line feed and carriage return (U+0000 is refused by PostgreSQL
  outright), DEL and the C1 controls, lone UTF-16 surrogates (a JSON `\\ud800` escape, which no
  UTF-8 database accepts) and the non-characters U+FFFE/U+FFFF. Answer: 422 in the API's
  validation shape, naming the field (`citizen.name`, `note`, `Body`); under a prefix with its
  own error format (Open311) that format's answer (`answers`).
- **Size.** A body larger than `MAX_BODY_BYTES` is answered 413 before it is read whole: by its
  `Content-Length` when it declares one, else as soon as the bytes received pass the limit.

Bodies that are not valid JSON or forms go on unchanged: the route's own validation answers.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def forbidden_character(text: str) -> str | None:
    """The first character of `text` that cannot be stored or sent, as `U+XXXX`, or None."""
    found = _FORBIDDEN.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, string) for every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key)
            yield from _strings(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))


def check_fields(fields: Iterator[tuple[str, str]] | Mapping[str, str]) -> tuple[str, str] | None:
    """(field, message) of the first forbidden character among `fields` (name, text): the
    same check for the text parts of a body the guard does not read itself (an upload)."""
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    for field, text in pairs:
        code = forbidden_character(text)
        if code is not None:
            return field, _message(code)
    return None


def _message(code: str) -> str:
    return (
        f"contains a character that cannot be stored or sent by SMS ({code}); "
        "remove control characters"
    )


# How a refusal is answered: (path, kind, field, message) -> response, kind being
# "forbidden_character" (field named) or "too_large" (no field).
Answer = Callable[[str, str, str | None, str], Response]


def json_answer(path: str, kind: str, field: str | None, message: str) -> Response:
    """The API's own shapes: 422 naming the field, 413 for a body too large."""
    if kind == "too_large":
        return JSONResponse({"detail": message}, status_code=413)
    return JSONResponse(
        {
            "detail": f"invalid request: {field}: {message}",
            "errors": [{"field": field, "message": message, "type": kind}],
        },
        status_code=422,
    )


class RequestGuard:
    """ASGI middleware: see the module docstring. `max_body_bytes`: the largest body read;
    `answers`: how refusals are answered under a path prefix that has its own error format
    (Open311), by prefix (default: `json_answer`); `uploads`: paths (regular expressions)
    whose bodies (files) may be larger, up to their own limit: spooled to disk as they come,
    never held whole, their text fields checked by the route (`check_fields`)."""

    def __init__(
        self,
        app: Any,
        *,
        max_body_bytes: int,
        answers: Mapping[str, Answer] | None = None,
        uploads: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.answers = dict(answers or {})
        self.uploads = [(re.compile(p), limit) for p, limit in (uploads or {}).items()]

    def _answer(self, scope: Any) -> Callable[[str, str | None, str], Response]:
        path = scope.get("path", "")
        answer = next(
            (a for prefix, a in self.answers.items() if path.startswith(prefix)), json_answer
        )
        return lambda kind, field, message: answer(path, kind, field, message)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answer = self._answer(scope)
        too_large = f"request body larger than {self.max_body_bytes} bytes"
        refused = self._check_url(scope)
        if refused is not None:
            await answer("forbidden_character", *refused)(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length")
        upload_limit = next(
            (limit for p, limit in self.uploads if p.match(scope.get("path", ""))), None
        )
        if upload_limit is not None and scope["method"] == "POST":
            await self._spooled(scope, receive, send, upload_limit, answer)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await answer("too_large", None, too_large)(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await answer("too_large", None, too_large)(scope, receive, send)
                return
            more = message.get("more_body", False)
        refused = self._check_body(bytes(body), headers.get(b"content-type", b""))
        if refused is not None:
            await answer("forbidden_character", *refused)(scope, receive, send)
            return
        delivered = False

        async def replay() -> Any:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _spooled(
        self,
        scope: Any,
        receive: Any,
        send: Any,
        limit: int,
        answer: Callable[[str, str | None, str], Response],
    ) -> None:
        """An upload's body spooled to a temporary file as it arrives (at most 1 MiB in
        memory), 413 past `limit`, then handed to the app in chunks. A body that is not
        multipart (a form without files) keeps the usual limit and checks."""
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"")
        multipart = content_type.split(b";")[0].strip().lower().startswith(b"multipart/")
        if not multipart:
            limit = self.max_body_bytes
        too_large = f"request body larger than {limit} bytes"
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await answer("too_large", None, too_large)(scope, receive, send)
            return
        with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool:
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await answer("too_large", None, too_large)(scope, receive, send)
                    return
                spool.write(chunk)
                more = message.get("more_body", False)
            spool.seek(0)
            if not multipart:
                refused = self._check_body(spool.read(), content_type)
                if refused is not None:
                    await answer("forbidden_character", *refused)(scope, receive, send)
                    return
                spool.seek(0)
            remaining = size
            sent = False

            async def replay() -> Any:
                nonlocal remaining, sent
                if sent and remaining <= 0:
                    return await receive()
                sent = True
                chunk = spool.read(256 * 1024)
                remaining -= len(chunk)
                return {"type": "http.request", "body": chunk, "more_body": remaining > 0}

            await self.app(scope, replay, send)

    @staticmethod
    def _check_url(scope: Any) -> tuple[str, str] | None:
        """(field, message) of the first forbidden character in the path or query."""
        # Already percent-decoded by the server: decoding again would read a literal "%00"
        # (sent as %2500) as a NUL.
        path = scope.get("path", "")
        code = forbidden_character(path)
        if code is not None:
            return "path", _message(code)
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            code = forbidden_character(name) or forbidden_character(value)
            if code is not None:
                return name or "query", _message(code)
        return None

    @staticmethod
    def _check_body(body: bytes, content_type: bytes) -> tuple[str, str] | None:
        """(field, message) of the first forbidden character in a JSON or form body."""
        if not body:
            return None
        kind = content_type.split(b";")[0].strip().lower()
        if kind == b"application/json":
            try:
                decoded = json.loads(body)
            except ValueError:
                return None  # the route's own validation says what is wrong
            fields = _strings(decoded, "")
        elif kind == b"application/x-www-form-urlencoded":
            fields = iter(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        else:
            return None
        for field, text in fields:
            code = forbidden_character(text)
            if code is not None:
                return field or "body", _message(code)
        return None
