"""Turning failures into clear HTTP answers, in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from schemas.actions import SET_BY_API, SET_BY_API_MESSAGE
from schemas.i18n import SOURCE_LANGUAGE, offered_languages
from schemas.refusals import Refused, english, is_finished, translated


class ApiError(Exception):
    def __init__(self, status_code: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.extra = extra


def require_future(field: str, value: datetime | None) -> None:
    """422 naming `field` when a time that must lie ahead (a new deadline) does not."""
    if value is not None and value <= datetime.now(UTC):
        message = f"must be in the future (given {value.isoformat()})"
        raise ApiError(422, f"{field}: {message}", errors=[{"field": field, "message": message}])


def _message(error: Any) -> str:
    """Pydantic's message without its internal prefixes ("Value error, ...")."""
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    loc = tuple(error.get("loc") or ())
    if (
        error["type"] == "extra_forbidden"
        and len(loc) == 2
        and loc[0] == "body"
        and loc[1] in SET_BY_API
    ):
        # Who acted comes from the token: a client that still sends it is told so.
        message = SET_BY_API_MESSAGE
    if error["type"] == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        message = f"the body is not valid JSON ({reason})" if reason else "not valid JSON"
    return message


# The shape every 422 of this API has, published in the OpenAPI document (FastAPI's default
# describes its own, which this API never sends).
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ValidationErrorAnswer",
    "type": "object",
    "required": ["detail", "errors"],
    "properties": {
        "detail": {"type": "string", "description": "Every problem, as `field: message`."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "The field, dotted (`citizen.phone`), or `body`.",
                    },
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def publish_validation_shape(app: FastAPI) -> None:
    """Make the OpenAPI document describe the 422 this API really answers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            components = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in components:
                components["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
                components.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def workflow_error(err: Exception) -> ApiError:
    """The API's answer when a workflow refused an update or could not be reached."""
    if isinstance(err, WorkflowUpdateFailedError):
        cause: BaseException | None = err.cause
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = cause.__cause__
        if isinstance(cause, ApplicationError):
            refused = Refused.of(cause)
            if refused is not None:
                return refusal(refused[0], **refused[1])
            return ApiError(409, cause.message)
        return ApiError(409, str(err))
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.NOT_FOUND or is_finished(err):
            return refusal("finished")
        if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            return unanswered()
        return ApiError(
            503,
            f"workflow service unavailable ({err.message}): the action was not applied; "
            "retry shortly",
            headers=RETRY_AFTER,
        )
    return ApiError(
        503,
        f"workflow service unavailable ({err}): the action was not applied; retry shortly",
        headers=RETRY_AFTER,
    )


def refusal(key: str, **params: Any) -> ApiError:
    """409 for the refusal `key` of `schemas.refusals`: `detail` in English, `detail_<code>`
    in each other language the centre offers (`detail_hi`), `reason` the key (for programs)."""
    return refused(409, key, **params)


def refused(http_status: int, key: str, /, **params: Any) -> ApiError:
    """`http_status` for the refusal `key`, worded like `refusal` (`params` may hold `status`,
    a case status the refusal names)."""
    return ApiError(http_status, english(key, params), **localised_details(key, params), reason=key)


def localised_details(key: str, params: dict[str, Any]) -> dict[str, str]:
    """`detail_<code>`: the refusal `key` in each language offered (LANGUAGES) but English."""
    return {
        f"detail_{code}": translated(key, code, params)
        for code in offered_languages()
        if code != SOURCE_LANGUAGE
    }


RETRY_AFTER = {"Retry-After": "5"}


def unanswered() -> ApiError:
    """The workflow service took the action but did not answer within the API's budget."""
    return ApiError(
        503,
        "the workflow service did not answer in time: the action may have been applied; "
        "retry with the same Idempotency-Key to apply it once and get its answer",
        headers=RETRY_AFTER,
    )


def install(app: FastAPI) -> None:
    publish_validation_shape(app)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, err: ApiError) -> JSONResponse:
        extra = dict(err.extra)
        headers = extra.pop("headers", None)
        if err.status_code == 422 and "errors" not in extra:
            # Every 422 has the shape of a validation error; ours are written "field: message".
            field, _sep, message = err.detail.partition(": ")
            extra["errors"] = [{"field": field if message else "body", "message": message or field}]
        return JSONResponse(
            {"detail": err.detail, **extra}, status_code=err.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, err: RequestValidationError) -> JSONResponse:
        errors = [
            {
                # Invalid JSON's location is a character offset, not a field.
                "field": "body" if e["type"] == "json_invalid" else _field(tuple(e["loc"])),
                "message": _message(e),
                "type": e["type"],
            }
            for e in err.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(
            {"detail": f"invalid request: {summary}", "errors": errors}, status_code=422
        )
