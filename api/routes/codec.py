"""The codec endpoint: authorised engineers read decrypted history in the Temporal
Web UI and the CLI, which send payloads here to encode or decode.

The protocol is Temporal's remote codec protocol: `POST {endpoint}/decode` and
`POST {endpoint}/encode` with a `Payloads` protobuf as JSON (`{"payloads": [{"metadata":
{...base64...}, "data": "...base64..."}]}`), answered in the same shape. Clients send the
namespace in `X-Namespace`; the `{endpoint}/{namespace}/decode` form is served too. The
endpoint is `{PUBLIC_BASE_URL}/v1/codec`.

Who may: engineers and administrators, by bearer token (`temporal ... --codec-auth "Bearer
TOKEN"`, or the UI's own OIDC access token when it passes it) or, for a Web UI that cannot
send a bearer token, by the HttpOnly cookie `POST /v1/codec/session` sets from one (the UI's
codec settings must then "include cross-origin credentials"). The cookie is only sent to, and
only accepted on, /v1/codec paths, and only on requests whose Origin is the Web UI's
(CODEC_CORS_ORIGINS) or the API's own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import (
    CODEC_COOKIE,
    CODEC_PREFIX,
    CODEC_SESSION_SECONDS,
    CodecPrincipal,
    bearer_scheme,
    require,
)
from api.errors import ApiError
from api.middleware import CodecCors
from core.codec import EncryptionCodec, codec
from core.permissions import CODEC_USERS
from core.settings import Settings
from schemas.auth import Principal

log = logging.getLogger(__name__)


router = APIRouter(prefix=CODEC_PREFIX, tags=["codec"])


def _codec(request: Request) -> EncryptionCodec:
    found: EncryptionCodec | None = getattr(request.app.state, "payload_codec", None)
    if found is None:
        raise ApiError(404, "payload encryption is off: there is nothing to decode")
    return found


async def _apply(
    request: Request,
    principal: Principal,
    transform: Callable[[EncryptionCodec, Sequence[Payload]], Awaitable[list[Payload]]],
    what: str,
    namespace: str | None,
) -> Response:
    payload_codec = _codec(request)
    body = await request.body()
    try:
        payloads = json_format.Parse(body or b"{}", Payloads())
    except (json_format.ParseError, ValueError) as err:  # ValueError: bytes not UTF-8
        raise ApiError(400, f"body: not a Payloads JSON object ({err})") from err
    try:
        result = await transform(payload_codec, payloads.payloads)
    except ValueError as err:  # unknown key id, failed authentication
        raise ApiError(400, f"payloads: {err}") from err
    log.info(
        "codec %s of %d payloads for %s (namespace %s)",
        what,
        len(result),
        principal.subject,
        namespace or request.headers.get("x-namespace", "-"),
    )
    return Response(
        json_format.MessageToJson(Payloads(payloads=result)),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"payloads": {"type": "array", "items": {"type": "object"}}},
                    "example": {
                        "payloads": [
                            {"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="}, "data": "..."}
                        ]
                    },
                }
            }
        },
    }
}


@router.post("/decode", summary="Decode (decrypt) payloads", openapi_extra=_BODY)
async def decode(request: Request, principal: CodecPrincipal) -> Response:
    """Temporal codec protocol: payloads in, decrypted payloads out (unencrypted ones as they
    are)."""
    return await _apply(request, principal, EncryptionCodec.decode, "decode", None)


@router.post("/encode", summary="Encode (encrypt) payloads", openapi_extra=_BODY)
async def encode(request: Request, principal: CodecPrincipal) -> Response:
    """Temporal codec protocol: payloads in, encrypted with the active key."""
    return await _apply(request, principal, EncryptionCodec.encode, "encode", None)


@router.post("/{namespace}/decode", summary="Decode payloads of a namespace", openapi_extra=_BODY)
async def decode_in(namespace: str, request: Request, principal: CodecPrincipal) -> Response:
    """The same as /decode, for a codec endpoint configured as `.../v1/codec/{namespace}`."""
    return await _apply(request, principal, EncryptionCodec.decode, "decode", namespace)


@router.post("/{namespace}/encode", summary="Encode payloads of a namespace", openapi_extra=_BODY)
async def encode_in(namespace: str, request: Request, principal: CodecPrincipal) -> Response:
    """The same as /encode, for a codec endpoint configured as `.../v1/codec/{namespace}`."""
    return await _apply(request, principal, EncryptionCodec.encode, "encode", namespace)


@router.post("/session", status_code=204, summary="Sign the Web UI in to the codec endpoint")
async def open_session(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require(*CODEC_USERS))],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """Sets the HttpOnly codec cookie from this request's bearer token, for the Temporal Web UI
    (which cannot send a bearer token of ours). Run it from /docs in the same browser."""
    assert credentials is not None  # require() admitted a bearer token
    https = _https(request)
    response.set_cookie(
        CODEC_COOKIE,
        credentials.credentials,
        max_age=CODEC_SESSION_SECONDS,
        path=CODEC_PREFIX,
        httponly=True,
        secure=https,
        samesite="none" if https else "lax",
    )
    log.info("codec session opened for %s", principal.subject)


@router.delete("/session", status_code=204, summary="Sign the Web UI out of the codec endpoint")
async def close_session(request: Request, response: Response) -> None:
    """Removes the codec cookie (open: anyone may forget their own session)."""
    https = _https(request)
    response.delete_cookie(
        CODEC_COOKIE,
        path=CODEC_PREFIX,
        httponly=True,
        secure=https,
        samesite="none" if https else "lax",
    )


def _https(request: Request) -> bool:
    """Over https the cookie is `SameSite=None; Secure`, so the UI's origin may send it
    cross-site. Over plain http (development) browsers refuse SameSite=None without Secure:
    Lax, which still reaches the API from the UI on the same host (localhost:8233 and
    localhost:8000 are the same site; ports do not count)."""
    settings: Settings = request.app.state.jan_samvad.settings
    return urlsplit(settings.public_base_url).scheme == "https"


def install(app: FastAPI, settings: Settings) -> None:
    """The codec routes, their CORS, and the settings' codec (None: encryption off)."""
    app.state.payload_codec = codec(settings)
    app.include_router(router)
    app.add_middleware(CodecCors, origins=settings.codec_cors_origin_list)
