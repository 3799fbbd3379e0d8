"""Attachments of a case: a file taken in safely, its reference recorded, served, deleted.

Taking a file in (`ingest`), from a file on disk (an upload spooled by the server, a fetched
media_url), never from bytes held whole in memory:

1. size: at most ATTACHMENT_MAX_BYTES (413 otherwise);
2. scanned by clamd (core/scanner.py): infected → copied to the store's quarantine, refused
   (422, `Infected`) and audited by the caller; no scanner → 503, nothing stored;
3. type by content, never by name or declared type: JPEG, PNG, WebP or PDF (415 otherwise);
   a WAV recording only where the caller takes audio (the IVR's spoken remark);
4. cleaned: images decoded and re-encoded by Pillow (EXIF, GPS, comments and profiles gone,
   orientation applied, at most ATTACHMENT_MAX_PIXELS), with a JPEG thumbnail; PDFs with
   active or hidden content (JavaScript, OpenAction, additional actions, launch actions,
   embedded files, forms that submit, XFA) or encryption refused (422); a WAV rewritten with
   its samples alone (no metadata chunks);
5. stored by the SHA-256 of the cleaned bytes (core/blobs.py): the same file twice is one blob.

The reference (`record`) is a row of `core.models.Attachment`: one per file per case and per
Idempotency-Key, so a retried upload finds the first. Limits per case (ATTACHMENT_MAX_PER_CASE,
ATTACHMENT_MAX_CASE_BYTES) are checked there. Workflows and the timeline carry only
`AttachmentRef` (schemas/attachments.py).
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import uuid
import wave
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core.blobs import BlobStore, blob_key, open_store, quarantine_key
from core.db import read_session, write_session
from core.models import Attachment, Complaint, TimelineEvent
from core.scanner import ClamdScanner
from core.settings import Settings
from schemas.attachments import (
    IMAGE_TYPES,
    AttachmentKind,
    AttachmentRef,
    DeletionReason,
    MediaType,
)

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
THUMBNAIL_SIZE = (320, 320)


class Refused(Exception):
    """A file not taken in: `status` (413, 415, 422, 409), the form field, and why."""

    def __init__(self, status: int, message: str, *, field: str = "file") -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


class Infected(Refused):
    def __init__(self, signature: str, sha256: str) -> None:
        super().__init__(422, f"the file carries a virus ({signature}) and was quarantined")
        self.signature = signature
        self.sha256 = sha256


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_case_bytes: int
    max_per_case: int


@dataclass(frozen=True)
class Stored:
    """A cleaned file in the store."""

    sha256: str
    media_type: MediaType
    size: int
    width: int | None = None
    height: int | None = None
    thumbnail_sha256: str | None = None


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_bytes=settings.attachment_max_bytes,
        max_pixels=settings.attachment_max_pixels,
        max_case_bytes=settings.attachment_max_case_bytes,
        max_per_case=settings.attachment_max_per_case,
    )


def store_of(settings: Settings) -> BlobStore:
    """The store ATTACHMENT_STORE names (core/blobs.py)."""
    return open_store(
        settings.attachment_store,
        data_dir=settings.data_dir,
        endpoint_url=settings.attachment_s3_endpoint_url,
    )


def scanner_of(settings: Settings) -> ClamdScanner:
    return ClamdScanner(settings.effective_clamd_address)


# ---- type by content ------------------------------------------------------------------------


def sniff(head: bytes) -> MediaType | None:
    """The type the first bytes of a file declare, or None for a type not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    if head.startswith(b"%PDF-"):
        return MediaType.PDF
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MediaType.WAV
    return None


def clean_wav(source: Path, target: Path) -> None:
    """A new WAV of the same PCM samples and nothing else (a recording's LIST / INFO chunks
    and any other chunk are left behind). Refused (422) when it is not PCM WAV."""
    try:
        with wave.open(str(source), "rb") as read:
            params = read.getparams()
            with wave.open(str(target), "wb") as write:
                write.setparams(params)
                while frames := read.readframes(65536):
                    write.writeframes(frames)
    except (wave.Error, EOFError) as err:
        raise Refused(422, "the recording is not a valid PCM WAV file") from err


# ---- cleaning -------------------------------------------------------------------------------

_PIL_FORMAT = {MediaType.JPEG: "JPEG", MediaType.PNG: "PNG", MediaType.WEBP: "WEBP"}


def clean_image(
    source: Path, target: Path, media_type: MediaType, *, max_pixels: int
) -> tuple[int, int]:
    """Decodes the image and writes a new one of the same type with no metadata at all (EXIF
    with its GPS position, XMP, comments, ICC profiles), its EXIF orientation applied to the
    pixels; (width, height). Refused (422) when it does not decode or is too large."""
    try:
        with Image.open(source) as opened:
            if opened.format != _PIL_FORMAT[media_type]:
                raise Refused(422, f"the file is not a valid {media_type.label} image")
            width, height = opened.size
            if width * height > max_pixels:
                raise Refused(
                    422, f"the image has {width}×{height} pixels; at most {max_pixels} are taken"
                )
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise Refused(422, f"the file is not a valid {media_type.label} image") from err
    except Image.DecompressionBombError as err:
        raise Refused(422, f"the image is too large: {err}") from err
    image.info.clear()  # nothing of the source's metadata may travel with the pixels
    options: dict[str, object] = {}
    if media_type is MediaType.JPEG:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        options = {"quality": 85}
    elif media_type is MediaType.WEBP:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        options = {"quality": 85}
    elif image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")
    image.save(target, format=_PIL_FORMAT[media_type], **options)
    return image.size


def thumbnail(source: Path, target: Path) -> None:
    """A small JPEG of a cleaned image, for the case page."""
    with Image.open(source) as image:
        image.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at a reduced scale
        small = image.convert("RGB")
        small.thumbnail(THUMBNAIL_SIZE)
        small.save(target, format="JPEG", quality=75)


# Names of PDF keys and actions that run or hide something. pypdf decodes #xx escapes in
# names and object streams, so an obfuscated /J#61vaScript is still seen.
_ACTIVE_KEYS = {
    "/JavaScript": "JavaScript",
    "/JS": "JavaScript",
    "/OpenAction": "an action run on opening (OpenAction)",
    "/AA": "actions run on events (AA)",
    "/Launch": "a launch action",
    "/EmbeddedFiles": "embedded files",
    "/EmbeddedFile": "embedded files",
    "/RichMedia": "rich media",
    "/XFA": "an XFA form",
}
_ACTIVE_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "a launch action",
    "/SubmitForm": "a form that submits",
    "/ImportData": "a form that imports data",
    "/GoToE": "embedded files",
}
# The same names in the raw bytes, #xx escapes included: a belt to pypdf's braces, for
# objects its parser skips (a damaged cross-reference table).
_RAW_ACTIVE = re.compile(
    rb"/(?:J(?:#4[1-9a-fA-F]|#5[0-9aA]|[A-Za-z])*S(?:cript)?\b|OpenAction|Launch|EmbeddedFiles?"
    rb"|RichMedia|XFA|AA\b)"
)


def check_pdf(path: Path) -> None:
    """Refuses (422) a PDF that is encrypted, does not parse, or holds active or hidden
    content, naming what was found."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    found = _raw_active(path)
    if found is not None:
        raise Refused(422, f"the PDF holds {found}; send it without (print it to a new PDF)")
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            raise Refused(422, "the PDF is encrypted; send it without a password")
        seen: set[int] = set()
        pending: list[object] = [reader.trailer]
        while pending:
            item = pending.pop()
            if isinstance(item, IndirectObject):
                if item.idnum in seen:
                    continue
                seen.add(item.idnum)
                item = item.get_object()
            if isinstance(item, DictionaryObject):
                for key, value in item.items():
                    if key in _ACTIVE_KEYS:
                        raise Refused(422, f"the PDF holds {_ACTIVE_KEYS[key]}; send it without")
                    if key == "/S" and str(value) in _ACTIVE_ACTIONS:
                        raise Refused(
                            422, f"the PDF holds {_ACTIVE_ACTIONS[str(value)]}; send it without"
                        )
                    pending.append(value)
            elif isinstance(item, ArrayObject):
                pending.extend(item)
        if len(reader.pages) < 1:
            raise Refused(422, "the PDF has no page")
    except Refused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
        raise Refused(422, "the file is not a readable PDF") from err


def _unescape(match: re.Match[bytes]) -> bytes:
    return bytes.fromhex(match[1].decode())


def _raw_active(path: Path) -> str | None:
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            match = _RAW_ACTIVE.search(tail + chunk)
            if match:
                name = re.sub(rb"#([0-9a-fA-F]{2})", _unescape, match[0])
                return _ACTIVE_KEYS.get(name.decode("latin-1"), "active content")
            tail = chunk[-32:]
    return None


# ---- taking a file in ----------------------------------------------------------------------


def spool(source: BinaryIO, target: Path, *, max_bytes: int) -> str:
    """Copies `source` to `target` in chunks; its SHA-256. Refused (413) past `max_bytes`."""
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise Refused(413, f"the file is larger than {max_bytes} bytes")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise Refused(422, "the file is empty")
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def ingest(
    source: BinaryIO,
    *,
    store: BlobStore,
    scanner: ClamdScanner,
    limits: Limits,
    cleaner: Executor | None = None,
    audio: bool = False,
) -> Stored:
    """Takes a file in (see the module docstring): the cleaned file's blob, or `Refused`
    (`Infected` for a virus, after quarantine); `ScannerUnavailable` when clamd is not there.
    Blocking: call it from a worker thread. The decoding and re-encoding (the memory- and
    CPU-heavy part) runs on `cleaner` when given: a pool of a few threads, so a process
    holds a few images' pixels at a time, in a few threads' memory; the scan, which waits
    on clamd, runs in the caller's thread. `audio`: a WAV recording is taken too."""
    with tempfile.TemporaryDirectory(prefix="jan-samvad-upload-") as work:
        original = Path(work) / "original"
        original_sha = spool(source, original, max_bytes=limits.max_bytes)
        # Scanned first: a virus is quarantined whatever type it claims to be.
        with original.open("rb") as handle:
            verdict = scanner.scan(handle)
        if not verdict.clean:
            signature = verdict.signature or "unknown"
            store.put_file(quarantine_key(original_sha), original, "application/octet-stream")
            log.warning("attachment quarantined: %s (sha256 %s)", signature, original_sha)
            raise Infected(signature, original_sha)
        with original.open("rb") as handle:
            media_type = sniff(handle.read(16))
        if media_type is MediaType.WAV and not audio:
            media_type = None
        if media_type is None:
            raise Refused(415, "only JPEG, PNG and WebP photos and PDF documents are taken")
        thumb = Path(work) / "thumbnail"
        cleaned = original if media_type is MediaType.PDF else Path(work) / "cleaned"

        def clean() -> tuple[int, int] | None:
            if media_type is MediaType.PDF:
                check_pdf(original)
                return None
            if media_type is MediaType.WAV:
                clean_wav(original, cleaned)
                return None
            size_px = clean_image(original, cleaned, media_type, max_pixels=limits.max_pixels)
            thumbnail(cleaned, thumb)
            return size_px

        size_px = clean() if cleaner is None else cleaner.submit(clean).result()
        sha = file_sha256(cleaned)
        size = cleaned.stat().st_size
        if size > limits.max_bytes:  # a re-encoding larger than its source (rare)
            raise Refused(413, f"the file is larger than {limits.max_bytes} bytes")
        thumb_sha = None
        if media_type in IMAGE_TYPES:
            thumb_sha = file_sha256(thumb)
            store.put_file(blob_key(thumb_sha), thumb, MediaType.JPEG.value)
        store.put_file(blob_key(sha), cleaned, media_type.value)
        return Stored(
            sha256=sha,
            media_type=media_type,
            size=size,
            width=size_px[0] if size_px else None,
            height=size_px[1] if size_px else None,
            thumbnail_sha256=thumb_sha,
        )


# ---- references ----------------------------------------------------------------------------


def reference(attachment: Attachment) -> AttachmentRef:
    """The reference workflows and the timeline carry of a file's row."""
    return AttachmentRef(
        id=attachment.id,
        sha256=attachment.sha256,
        media_type=MediaType(attachment.media_type),
        size=attachment.size,
        kind=AttachmentKind(attachment.kind),
        uploaded_by=attachment.uploaded_by,
        uploaded_at=attachment.uploaded_at,
    )


def safe_filename(name: str | None) -> str | None:
    """A display name: the last path part, printable, at most 120 characters, or None."""
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[^\w.\- ()]+", "_", base, flags=re.UNICODE).strip(" ._")
    return base[:120] or None


def record(
    engine: Engine,
    *,
    complaint_id: int,
    stored: Stored,
    kind: AttachmentKind,
    source: str,
    uploaded_by: str,
    now: datetime,
    limits: Limits,
    filename: str | None = None,
    idempotency_key: str | None = None,
    _retried: bool = False,
) -> tuple[Attachment, bool]:
    """The reference of `stored` on the case: (row, created). The same file on the same case,
    or the same Idempotency-Key with the same file, answers the first row; the key with another
    file is refused (409); past the case's limits, refused (413)."""
    with write_session(engine) as session:
        if idempotency_key is not None:
            keyed = session.exec(
                select(Attachment).where(Attachment.idempotency_key == idempotency_key)
            ).first()
            if keyed is not None:
                if keyed.sha256 != stored.sha256 or keyed.complaint_id != complaint_id:
                    raise Refused(
                        409,
                        "Idempotency-Key was already used for another file; use a new key",
                        field="Idempotency-Key",
                    )
                return keyed, False
        same = session.exec(
            select(Attachment).where(
                Attachment.complaint_id == complaint_id, Attachment.sha256 == stored.sha256
            )
        ).first()
        if same is not None:
            if same.deleted_at is not None:
                raise Refused(409, "this file was removed from the case by an administrator")
            return same, False
        count, total = session.exec(
            select(func.count(), func.coalesce(func.sum(Attachment.size), 0)).where(
                Attachment.complaint_id == complaint_id, col(Attachment.deleted_at).is_(None)
            )
        ).one()
        if count >= limits.max_per_case:
            raise Refused(413, f"the case already has {count} files; at most {limits.max_per_case}")
        if total + stored.size > limits.max_case_bytes:
            raise Refused(413, f"the case's files would pass {limits.max_case_bytes} bytes in all")
        row = Attachment(
            id=uuid.uuid4().hex,
            complaint_id=complaint_id,
            sha256=stored.sha256,
            media_type=stored.media_type.value,
            size=stored.size,
            kind=kind.value,
            source=source,
            filename=safe_filename(filename),
            width=stored.width,
            height=stored.height,
            thumbnail_sha256=stored.thumbnail_sha256,
            uploaded_by=uploaded_by,
            uploaded_at=now,
            idempotency_key=idempotency_key,
        )
        session.add(row)
        try:
            session.commit()
        except sa.exc.IntegrityError:
            # The same file or key recorded by a concurrent request: answer that one.
            session.rollback()
            if _retried:
                raise
            return record(
                engine,
                complaint_id=complaint_id,
                stored=stored,
                kind=kind,
                source=source,
                uploaded_by=uploaded_by,
                now=now,
                limits=limits,
                filename=filename,
                idempotency_key=idempotency_key,
                _retried=True,
            )
        session.refresh(row)
        return row, True


def of_case(
    session: Session,
    complaint_id: int,
    *,
    public_only: bool = False,
    kinds: Iterable[AttachmentKind] = (),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Attachment], int]:
    """The live (not deleted) attachments of a case, oldest first, a page and the count."""
    query = select(Attachment).where(
        Attachment.complaint_id == complaint_id, col(Attachment.deleted_at).is_(None)
    )
    if public_only:
        query = query.where(col(Attachment.public).is_(True))
    wanted = [k.value for k in kinds]
    if wanted:
        query = query.where(col(Attachment.kind).in_(wanted))
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Attachment.uploaded_at), col(Attachment.id)).offset(offset).limit(limit)
    ).all()
    return list(rows), count


def counts(session: Session, complaint_ids: Sequence[int]) -> dict[int, int]:
    """Live attachments per case, for lists (the inbox, an agenda, the minutes)."""
    if not complaint_ids:
        return {}
    rows = session.exec(
        select(Attachment.complaint_id, func.count())
        .where(col(Attachment.complaint_id).in_(list(complaint_ids)))
        .where(col(Attachment.deleted_at).is_(None))
        .group_by(col(Attachment.complaint_id))
    ).all()
    return {complaint_id: count for complaint_id, count in rows}


def proof_count(session: Session, complaint_id: int) -> int:
    """The officer's action-taken report files on the case since its last report (a reopened
    or returned case needs new proof)."""
    last_report = session.exec(
        select(func.max(TimelineEvent.at)).where(
            TimelineEvent.complaint_id == complaint_id, TimelineEvent.event == "report_received"
        )
    ).one()
    query = select(func.count()).where(
        Attachment.complaint_id == complaint_id,
        Attachment.kind == AttachmentKind.ACTION_TAKEN_REPORT.value,
        col(Attachment.deleted_at).is_(None),
    )
    if last_report is not None:
        query = query.where(col(Attachment.uploaded_at) > last_report)
    return session.exec(query).one()


def find(session: Session, complaint_id: int, attachment_id: str) -> Attachment | None:
    if len(attachment_id) > 32:
        return None
    row = session.exec(
        select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.complaint_id == complaint_id,
            col(Attachment.deleted_at).is_(None),
        )
    ).first()
    return row


def set_public(engine: Engine, attachment_id: str, *, public: bool, by: str, now: datetime) -> None:
    with write_session(engine) as session:
        row = session.get(Attachment, attachment_id)
        if row is None:
            return
        row.public = public
        row.published_by = by if public else None
        row.published_at = now if public else None
        session.add(row)
        session.commit()


def delete(
    engine: Engine,
    store: BlobStore,
    attachment_id: str,
    *,
    reason: DeletionReason,
    by: str,
    now: datetime,
) -> None:
    """Removes the file from the case: the row stays (who, when, why), the blob goes unless
    another live reference (another case) holds the same file."""
    with write_session(engine) as session:
        row = session.get(Attachment, attachment_id)
        if row is None or row.deleted_at is not None:
            return
        row.deleted_at, row.deleted_by, row.deletion_reason = now, by, reason.value
        row.public = False
        session.add(row)
        session.commit()
        hashes = [h for h in (row.sha256, row.thumbnail_sha256) if h]
    for sha in hashes:
        with read_session(engine) as session:
            in_use = session.exec(
                select(func.count()).where(
                    col(Attachment.deleted_at).is_(None),
                    sa.or_(col(Attachment.sha256) == sha, col(Attachment.thumbnail_sha256) == sha),
                )
            ).one()
        if not in_use:
            store.delete(blob_key(sha))


def expire(engine: Engine, store: BlobStore, *, retention_days: int, now: datetime) -> int:
    """Removes the files of cases closed more than `retention_days` ago (0: none); how many."""
    if retention_days <= 0:
        return 0
    cutoff = now - timedelta(days=retention_days)
    with read_session(engine) as session:
        ids = session.exec(
            select(Attachment.id)
            .join(Complaint, col(Complaint.id) == col(Attachment.complaint_id))
            .where(col(Attachment.deleted_at).is_(None), col(Complaint.closed_at) < cutoff)
            .limit(10_000)
        ).all()
    for attachment_id in ids:
        delete(
            engine,
            store,
            attachment_id,
            reason=DeletionReason.RETENTION,
            by="retention",
            now=now,
        )
    return len(ids)


def copy_blob(store: BlobStore, sha256: str, target: BinaryIO) -> None:
    """Writes a blob to `target` (tests, exports)."""
    for chunk in store.read(blob_key(sha256)):
        target.write(chunk)
