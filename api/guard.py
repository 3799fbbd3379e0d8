"""Text that cannot be stored or sent, and bodies too large to read: refused before any route.

One ASGI middleware for every route, so that no field anywhere is forgotten:

- **Characters.** Every string of a request — JSON body (at any depth), form field, query
  parameter and path — is checked for characters the databases or SMS cannot carry: C0 control
  characters other than tab, line feed and carriage return (U+0000 is refused by PostgreSQL
  outright), DEL and the C1 controls, lone UTF-16 surrogates (a JSON `\\ud800` escape, which no
  UTF-8 database accepts) and the non-characters U+FFFE/U+FFFF. Answer: 422 in the API's
  validation shape, naming the field (`citizen.name`, `note`, `Body`).
- **Size.** A body larger than `MAX_BODY_BYTES` is answered 413 before it is read whole: by its
  `Content-Length` when it declares one, else as soon as the bytes received pass the limit.

Bodies that are not valid JSON or forms go on unchanged: the route's own validation answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse

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


def _refusal(field: str, code: str) -> JSONResponse:
    message = (
        f"contains a character that cannot be stored or sent by SMS ({code}); "
        "remove control characters"
    )
    return JSONResponse(
        {
            "detail": f"invalid request: {field}: {message}",
            "errors": [{"field": field, "message": message, "type": "forbidden_character"}],
        },
        status_code=422,
    )


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body larger than {limit} bytes"}, status_code=413)


class RequestGuard:
    """ASGI middleware: see the module docstring. `max_body_bytes`: the largest body read."""

    def __init__(self, app: Any, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._check_url(scope)
        if refused is not None:
            await refused(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _too_large(self.max_body_bytes)(scope, receive, send)
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
                await _too_large(self.max_body_bytes)(scope, receive, send)
                return
            more = message.get("more_body", False)
        refused = self._check_body(bytes(body), headers.get(b"content-type", b""))
        if refused is not None:
            await refused(scope, receive, send)
            return
        delivered = False

        async def replay() -> Any:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _check_url(scope: Any) -> JSONResponse | None:
        # Already percent-decoded by the server: decoding again would read a literal "%00"
        # (sent as %2500) as a NUL.
        path = scope.get("path", "")
        code = forbidden_character(path)
        if code is not None:
            return _refusal("path", code)
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            code = forbidden_character(name) or forbidden_character(value)
            if code is not None:
                return _refusal(name or "query", code)
        return None

    @staticmethod
    def _check_body(body: bytes, content_type: bytes) -> JSONResponse | None:
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
                return _refusal(field or "body", code)
        return None
