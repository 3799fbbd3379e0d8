"""A case's files on the pages: shown on the case's page (thumbnails), served to a signed-in
reader, attached from the case's page (the desk's evidence, the officer's action-taken
report) — through the services the API calls (`api.services.files`): the same scope, checks,
scanner and audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlmodel import col, select
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
from core.models import Attachment, Complaint, TimelineEvent
from core.permissions import CASE_READERS, OFFICERS, PUBLISHERS
from schemas.attachments import (
    AttachmentEventKind,
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


def case_files(engine: Engine, year: int, sequence: int) -> list[FileView]:
    """The case's live files for its page (the reader may read the case: the page checked)."""
    with read_session(engine) as session:
        case = session.exec(
            select(Complaint).where(Complaint.year == year, Complaint.sequence == sequence)
        ).first()
        if case is None or case.id is None:
            return []
        rows, _count = attachments.of_case(session, case.id, limit=100)
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
    with read_session(engine) as session:
        case = session.exec(
            select(Complaint).where(Complaint.year == year, Complaint.sequence == sequence)
        ).first()
        if case is None or case.id is None:
            return []
        rows, _count = attachments.of_case(session, case.id, limit=50)
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
