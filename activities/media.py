"""Fetching an Open311 `media_url` into a case's attachments (MediaFetchWorkflow's activity),
and the citizen's spoken remark on the verification call (RecordingFetchWorkflow's).

The URL is the client's, so it is treated as hostile: http or https only; every address its
host resolves to, and the address actually connected to (after each redirect, at most 3),
must be a public one (loopback, private, link-local, reserved and multicast addresses are
refused, unless MEDIA_FETCH_ALLOWED_NETWORKS names them); the whole fetch within
MEDIA_FETCH_TIMEOUT_SECONDS and ATTACHMENT_MAX_BYTES, streamed to a temporary file. Then the
file goes the way of every upload (`core.attachments.ingest`: scanned, typed by content,
cleaned) and is recorded once per case and URL (a retried activity finds its reference).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy.engine import Engine
from temporalio import activity

from activities.voice import download_recording
from core import attachments, audit
from core.attachments import Infected, Refused
from core.models import utcnow
from core.settings import Settings
from schemas.attachments import (
    AttachmentKind,
    AttachmentRef,
    AttachmentSource,
    MediaFetch,
    MediaFetchResult,
    RetentionResult,
)
from schemas.voice import RecordingFetch

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _bad(message: str) -> Refused:
    return Refused(422, f"media_url {message}", field="media_url")


def allowed_networks(text: str) -> list[IpNetwork]:
    return [ipaddress.ip_network(n.strip(), strict=False) for n in text.split(",") if n.strip()]


def check_address(address: str, allowed: list[IpNetwork]) -> None:
    """Refuses (422) an address that is not a public one, unless an allowed network holds it."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in network for network in allowed):
        return
    if not ip.is_global or ip.is_multicast:
        raise Refused(422, "media_url points to an internal address", field="media_url")


def check_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL; refused (422) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(422, "media_url must be an http or https URL", field="media_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused(422, "media_url has an invalid port", field="media_url") from None
    if parts.username or parts.password:
        raise Refused(422, "media_url must not carry credentials", field="media_url")
    return parts.hostname, port


def download(
    url: str, target: Path, *, max_bytes: int, timeout: float, allowed: list[IpNetwork]
) -> None:
    """Streams `url` into `target` (see the module docstring); `Refused` for what will never
    succeed, httpx errors for what a retry may cure."""
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        host, port = check_url(url)
        try:
            resolved = {
                info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            }
        except socket.gaierror:
            raise Refused(
                422, "media_url names a host that does not resolve", field="media_url"
            ) from None
        for address in resolved:
            check_address(str(address), allowed)
        remaining = max(deadline - time.monotonic(), 0.1)
        with (
            httpx.Client(
                timeout=httpx.Timeout(remaining), follow_redirects=False, trust_env=False
            ) as client,
            client.stream(
                "GET", url, headers={"Accept": "image/jpeg, image/png, image/webp, application/pdf"}
            ) as response,
        ):
            # The address actually connected to: a name that resolved anew (rebinding)
            # cannot lead inside.
            stream = response.extensions.get("network_stream")
            peer = stream.get_extra_info("server_addr") if stream is not None else None
            if peer is None:
                raise Refused(
                    422, "media_url: the connection's address is unknown", field="media_url"
                )
            check_address(str(peer[0]), allowed)
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code != 200:
                raise Refused(
                    422, f"media_url answered HTTP {response.status_code}", field="media_url"
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise Refused(413, f"media_url's file is larger than {max_bytes} bytes")
            size = 0
            with target.open("wb") as out:
                for chunk in response.iter_bytes(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise Refused(413, f"media_url's file is larger than {max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise Refused(422, "media_url took too long", field="media_url")
                    out.write(chunk)
            return
    raise Refused(422, "media_url redirects too many times", field="media_url")


class MediaActivities:
    """The media fetch, with the read model and the attachment store and scanner."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._store = attachments.store_of(settings)
        self._scanner = attachments.scanner_of(settings)
        self._limits = attachments.limits_of(settings)

    @activity.defn
    def fetch_media(self, input: MediaFetch) -> MediaFetchResult:
        """Fetches, checks and records the media of an Open311 request: its reference, or
        why it was refused (not retried). Network and scanner failures are retried."""
        settings = self._settings
        key = (
            "open311-media:"
            + hashlib.sha256(f"{input.complaint_id}:{input.url}".encode()).hexdigest()[:40]
        )
        try:
            with tempfile.TemporaryDirectory(prefix="jan-samvad-media-") as work:
                target = Path(work) / "media"
                download(
                    input.url,
                    target,
                    max_bytes=settings.attachment_max_bytes,
                    timeout=settings.media_fetch_timeout_seconds,
                    allowed=allowed_networks(settings.media_fetch_allowed_networks),
                )
                ref = self._take_in(
                    target,
                    complaint_id=input.complaint_id,
                    source=AttachmentSource.OPEN311,
                    uploaded_by=input.uploaded_by,
                    idempotency_key=key,
                )
        except Refused as refused:
            log.warning("media of %s refused: %s", input.registration_number, refused.message)
            self._audit_refusal(input, refused)
            return MediaFetchResult(refused=f"{refused.status} {refused.message}")
        return MediaFetchResult(attachment=ref)

    @activity.defn
    def fetch_recording(self, input: RecordingFetch) -> MediaFetchResult:
        """Fetches the citizen's spoken remark on the verification call from Twilio
        (activities/voice.py `download_recording`), scans and cleans it like every file, and
        records it on the case once per recording (a retry finds its reference): the
        reference, or why it was refused (not retried). Network, Twilio and scanner failures
        are retried."""
        if not self._settings.twilio_configured:
            return MediaFetchResult(refused="503 no Twilio account configured")
        try:
            with tempfile.TemporaryDirectory(prefix="jan-samvad-recording-") as work:
                target = Path(work) / "recording"
                download_recording(self._settings, input.recording_sid, target)
                ref = self._take_in(
                    target,
                    complaint_id=input.complaint_id,
                    source=AttachmentSource.IVR,
                    uploaded_by="ivr",
                    idempotency_key=f"ivr-recording:{input.recording_sid}",
                    audio=True,
                )
        except Refused as refused:
            log.warning(
                "spoken remark of %s refused: %s", input.registration_number, refused.message
            )
            return MediaFetchResult(refused=f"{refused.status} {refused.message}")
        return MediaFetchResult(attachment=ref)

    def _take_in(
        self,
        path: Path,
        *,
        complaint_id: int,
        source: AttachmentSource,
        uploaded_by: str,
        idempotency_key: str,
        audio: bool = False,
    ) -> AttachmentRef:
        """A fetched file the way of every file (scanned, typed, cleaned, stored), recorded on
        the case as the citizen's evidence once per `idempotency_key`."""
        with path.open("rb") as file:
            stored = attachments.ingest(
                file, store=self._store, scanner=self._scanner, limits=self._limits, audio=audio
            )
        row, _created = attachments.record(
            self._engine,
            complaint_id=complaint_id,
            stored=stored,
            kind=AttachmentKind.EVIDENCE,
            source=source.value,
            uploaded_by=uploaded_by,
            now=utcnow(),
            limits=self._limits,
            idempotency_key=idempotency_key,
        )
        return attachments.reference(row)

    def _audit_refusal(self, input: MediaFetch, refused: Refused) -> None:
        """A refusal is final (not retried): the audit trail says so, on behalf of the
        integration that sent the URL (the URL itself stays out: it may carry anything)."""
        facts: dict[str, object] = {"field": refused.field, "reason": refused.message[:160]}
        if isinstance(refused, Infected):
            facts = {"field": refused.field, "signature": refused.signature[:80]}
        audit.append(
            self._engine,
            audit.worker_entry(
                subject=input.uploaded_by,
                action="media_url_refused",
                complaint=audit.complaint_of_number(input.registration_number),
                status_code=refused.status,
                facts=facts,
                now=utcnow(),
            ),
        )

    @activity.defn
    def expire_attachments(self) -> RetentionResult:
        """Removes the files of cases closed more than ATTACHMENT_RETENTION_DAYS ago (in
        batches; idempotent: a removed file is not removed twice)."""
        removed = attachments.expire(
            self._engine,
            self._store,
            retention_days=self._settings.attachment_retention_days,
            now=utcnow(),
        )
        if removed:
            log.info("retention removed %d attachment files", removed)
        return RetentionResult(removed=removed)
