"""For engineers: the Temporal Web UI with decoded payloads.

The UI decodes through the API's codec endpoint (`/v1/codec`), which needs one of our tokens;
the UI cannot send one, so "Open the Temporal UI (decoded)" sets the codec's own HttpOnly
cookie (the same as `POST /v1/codec/session`) from this page's session and opens the UI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.auth import CODEC_COOKIE, CODEC_PREFIX, CODEC_SESSION_SECONDS, SESSION_COOKIE, signed_in
from api.pages.web import PAGE_POLICY, CheckedForm, https, redirect, render, settings_of
from core.permissions import CODEC_USERS
from core.stack import codec_endpoint, temporal_ui_url
from schemas.auth import Principal

router = APIRouter(include_in_schema=False, tags=["pages"])

Engineer = Annotated[Principal, Depends(signed_in(*CODEC_USERS))]


@router.get("/engineer")
async def engineer(request: Request, principal: Engineer) -> Response:
    settings = settings_of(request)
    ui = temporal_ui_url(settings)
    response = render(
        request,
        "engineer.html",
        {"ui_url": ui, "codec_url": codec_endpoint(settings)},
        principal=principal,
    )
    # The form's answer redirects to the UI: browsers hold a form's redirect to form-action.
    response.headers["Content-Security-Policy"] = PAGE_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {ui}"
    )
    return response


@router.post("/engineer/temporal-ui")
async def open_temporal_ui(request: Request, principal: Engineer, form: CheckedForm) -> Response:
    """Signs the browser in to the codec endpoint, then opens the UI (at a workflow if the
    form names one)."""
    settings = settings_of(request)
    target = temporal_ui_url(settings) + f"/namespaces/{settings.temporal_namespace}/workflows"
    workflow_id = form.get("workflow_id")
    if isinstance(workflow_id, str) and workflow_id.replace("-", "").isalnum():
        target += f"/{workflow_id}"
    response = redirect(target)
    secure = https(settings)
    response.set_cookie(
        CODEC_COOKIE,
        request.cookies[SESSION_COOKIE],
        max_age=CODEC_SESSION_SECONDS,
        path=CODEC_PREFIX,
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
    )
    return response
