"""`/v1/complaints/{year}/{sequence}/attachments`: the files of a case (docs/attachments.md).

Uploaded as `multipart/form-data` (the body spooled to disk by the guard, never held whole),
scanned, cleaned and stored by `core.attachments.ingest`; listed and served only to those who
may read the case (out of scope: the very 404 of a missing case); served with
`X-Content-Type-Options: nosniff`, a sandboxing CSP and `Content-Disposition: attachment`
(re-encoded images inline). Staff make a file public; an administrator removes one, with a
reason, in the audit trail.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlmodel import col, select

from api.attachment_events import tell_case
from api.auth import require
from api.deps import AppStateDep, SessionDep
from api.errors import ApiError
from api.guard import check_fields
from api.services import files
from api.services.scope import case_filter, current_officer_filter, find_case, get_case
from api.updates import ActionKey, scoped_key
from core import attachments, audit
from core.models import Attachment, utcnow
from core.permissions import (
    CASE_READERS,
    OFFICERS,
    PUBLISHERS,
    REMOVERS,
    UPLOADERS,
)
from schemas.attachments import (
    AttachmentEventKind,
    AttachmentKind,
    AttachmentList,
    AttachmentPublic,
    AttachmentSource,
    DeletionBody,
    MediaType,
    PublicationBody,
)
from schemas.auth import Principal


def _services(request: Request, app: AppStateDep) -> files.Services:
    """The store, the scanner and the limits of this app (`api.services.files.services`)."""
    return files.services(request, app)


ServicesDep = Annotated[files.Services, Depends(_services)]

router = APIRouter(prefix="/v1/complaints", tags=["attachments"])

# The upload path, for the guard's larger, spooled body (api/main.py).
UPLOAD_PATH = r"^/v1/complaints/\d+/\d+/attachments$"
# Multipart framing around the file.
MULTIPART_OVERHEAD = 64 * 1024


@router.post(
    "/{year}/{sequence}/attachments",
    status_code=201,
    response_model=AttachmentPublic,
    responses={
        404: {"description": "No such complaint (or not in the caller's scope)."},
        409: {"description": "Idempotency-Key reused for another file."},
        413: {"description": "Larger than ATTACHMENT_MAX_BYTES, or the case's limits."},
        415: {"description": "Not a JPEG, PNG or WebP photo or a PDF (decided by content)."},
        422: {"description": "A virus (quarantined), a PDF with active content, a bad image."},
        503: {"description": "The virus scanner is unreachable: nothing stored, retry."},
    },
)
async def upload_attachment(
    year: int,
    sequence: int,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP photo, or a PDF.")],
    app: AppStateDep,
    session: SessionDep,
    svc: ServicesDep,
    response: Response,
    principal: Annotated[Principal, Depends(require(*UPLOADERS))],
    kind: Annotated[
        AttachmentKind | None,
        Form(
            description="evidence (default), or action_taken_report: the officer the case is "
            "with, proving what was done."
        ),
    ] = None,
    idempotency_key: ActionKey = None,
) -> AttachmentPublic:
    """Adds a file to the case: scanned for viruses, type decided by content, photos
    re-encoded without EXIF/GPS; private until staff make it public. The same file (or the
    same Idempotency-Key) again answers the first reference."""
    refused = check_fields({"filename": file.filename or "", "kind": str(kind or "")})
    if refused is not None:
        field, message = refused
        raise ApiError(422, f"{field}: {message}", errors=[{"field": field, "message": message}])
    if kind is None:
        kind = AttachmentKind.EVIDENCE
    where = files.uploader_filter(principal)
    if kind is AttachmentKind.ACTION_TAKEN_REPORT:
        if not principal.roles & set(OFFICERS):
            message = "only the officer reporting on the case adds an action-taken report"
            raise ApiError(422, f"kind: {message}", errors=[{"field": "kind", "message": message}])
        # The officer the case is with now, as for the report itself.
        where = sa.and_(case_filter(principal, OFFICERS), current_officer_filter(principal))
    case = find_case(session, year, sequence, where=where)
    session.close()
    attachment, created = await files.take_in(
        app,
        svc,
        case,
        file.file,
        kind=kind,
        source=AttachmentSource.API,
        by=principal.subject,
        filename=file.filename,
        idempotency_key=scoped_key(principal, idempotency_key),
    )
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return files.public_view(case, attachment)


@router.get("/{year}/{sequence}/attachments", response_model=AttachmentList)
def list_attachments(
    year: int,
    sequence: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*CASE_READERS))],
    kind: AttachmentKind | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> AttachmentList:
    """The case's files (oldest first), paged; removed ones are not listed."""
    case = get_case(session, year, sequence, principal, CASE_READERS)
    assert case.id is not None
    rows, count = attachments.of_case(
        session, case.id, kinds=[kind] if kind else [], limit=limit, offset=offset
    )
    return AttachmentList(data=[files.public_view(case, r) for r in rows], count=count)


@router.get(
    "/{year}/{sequence}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {t.value: {} for t in MediaType}, "description": "The file."},
        404: {"description": "No such file on this case (or the case is not in scope)."},
    },
)
def download_attachment(
    year: int,
    sequence: int,
    attachment_id: str,
    session: SessionDep,
    svc: ServicesDep,
    principal: Annotated[Principal, Depends(require(*CASE_READERS))],
    variant: Annotated[str | None, Query(pattern="^thumbnail$")] = None,
) -> Response:
    """The file itself (`variant=thumbnail`: a small JPEG of a photo)."""
    case = get_case(session, year, sequence, principal, CASE_READERS)
    assert case.id is not None
    attachment = attachments.find(session, case.id, attachment_id)
    if attachment is None:
        raise ApiError(404, f"no attachment {attachment_id} on complaint {sequence}/{year}")
    name = f"complaint-{sequence}-{year}-{attachment.id[:8]}"
    return files.serve(svc.store, attachment, name=name, thumbnail=variant == "thumbnail")


@router.post("/{year}/{sequence}/attachments/{attachment_id}/publication")
async def publish_attachment(
    year: int,
    sequence: int,
    attachment_id: str,
    body: PublicationBody,
    app: AppStateDep,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(*PUBLISHERS))],
) -> AttachmentPublic:
    """Makes the file public (the citizen's page, Open311's media_url) or private again:
    staff look first for anyone's personal data in it."""
    return await files.publish(app, session, principal, year, sequence, attachment_id, body)


@router.post("/{year}/{sequence}/attachments/{attachment_id}/deletion", status_code=204)
async def delete_attachment(
    year: int,
    sequence: int,
    attachment_id: str,
    body: DeletionBody,
    app: AppStateDep,
    session: SessionDep,
    svc: ServicesDep,
    principal: Annotated[Principal, Depends(require(*REMOVERS))],
) -> Response:
    """Removes the file (administrators only, with a reason): its reference stays with who,
    when and why; its bytes are deleted from the store."""
    case, attachment = files.attachment_of(
        session, principal, REMOVERS, year, sequence, attachment_id
    )
    session.close()
    await run_in_threadpool(
        lambda: attachments.delete(
            app.engine,
            svc.store,
            attachment.id,
            reason=body.reason,
            by=principal.subject,
            now=utcnow(),
        )
    )
    audit.describe("delete_attachment", reason=body.reason)
    await tell_case(
        app,
        case,
        attachment,
        AttachmentEventKind.REMOVED,
        by=principal.subject,
        reason=str(body.reason.value),
    )
    return Response(status_code=204)


# ---- public files: the citizen's page and Open311's media_url ----------------------------------

public_router = APIRouter(prefix="/v1/attachments", tags=["attachments"])


@public_router.get(
    "/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {t.value: {} for t in MediaType}, "description": "The file."},
        404: {"description": "No such file, or not public."},
    },
)
def public_attachment(
    attachment_id: str,
    session: SessionDep,
    svc: ServicesDep,
    variant: Annotated[str | None, Query(pattern="^thumbnail$")] = None,
) -> Response:
    """A file staff have made public, by its id (no token: the citizen's page, Open311
    clients). A private or removed file answers as one that does not exist."""
    found = session.exec(
        select(Attachment).where(
            Attachment.id == attachment_id[:32],
            col(Attachment.public).is_(True),
            col(Attachment.deleted_at).is_(None),
        )
    ).first()
    if found is None:
        raise ApiError(404, f"no public attachment {attachment_id}")
    return files.serve(
        svc.store,
        found,
        name=f"attachment-{found.id[:8]}",
        thumbnail=variant == "thumbnail",
        cross_origin=True,
    )


def public_url(base_url: str, attachment: Attachment) -> str:
    """Where anyone fetches a public file (Open311's media_url, the citizen's page)."""
    return f"{base_url.rstrip('/')}/v1/attachments/{attachment.id}"
