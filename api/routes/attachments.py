"""`/v1/complaints/{year}/{sequence}/attachments`: the files of a case (docs/attachments.md).

Uploaded as `multipart/form-data` (the body spooled to disk by the guard, never held whole),
scanned, cleaned and stored by `core.attachments.ingest`; listed and served only to those who
may read the case (out of scope: the very 404 of a missing case); served with
`X-Content-Type-Options: nosniff`, a sandboxing CSP and `Content-Disposition: attachment`
(re-encoded images inline). Staff make a file public; an administrator removes one, with a
reason, in the audit trail.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from api.attachment_events import tell_case
from api.auth import require
from api.deps import AppState, AppStateDep, SessionDep
from api.errors import ApiError
from api.guard import check_fields
from api.services.scope import case_filter, current_officer_filter, find_case, get_case
from api.updates import ActionKey, scoped_key
from core import attachments, audit
from core.attachments import Infected, Limits, Refused
from core.blobs import BlobStore, blob_key
from core.models import Attachment, Complaint, utcnow
from core.permissions import (
    CASE_READERS,
    INTEGRATIONS,
    OFFICERS,
    PUBLISHERS,
    REMOVERS,
    UPLOADERS,
)
from core.scanner import ClamdScanner, ScannerUnavailable
from schemas.attachments import (
    IMAGE_TYPES,
    AttachmentEventKind,
    AttachmentKind,
    AttachmentLinks,
    AttachmentList,
    AttachmentPublic,
    AttachmentSource,
    DeletionBody,
    MediaType,
    PublicationBody,
)
from schemas.auth import Principal, Role

router = APIRouter(prefix="/v1/complaints", tags=["attachments"])

# The upload path, for the guard's larger, spooled body (api/main.py).
UPLOAD_PATH = r"^/v1/complaints/\d+/\d+/attachments$"
# Multipart framing around the file.
MULTIPART_OVERHEAD = 64 * 1024
# Images decoded and re-encoded at once per API process (each a few tens of MB of pixels).
CLEANING_AT_ONCE = 2
# The sandbox a served file runs in, were a browser ever to render it as a document.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@dataclass
class Services:
    store: BlobStore
    scanner: ClamdScanner
    limits: Limits
    # Decoding and re-encoding images takes memory and CPU: a few at a time per process,
    # in threads of their own (the scan waits on clamd in the request's thread).
    cleaning: ThreadPoolExecutor


def services(request: Request, app: AppStateDep) -> Services:
    """The store, the scanner and the limits of this app (opened once, on first use)."""
    found: Services | None = getattr(request.app.state, "attachment_services", None)
    if found is None:
        found = Services(
            store=attachments.store_of(app.settings),
            scanner=attachments.scanner_of(app.settings),
            limits=attachments.limits_of(app.settings),
            cleaning=ThreadPoolExecutor(CLEANING_AT_ONCE, thread_name_prefix="clean"),
        )
        request.app.state.attachment_services = found
    return found


ServicesDep = Annotated[Services, Depends(services)]


def links(
    row: Complaint, attachment: Attachment, *, base: str = "/v1/complaints"
) -> AttachmentLinks:
    content = f"{base}/{row.year}/{row.sequence}/attachments/{attachment.id}"
    thumbnail = f"{content}?variant=thumbnail" if attachment.thumbnail_sha256 else None
    return AttachmentLinks(content=content, thumbnail=thumbnail)


def public_view(row: Complaint, attachment: Attachment) -> AttachmentPublic:
    return AttachmentPublic(
        id=attachment.id,
        sha256=attachment.sha256,
        media_type=MediaType(attachment.media_type),
        size=attachment.size,
        kind=AttachmentKind(attachment.kind),
        source=AttachmentSource(attachment.source),
        filename=attachment.filename,
        width=attachment.width,
        height=attachment.height,
        public=attachment.public,
        uploaded_by=attachment.uploaded_by,
        uploaded_at=attachment.uploaded_at,
        links=links(row, attachment),
    )


def uploader_filter(principal: Principal) -> ColumnElement[bool]:
    """The cases a caller may add files to: those they read as staff, and for an integration
    (a portal, an app) the cases it registered itself."""
    clauses = [case_filter(principal, UPLOADERS)]
    if principal.has(*INTEGRATIONS):
        clauses.append(col(Complaint.registered_by) == principal.subject)
    return sa.or_(*clauses)


def refused_answer(refused: Refused) -> ApiError:
    return ApiError(
        refused.status,
        f"{refused.field}: {refused.message}",
        errors=[{"field": refused.field, "message": refused.message}],
    )


async def take_in(
    app: AppState,
    svc: Services,
    case: Complaint,
    upload: Any,
    *,
    kind: AttachmentKind,
    source: AttachmentSource,
    by: str,
    filename: str | None,
    idempotency_key: str | None,
) -> tuple[Attachment, bool]:
    """Ingests and records one file of `case` (shared by the API, the desk and the report
    form): (reference, created); refusals as `ApiError`, audited."""
    assert case.id is not None
    try:
        stored = await run_in_threadpool(
            lambda: attachments.ingest(
                upload,
                store=svc.store,
                scanner=svc.scanner,
                limits=svc.limits,
                cleaner=svc.cleaning,
            )
        )
        attachment, created = await run_in_threadpool(
            lambda: attachments.record(
                app.engine,
                complaint_id=case.id or 0,
                stored=stored,
                kind=kind,
                source=source.value,
                uploaded_by=by,
                now=utcnow(),
                limits=svc.limits,
                filename=filename,
                idempotency_key=idempotency_key,
            )
        )
    except Infected as infected:
        audit.describe("attachment_quarantined", signature=infected.signature[:80])
        raise refused_answer(infected) from None
    except Refused as refused:
        raise refused_answer(refused) from None
    except ScannerUnavailable:
        raise ApiError(
            503, "the virus scanner is not reachable: nothing was stored; try again shortly"
        ) from None
    audit.describe(
        "attach",
        kind=kind,
        media_type=attachment.media_type,
        size=attachment.size,
        source=source,
    )
    if created:
        await tell_case(app, case, attachment, AttachmentEventKind.ADDED, by=by)
    return attachment, created


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
    where = uploader_filter(principal)
    if kind is AttachmentKind.ACTION_TAKEN_REPORT:
        if not principal.roles & set(OFFICERS):
            message = "only the officer reporting on the case adds an action-taken report"
            raise ApiError(422, f"kind: {message}", errors=[{"field": "kind", "message": message}])
        # The officer the case is with now, as for the report itself.
        where = sa.and_(case_filter(principal, OFFICERS), current_officer_filter(principal))
    case = find_case(session, year, sequence, where=where)
    session.close()
    attachment, created = await take_in(
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
    return public_view(case, attachment)


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
    return AttachmentList(data=[public_view(case, r) for r in rows], count=count)


def serve(
    store: BlobStore,
    attachment: Attachment,
    *,
    name: str,
    thumbnail: bool = False,
    cross_origin: bool = False,
) -> Response:
    """The file's bytes, streamed from the store, with the headers that keep a browser from
    running anything in it."""
    sha = attachment.thumbnail_sha256 if thumbnail else attachment.sha256
    if not sha:
        raise ApiError(404, "this file has no thumbnail")
    media_type = MediaType.JPEG if thumbnail else MediaType(attachment.media_type)
    try:
        chunks = store.read(blob_key(sha))
    except FileNotFoundError:
        raise ApiError(404, "the file is no longer stored") from None
    # Images are served inline only because they were decoded and re-encoded on the way in.
    disposition = "inline" if media_type in IMAGE_TYPES else "attachment"
    return StreamingResponse(
        chunks,
        media_type=media_type.value,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}.{media_type.extension}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_CSP,
            # A public file may be shown by another site (an Open311 app); a case's, not.
            "Cross-Origin-Resource-Policy": "cross-origin" if cross_origin else "same-origin",
            "Cache-Control": "private, no-store",
            **({} if thumbnail else {"Content-Length": str(attachment.size)}),
        },
    )


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
    return serve(svc.store, attachment, name=name, thumbnail=variant == "thumbnail")


def _attachment_of(
    session: Session,
    principal: Principal,
    roles: tuple[Role, ...],
    year: int,
    sequence: int,
    attachment_id: str,
) -> tuple[Complaint, Attachment]:
    case = get_case(session, year, sequence, principal, roles)
    assert case.id is not None
    attachment = attachments.find(session, case.id, attachment_id)
    if attachment is None:
        raise ApiError(404, f"no attachment {attachment_id} on complaint {sequence}/{year}")
    return case, attachment


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
    case, attachment = _attachment_of(session, principal, PUBLISHERS, year, sequence, attachment_id)
    session.close()
    await run_in_threadpool(
        attachments.set_public,
        app.engine,
        attachment.id,
        public=body.public,
        by=principal.subject,
        now=utcnow(),
    )
    audit.describe("publish_attachment" if body.public else "unpublish_attachment")
    if attachment.public != body.public:
        event = AttachmentEventKind.PUBLISHED if body.public else AttachmentEventKind.UNPUBLISHED
        await tell_case(app, case, attachment, event, by=principal.subject)
    attachment.public = body.public
    return public_view(case, attachment)


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
    case, attachment = _attachment_of(session, principal, REMOVERS, year, sequence, attachment_id)
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
    return serve(
        svc.store,
        found,
        name=f"attachment-{found.id[:8]}",
        thumbnail=variant == "thumbnail",
        cross_origin=True,
    )


def public_url(base_url: str, attachment: Attachment) -> str:
    """Where anyone fetches a public file (Open311's media_url, the citizen's page)."""
    return f"{base_url.rstrip('/')}/v1/attachments/{attachment.id}"
