"""A case's files on the pages: shown on the case's page (thumbnails), served to a signed-in
reader, attached from the case's page (the desk's evidence, the officer's action-taken
report) — through the services the API calls (`api.services.files`): the same scope, checks,
scanner and audit trail."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from api.auth import signed_in
from api.deps import AppState
from api.errors import ApiError
from api.guard import check_fields
from api.pages.web import CheckedForm, PageError, field, gettext_for, redirect
from api.services import files as files_api
from api.services.scope import case_filter, current_officer_filter, find_case, get_case
from core import attachments
from core.db import read_session
from core.models import Attachment
from core.permissions import CASE_READERS, OFFICERS, PUBLISHERS
from schemas.attachments import (
    AttachmentKind,
    AttachmentSource,
    PublicationBody,
)
from schemas.auth import Principal

router = APIRouter(include_in_schema=False, tags=["pages"])

Reader = Annotated[Principal, Depends(signed_in(*CASE_READERS))]
# The page forms that carry files (the guard spools them to disk: api/main.py).
UPLOAD_PATH = r"^(/cases/\d+/\d+/(attachments|report)|/desk/register)$"


def _app(request: Request) -> AppState:
    state: AppState = request.app.state.jan_samvad
    return state


def uploads_of(form: FormData, name: str = "files") -> list[UploadFile]:
    """The files a form carries under `name` (an empty file input sends one nameless part)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def text_problem(form: FormData) -> tuple[str, str] | None:
    """The guard's character check on a multipart form's text fields."""
    return check_fields((k, v) for k, v in form.multi_items() if isinstance(v, str))


async def attach(
    request: Request,
    principal: Principal,
    year: int,
    sequence: int,
    uploads: list[UploadFile],
    *,
    kind: AttachmentKind,
    source: AttachmentSource,
) -> list[Attachment]:
    """Takes each file in as the API's upload does; ApiError (404 out of scope) otherwise."""
    app = _app(request)
    svc = files_api.services(request, app)
    if kind is AttachmentKind.ACTION_TAKEN_REPORT:
        where = sa.and_(case_filter(principal, OFFICERS), current_officer_filter(principal))
    else:
        where = files_api.uploader_filter(principal)
    with read_session(app.engine) as session:
        case = find_case(session, year, sequence, where=where)
    taken = []
    for upload in uploads:
        row, _created = await files_api.take_in(
            app,
            svc,
            case,
            upload.file,
            kind=kind,
            source=source,
            by=principal.subject,
            filename=upload.filename,
            idempotency_key=None,
        )
        taken.append(row)
    return taken


@router.get("/cases/{year}/{sequence}/attachments/{attachment_id}")
async def file_of_case(
    request: Request,
    year: int,
    sequence: int,
    attachment_id: str,
    principal: Reader,
    variant: str | None = None,
) -> Response:
    """A file of the case for a signed-in reader (thumbnails on the case page)."""
    _ = gettext_for(request)
    app = _app(request)
    svc = files_api.services(request, app)

    def load() -> Attachment | None:
        with read_session(app.engine) as session:
            case = get_case(session, year, sequence, principal, CASE_READERS)
            assert case.id is not None
            return attachments.find(session, case.id, attachment_id)

    try:
        found = await run_in_threadpool(load)
    except ApiError:
        found = None
    if found is None:
        raise PageError(404, _("No complaint %(number)s.") % {"number": f"{sequence}/{year}"})
    name = f"complaint-{sequence}-{year}-{found.id[:8]}"
    return files_api.serve(svc.store, found, name=name, thumbnail=variant == "thumbnail")


Publisher = Annotated[Principal, Depends(signed_in(*PUBLISHERS))]


@router.post("/cases/{year}/{sequence}/attachments/{attachment_id}/publication")
async def publish_file(
    request: Request,
    year: int,
    sequence: int,
    attachment_id: str,
    principal: Publisher,
    form: CheckedForm,
) -> Response:
    """Make a file public (the citizen's page, Open311) or private again, from the case page,
    through the service the API's route calls."""
    _ = gettext_for(request)
    app = _app(request)
    with read_session(app.engine) as session:
        try:
            await files_api.publish(
                app,
                session,
                principal,
                year,
                sequence,
                attachment_id,
                PublicationBody(public=field(form, "public") == "true"),
            )
        except ApiError:
            number = f"{sequence}/{year}"
            raise PageError(404, _("No complaint %(number)s.") % {"number": number}) from None
    return redirect(f"/cases/{year}/{sequence}?done=publication#files")
