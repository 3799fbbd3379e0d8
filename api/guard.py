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
- **Depth.** A JSON body nested deeper than `MAX_JSON_DEPTH` is answered 422 (`body`) before
  anything decodes it: a thousand `[` would otherwise exhaust the recursion of every parser
  after this one (500, RecursionError).
- **Media types.** Every body the app can parse passes through the checks above: any JSON
  media type (`application/json` and every `application/*+json`, which FastAPI decodes as
  JSON too), url-encoded forms and multipart forms (read by the same parser the pages use).
  A non-empty body of any other type, or of none, is answered 415: no route reads one, and a
  route that reads its body by hand (the codec, Twilio's webhooks) must not meet an unchecked
  one.

Bodies of a checked type that are not valid JSON or forms go on unchanged: the route's own
validation answers.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from email.message import Message
from itertools import accumulate
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def forbidden_character(text: str) -> str | None:
    """The first character of `text` that cannot be stored or sent, as `U+XXXX`, or None."""
    found = _FORBIDDEN.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


# Deeper than any body of the API (a complaint is 3 levels, a codec request 4), far below the
# recursion limit of the parsers behind this guard.
MAX_JSON_DEPTH = 32

# What a refusal of each kind is answered with.
STATUS_OF_KIND = {
    "forbidden_character": 422,
    "too_deep": 422,
    "too_large": 413,
    "unsupported_media_type": 415,
}

# A string, or an unterminated one up to the end (so that no quote starts a second scan).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+\\?(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, counted without decoding it (no
    recursion, linear in its size; strings, where brackets mean nothing, are skipped)."""
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def media_kind(content_type: bytes) -> str | None:
    """`json`, `form` or `multipart` for a Content-Type the app parses, else None."""
    message = Message()
    message["content-type"] = content_type.decode("latin-1")
    kind = message.get_content_type()  # lower case, parameters dropped; text/plain if bad
    if message.get_content_maintype() == "application":
        subtype = message.get_content_subtype()
        if subtype == "json" or subtype.endswith("+json"):
            return "json"
        if subtype == "x-www-form-urlencoded":
            return "form"
    if kind == "multipart/form-data":
        return "multipart"
    return None


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
    """The API's own shapes: 422 naming the field, 413 for a body too large, 415 for a body
    of a type the app does not read."""
    if kind in ("too_large", "unsupported_media_type"):
        return JSONResponse({"detail": message}, status_code=STATUS_OF_KIND[kind])
    return JSONResponse(
        {
            "detail": f"invalid request: {field}: {message}",
            "errors": [{"field": field, "message": message, "type": kind}],
        },
        status_code=STATUS_OF_KIND[kind],
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
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
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
        problem = await self._check_body(scope, bytes(body), headers.get(b"content-type"))
        if problem is not None:
            await answer(*problem)(scope, receive, send)
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
                problem = await self._check_body(scope, spool.read(), headers.get(b"content-type"))
                if problem is not None:
                    await answer(*problem)(scope, receive, send)
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
    async def _check_body(
        scope: Any, body: bytes, content_type: bytes | None
    ) -> tuple[str, str | None, str] | None:
        """(kind, field, message) of the first refusal of a body, or None."""
        if not body:
            return None
        kind = media_kind(content_type) if content_type else None
        if kind is None:
            named = content_type.decode("latin-1") if content_type else "none"
            return (
                "unsupported_media_type",
                None,
                f"a request body of Content-Type {named!r} is not read here: send "
                "application/json (or a form, where a route takes one)",
            )
        fields: Iterator[tuple[str, str]]
        if kind == "json":
            if json_depth(body) > MAX_JSON_DEPTH:
                return (
                    "too_deep",
                    "body",
                    f"nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects",
                )
            try:
                decoded = json.loads(body)
            except (ValueError, RecursionError):
                return None  # the route's own validation says what is wrong
            fields = _strings(decoded, "")
        elif kind == "form":
            fields = iter(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        else:
            found = await _multipart_fields(scope, body)
            if found is None:
                return None  # malformed: the route's own parsing answers 400
            fields = iter(found)
        for field, text in fields:
            code = forbidden_character(text)
            if code is not None:
                return "forbidden_character", field or "body", _message(code)
        return None


async def _multipart_fields(scope: Any, body: bytes) -> list[tuple[str, str]] | None:
    """(name, text) of every field of a multipart form, a file's name included (its content is
    bytes, not text), read by the parser the app's own `request.form()` uses."""
    sent = False

    async def once() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request({**scope, "state": {}}, once)
    try:
        form = await request.form()
    except (MultiPartException, HTTPException, ValueError, AssertionError):
        # Malformed (Starlette words a bad multipart body as a 400 HTTPException): the
        # route's own parsing answers it.
        return None
    try:
        found: list[tuple[str, str]] = []
        for name, value in form.multi_items():
            found.append((name, name))
            if isinstance(value, UploadFile):
                found.append((name, value.filename or ""))
            else:
                found.append((name, value))
        return found
    finally:
        await form.close()
