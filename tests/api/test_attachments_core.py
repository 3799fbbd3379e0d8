"""Taking a file in safely (core/attachments.py) on the folder store and the S3 store (moto's
server), with the real clamd and the shipped EICAR signature, on SQLite and PostgreSQL: type
by content, EICAR quarantined, EXIF/GPS gone, PDFs with JavaScript refused, one blob and one
reference for a file sent twice, limits per file and per case."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import attachments
from core.attachments import Infected, Refused, ingest, limits_of, record, scanner_of, store_of
from core.blobs import BlobStore, FolderStore, blob_key, open_store, quarantine_key
from core.models import Attachment, Complaint, utcnow
from core.scanner import ClamdScanner, ScannerUnavailable
from core.settings import Settings
from harness.attachments import EICAR, large_photo, pdf, photo
from harness.factories import insert_case
from schemas.attachments import AttachmentKind, MediaType


def read_all(store: BlobStore, sha256: str) -> bytes:
    return b"".join(store.read(blob_key(sha256)))


def take(settings: Settings, data: bytes) -> attachments.Stored:
    return ingest(
        io.BytesIO(data),
        store=store_of(settings),
        scanner=scanner_of(settings),
        limits=limits_of(settings),
    )


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_a_photo_is_re_encoded_without_exif_or_gps(
    attachment_settings: Settings, kind: str
) -> None:
    source = photo(kind)
    with Image.open(io.BytesIO(source)) as original:
        assert original.getexif().get_ifd(0x8825)  # the camera's GPS position is there
    stored = take(attachment_settings, source)
    assert stored.media_type is MediaType(f"image/{kind.lower()}")
    data = read_all(store_of(attachment_settings), stored.sha256)
    assert data != source
    with Image.open(io.BytesIO(data)) as cleaned:
        assert cleaned.format == kind
        exif = cleaned.getexif()
        assert dict(exif) == {} and not exif.get_ifd(0x8825)
        assert "exif" not in cleaned.info and "icc_profile" not in cleaned.info
        # The orientation tag (rotate 90°) is applied to the pixels, then dropped.
        assert cleaned.size == (480, 640) == (stored.width, stored.height)
    assert b"PhoneMaker" not in data
    thumb = read_all(store_of(attachment_settings), stored.thumbnail_sha256 or "")
    with Image.open(io.BytesIO(thumb)) as small:
        assert small.format == "JPEG" and max(small.size) <= 320


def test_eicar_is_refused_and_quarantined(attachment_settings: Settings) -> None:
    store = store_of(attachment_settings)
    with pytest.raises(Infected) as refused:
        take(attachment_settings, EICAR)
    assert "Eicar" in refused.value.signature and refused.value.status == 422
    assert store.exists(quarantine_key(refused.value.sha256))
    assert not store.exists(blob_key(refused.value.sha256))
    # Hidden inside a valid-looking JPEG: scanned before anything else trusts it.
    disguised = photo("JPEG")[:-2] + EICAR + b"\xff\xd9"
    with pytest.raises(Infected):
        take(attachment_settings, disguised)


def test_the_type_is_decided_by_content(attachment_settings: Settings) -> None:
    for data in (
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"MZ\x90\x00" + b"\x00" * 100,  # a Windows program
        b"GIF89a" + b"\x00" * 40,
    ):
        with pytest.raises(Refused) as refused:
            take(attachment_settings, data)
        assert refused.value.status == 415, data[:10]
    # A PNG's signature followed by garbage: the right type, but not an image.
    with pytest.raises(Refused) as broken:
        take(attachment_settings, b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    assert broken.value.status == 422 and "PNG" in broken.value.message


def test_pdfs_with_active_content_are_refused_and_plain_ones_kept(
    attachment_settings: Settings,
) -> None:
    for data, what in (
        (pdf(javascript=True), "JavaScript"),
        (pdf(open_action=True), "OpenAction"),
    ):
        with pytest.raises(Refused) as refused:
            take(attachment_settings, data)
        assert refused.value.status == 422 and what in refused.value.message
    # An obfuscated name (#xx escapes) is the same name.
    # An obfuscated name (#xx escapes) is the same name: our own check sees it (and clamd's
    # heuristics refuse the obfuscation itself).
    hidden = pdf().replace(b"/Type /Catalog", b"/Type /Catalog /J#61vaScript 1 0 R", 1)
    with pytest.raises(Refused):
        take(attachment_settings, hidden)
    path = attachment_settings.data_dir / "hidden.pdf"
    path.write_bytes(hidden)
    with pytest.raises(Refused, match="JavaScript"):
        attachments.check_pdf(path)
    plain = pdf()
    stored = take(attachment_settings, plain)
    assert stored.media_type is MediaType.PDF
    assert read_all(store_of(attachment_settings), stored.sha256) == plain


def test_a_file_larger_than_the_limit_is_refused_unread(attachment_settings: Settings) -> None:
    attachment_settings.attachment_max_bytes = 100_000
    with pytest.raises(Refused) as refused:
        take(attachment_settings, large_photo(0.5))
    assert refused.value.status == 413


def test_no_scanner_no_file(settings: Settings, tmp_path: Path) -> None:
    settings.clamd_address = str(tmp_path / "nothing.sock")
    with pytest.raises(ScannerUnavailable):
        take(settings, photo("JPEG"))
    assert not (tmp_path / "attachments" / "blobs").exists()


def test_one_blob_and_one_reference_for_a_file_sent_twice(
    attachment_settings: Settings, any_engine: Engine
) -> None:
    case = insert_case(any_engine, district="Ranchi")
    assert case.id is not None
    limits = limits_of(attachment_settings)
    source = photo("JPEG", seed=3)
    first = take(attachment_settings, source)
    again = take(attachment_settings, source)
    assert first == again  # re-encoding is deterministic: the same blob

    def keep(stored: attachments.Stored, key: str | None) -> tuple[Attachment, bool]:
        assert case.id is not None
        return record(
            any_engine,
            complaint_id=case.id,
            stored=stored,
            kind=AttachmentKind.EVIDENCE,
            source="api",
            uploaded_by="tc-asha",
            now=utcnow(),
            limits=limits,
            filename="../../etc/IMG_0001.jpg",
            idempotency_key=key,
        )

    row, created = keep(first, "tc-asha:k1")
    replay, created_again = keep(again, "tc-asha:k1")
    unkeyed, created_unkeyed = keep(again, None)
    assert created and not created_again and not created_unkeyed
    assert row.id == replay.id == unkeyed.id
    assert row.filename == "IMG_0001.jpg"
    other = take(attachment_settings, photo("PNG", seed=4))
    with pytest.raises(Refused) as conflict:
        keep(other, "tc-asha:k1")
    assert conflict.value.status == 409 and conflict.value.field == "Idempotency-Key"
    with Session(any_engine) as session:
        rows = session.exec(select(Attachment)).all()
    assert [r.sha256 for r in rows] == [first.sha256]

    # Limits per case: count and bytes.
    limits_one = attachments.Limits(
        max_bytes=limits.max_bytes,
        max_pixels=limits.max_pixels,
        max_case_bytes=10**9,
        max_per_case=1,
    )
    with pytest.raises(Refused) as full:
        record(
            any_engine,
            complaint_id=case.id,
            stored=other,
            kind=AttachmentKind.EVIDENCE,
            source="api",
            uploaded_by="tc-asha",
            now=utcnow(),
            limits=limits_one,
        )
    assert full.value.status == 413 and "at most 1" in full.value.message


def test_deletion_keeps_the_reference_and_removes_the_blob(
    attachment_settings: Settings, any_engine: Engine
) -> None:
    case = insert_case(any_engine, district="Ranchi")
    assert case.id is not None
    store = store_of(attachment_settings)
    stored = take(attachment_settings, photo("JPEG", seed=9))
    row, _ = record(
        any_engine,
        complaint_id=case.id,
        stored=stored,
        kind=AttachmentKind.EVIDENCE,
        source="api",
        uploaded_by="tc",
        now=utcnow(),
        limits=limits_of(attachment_settings),
    )
    from schemas.attachments import DeletionReason

    attachments.delete(
        any_engine, store, row.id, reason=DeletionReason.PERSONAL_DATA, by="admin", now=utcnow()
    )
    assert not store.exists(blob_key(stored.sha256))
    assert not store.exists(blob_key(stored.thumbnail_sha256 or ""))
    with Session(any_engine) as session:
        kept = session.get(Attachment, row.id)
    assert kept is not None and kept.deleted_by == "admin"
    assert kept.deletion_reason == "personal_data"


def test_the_folder_store_keeps_keys_inside_its_root(tmp_path: Path) -> None:
    store = open_store("", data_dir=tmp_path)
    assert isinstance(store, FolderStore) and store.root == tmp_path / "attachments"
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd")


def test_the_scanner_passes_a_clean_file(clamd_address: str) -> None:
    scanner = ClamdScanner(clamd_address)
    assert scanner.ping()
    assert scanner.scan(io.BytesIO(b"a plain letter")).clean


def test_files_of_cases_closed_past_the_retention_period_are_removed(
    attachment_settings: Settings, any_engine: Engine
) -> None:
    from datetime import timedelta

    from temporalio.testing import ActivityEnvironment

    from activities.media import MediaActivities

    old = insert_case(any_engine, district="Ranchi")
    recent = insert_case(any_engine, district="Ranchi")
    still_open = insert_case(any_engine, district="Ranchi")
    now = utcnow()
    with Session(any_engine) as session:
        for case, closed in ((old, now - timedelta(days=1100)), (recent, now - timedelta(days=3))):
            closing = session.get(Complaint, case.id)
            assert closing is not None
            closing.closed_at = closed
            session.add(closing)
        session.commit()
    kept: dict[int, str] = {}
    for seed, case in enumerate((old, recent, still_open)):
        assert case.id is not None
        stored = take(attachment_settings, photo("PNG", seed=40 + seed))
        row, _ = record(
            any_engine,
            complaint_id=case.id,
            stored=stored,
            kind=AttachmentKind.EVIDENCE,
            source="api",
            uploaded_by="tc",
            now=now,
            limits=limits_of(attachment_settings),
        )
        kept[case.id] = row.sha256
    attachment_settings.attachment_retention_days = 1095
    activities = MediaActivities(any_engine, attachment_settings)
    result = ActivityEnvironment().run(activities.expire_attachments)
    assert result.removed == 1
    store = store_of(attachment_settings)
    assert old.id is not None and recent.id is not None and still_open.id is not None
    assert not store.exists(blob_key(kept[old.id]))
    assert store.exists(blob_key(kept[recent.id])) and store.exists(blob_key(kept[still_open.id]))
    with Session(any_engine) as session:
        gone = session.exec(select(Attachment).where(Attachment.complaint_id == old.id)).one()
    assert gone.deletion_reason == "retention" and gone.deleted_by == "retention"
    again = ActivityEnvironment().run(activities.expire_attachments)
    assert again.removed == 0
    attachment_settings.attachment_retention_days = 0  # kept for ever
    assert (ActivityEnvironment().run(activities.expire_attachments)).removed == 0
