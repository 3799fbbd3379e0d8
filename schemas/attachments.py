"""Attachments: what the API answers about a file of a case, and the reference that workflows
and the timeline carry (ids, hash, type, size, who, when: never bytes, names or text)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.calendar import IstModel


class MediaType(StrEnum):
    """The types taken, decided by a file's content (core.attachments.sniff)."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    PDF = "application/pdf"
    # A citizen's spoken remark on the verification call (the IVR's recording, fetched from
    # Twilio): taken from that path only, never as an upload.
    WAV = "audio/wav"

    @property
    def label(self) -> str:
        return {
            "image/jpeg": "JPEG",
            "image/png": "PNG",
            "image/webp": "WebP",
            "audio/wav": "WAV",
        }.get(self.value, "PDF")

    @property
    def extension(self) -> str:
        return {
            "image/jpeg": "jpg",
            "image/png": "png",
            "image/webp": "webp",
            "audio/wav": "wav",
        }.get(self.value, "pdf")


IMAGE_TYPES = frozenset({MediaType.JPEG, MediaType.PNG, MediaType.WEBP})


class AttachmentKind(StrEnum):
    EVIDENCE = "evidence"  # the citizen's: brought to the desk, sent through an app
    ACTION_TAKEN_REPORT = "action_taken_report"  # the officer's proof of what was done


class AttachmentSource(StrEnum):
    API = "api"
    DESK = "desk"
    OPEN311 = "open311"
    REPORT = "report"  # the officer's report form
    IVR = "ivr"  # the citizen's spoken remark, recorded on the verification call


class DeletionReason(StrEnum):
    """Why an administrator removed a file (the audit trail records the reason's code)."""

    PERSONAL_DATA = "personal_data"  # it shows someone's private data
    WRONG_CASE = "wrong_case"
    UNLAWFUL = "unlawful"  # obscene, defamatory or otherwise unlawful content
    DUPLICATE = "duplicate"
    RETENTION = "retention"  # the retention period passed (ATTACHMENT_RETENTION_DAYS)


class AttachmentRef(BaseModel):
    """A file as workflows and the timeline know it: a reference, never its content."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(max_length=32)
    sha256: str = Field(max_length=64)
    media_type: MediaType
    size: int
    kind: AttachmentKind
    uploaded_by: str
    uploaded_at: datetime


class AttachmentLinks(BaseModel):
    content: str
    thumbnail: str | None = None


class AttachmentPublic(IstModel):
    """A file of a case as staff see it (`uploaded_at` in IST, as every time the API writes)."""

    id: str
    sha256: str
    media_type: MediaType
    size: int
    kind: AttachmentKind
    source: AttachmentSource
    filename: str | None
    width: int | None
    height: int | None
    public: bool
    uploaded_by: str
    uploaded_at: datetime
    links: AttachmentLinks


class AttachmentList(BaseModel):
    data: list[AttachmentPublic]
    count: int


class PublicationBody(BaseModel):
    """Staff make a file public (the citizen's page, Open311) or private again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    public: bool


class DeletionBody(BaseModel):
    """An administrator removes a file from a case, saying why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: DeletionReason


class MediaFetch(BaseModel):
    """An Open311 `media_url` to fetch for a case (MediaFetchWorkflow's input)."""

    model_config = ConfigDict(frozen=True)

    complaint_id: int
    registration_number: str
    url: str = Field(max_length=2000)
    uploaded_by: str
    # The case's workflow, told what became of the fetch (its timeline); None in inputs
    # written before it was (their fetches tell no one).
    case_workflow_id: str | None = None


class MediaFetchResult(BaseModel):
    """The reference of the fetched file, or why it was not taken (never the bytes)."""

    model_config = ConfigDict(frozen=True)

    attachment: AttachmentRef | None = None
    refused: str | None = None


class RetentionResult(BaseModel):
    """How many files a retention run removed."""

    model_config = ConfigDict(frozen=True)

    removed: int = 0


class AttachmentEventKind(StrEnum):
    """What happened to a file of the case: the timeline's event names."""

    ADDED = "attachment_added"
    PUBLISHED = "attachment_published"
    UNPUBLISHED = "attachment_unpublished"
    REMOVED = "attachment_removed"
    MEDIA_FETCHED = "media_url_fetched"
    MEDIA_REFUSED = "media_url_refused"


class AttachmentEvent(BaseModel):
    """A file's event, signalled to the case's workflow (the timeline's one writer): a
    reference only (id, the hash's first characters, type, size, kind; who; a reason code),
    never the file's name (a citizen's name may be in it), its bytes or any text."""

    model_config = ConfigDict(frozen=True)

    event: AttachmentEventKind
    by: str = Field(max_length=200)
    attachment_id: str | None = Field(default=None, max_length=32)
    sha256_prefix: str | None = Field(default=None, max_length=12)
    media_type: MediaType | None = None
    size: int | None = None
    kind: AttachmentKind | None = None
    # A code: a deletion's reason (DeletionBody), a refused fetch's HTTP-like status.
    reason: str | None = Field(default=None, max_length=40, pattern=r"^[a-z0-9_]+$")

    @property
    def note(self) -> str:
        """The timeline's note: `key=value` pairs of codes and numbers (api/pages/words.py
        puts them in the reader's words)."""
        parts = {
            "kind": self.kind.value if self.kind else None,
            "type": self.media_type.value if self.media_type else None,
            "size": str(self.size) if self.size is not None else None,
            "id": self.attachment_id[:8] if self.attachment_id else None,
            "sha256": self.sha256_prefix,
            "reason": self.reason,
        }
        return " ".join(f"{k}={v}" for k, v in parts.items() if v)


def attachment_event(
    event: AttachmentEventKind,
    ref: AttachmentRef,
    *,
    by: str | None = None,
    reason: str | None = None,
) -> AttachmentEvent:
    """The event of one file, from its reference."""
    return AttachmentEvent(
        event=event,
        by=by or ref.uploaded_by,
        attachment_id=ref.id,
        sha256_prefix=ref.sha256[:12],
        media_type=ref.media_type,
        size=ref.size,
        kind=ref.kind,
        reason=reason,
    )
