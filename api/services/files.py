"""A case's files: the store, scanner and limits of the app, taking a file in (scanned, cleaned,
recorded, told to the case), serving one with the headers that keep a browser from running it,
and making one public; and the files as the pages show them (a case's page, the number of
files per listed case, the citizen's own evidence and the public report, their events). Called by
`/v1/complaints/{year}/{sequence}/attachments` and by the pages (the desk, the report form, a
case's page, the lists, the citizen's page).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from api.attachment_events import tell_case
from api.deps import AppState
from api.errors import ApiError
from api.services.scope import case_filter, get_case
from core import attachments, audit
from core.attachments import Infected, Limits, Refused
from core.blobs import BlobStore, blob_key
from core.db import read_session
from core.models import Attachment, Complaint, TimelineEvent, utcnow
from core.permissions import (
    INTEGRATIONS,
    PUBLISHERS,
    UPLOADERS,
)
from core.scanner import ClamdScanner, ScannerUnavailable
from schemas.attachments import (
    IMAGE_TYPES,
    AttachmentEventKind,
    AttachmentKind,
    AttachmentLinks,
    AttachmentPublic,
    AttachmentSource,
    MediaType,
    PublicationBody,
)
from schemas.auth import Principal, Role

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


def services(request: Request, app: AppState) -> Services:
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


def attachment_of(
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


async def publish(
    app: AppState,
    session: Session,
    principal: Principal,
    year: int,
    sequence: int,
    attachment_id: str,
    body: PublicationBody,
) -> AttachmentPublic:
    """The file `attachment_id` of the case made public (the citizen's page, Open311's
    media_url) or private again by `principal`, told to the case's timeline."""
    case, attachment = attachment_of(session, principal, PUBLISHERS, year, sequence, attachment_id)
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


@dataclass(frozen=True)
class FileView:
    """A file as the case page shows it."""

    id: str
    kind: str
    media_type: str
    size: int
    filename: str | None
    public: bool
    uploaded_by: str
    url: str
    thumbnail: str | None


def _live_files(engine: Engine, year: int, sequence: int, *, limit: int) -> list[Attachment]:
    """The case's live files (the oldest first, at most `limit`); none for no such case."""
    with read_session(engine) as session:
        case = session.exec(
            select(Complaint).where(Complaint.year == year, Complaint.sequence == sequence)
        ).first()
        if case is None or case.id is None:
            return []
        rows, _count = attachments.of_case(session, case.id, limit=limit)
        return list(rows)


def case_files(engine: Engine, year: int, sequence: int) -> list[FileView]:
    """The case's live files for its page (the reader may read the case: the page checked)."""
    rows = _live_files(engine, year, sequence, limit=100)
    base = f"/cases/{year}/{sequence}/attachments"
    return [
        FileView(
            id=r.id,
            kind=r.kind,
            media_type=r.media_type,
            size=r.size,
            filename=r.filename,
            public=r.public,
            uploaded_by=r.uploaded_by,
            url=f"{base}/{r.id}",
            thumbnail=f"{base}/{r.id}?variant=thumbnail" if r.thumbnail_sha256 else None,
        )
        for r in rows
    ]


def counts_by_number(engine: Engine, numbers: list[str]) -> dict[str, int]:
    """Live files per case by registration number, for a list's marker (inbox, agenda,
    minutes): one query for the page."""
    pairs = []
    for number in numbers:
        sequence, _, year = number.partition("/")
        if sequence.isdigit() and year.isdigit():
            pairs.append((int(year), int(sequence)))
    if not pairs:
        return {}
    with read_session(engine) as session:
        ids = session.exec(
            select(Complaint.id, Complaint.registration_number).where(
                sa.tuple_(col(Complaint.year), col(Complaint.sequence)).in_(pairs)
            )
        ).all()
        by_id = {cid: number for cid, number in ids if cid is not None}
        counted = attachments.counts(session, list(by_id))
    return {by_id[cid]: n for cid, n in counted.items()}


@dataclass(frozen=True)
class CitizenFile:
    """A file as the citizen's page shows it: their own evidence (named, opened only once
    public) and the officer's report once public."""

    kind: str
    media_type: str
    filename: str | None
    uploaded_at: datetime
    url: str | None  # the public address, when staff made it public


def citizen_files(engine: Engine, year: int, sequence: int) -> list[CitizenFile]:
    rows = _live_files(engine, year, sequence, limit=50)
    return [
        CitizenFile(
            kind=r.kind,
            media_type=r.media_type,
            filename=r.filename,
            uploaded_at=r.uploaded_at,
            url=f"/v1/attachments/{r.id}" if r.public else None,
        )
        for r in rows
        if r.public or r.kind == AttachmentKind.EVIDENCE.value
    ]


# The citizen's page names the latest file events (a case has at most a few dozen files).
CITIZEN_FILE_EVENTS = 50


@dataclass(frozen=True)
class FileEvent:
    """A file's event as the citizen's page shows it (from the case's timeline)."""

    at: datetime
    event: str
    note: str | None


def citizen_file_events(engine: Engine, year: int, sequence: int) -> list[FileEvent]:
    """The latest file events of the case the citizen should know of (newest first): their
    evidence added, published, made private or removed (with why), their app's photo fetched
    or not; the officer's action-taken report once made public. Never who did it."""
    with read_session(engine) as session:
        rows = session.exec(
            select(TimelineEvent)
            .join(Complaint, col(Complaint.id) == col(TimelineEvent.complaint_id))
            .where(
                Complaint.year == year,
                Complaint.sequence == sequence,
                col(TimelineEvent.event).in_([e.value for e in AttachmentEventKind]),
            )
            .order_by(col(TimelineEvent.seq).desc())
            .limit(CITIZEN_FILE_EVENTS)
        ).all()
    report = f"kind={AttachmentKind.ACTION_TAKEN_REPORT.value}"
    return [
        FileEvent(at=r.at, event=r.event, note=r.note)
        for r in rows
        if report not in (r.note or "") or r.event == AttachmentEventKind.PUBLISHED.value
    ]
