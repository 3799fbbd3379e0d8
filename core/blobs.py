"""Where attachment bytes live: content-addressed blobs (named by their SHA-256) in a store.

- `FolderStore`: a folder (DATA_DIR/attachments by default), `blobs/ab/cd/<sha256>`.
- `S3Store`: an S3-compatible bucket (ATTACHMENT_STORE=s3://bucket/prefix, with
  ATTACHMENT_S3_ENDPOINT_URL for a non-AWS service; credentials from the usual AWS_* variables
  or the instance's role), through boto3.

Blobs are written from a file on disk and read back in chunks: a store never holds a file
whole in memory. A blob is immutable: writing a hash that exists is a no-op, which is what
makes a retried upload store one blob. Infected files go to `quarantine/<sha256>`, a
separate prefix no route serves. The read model holds the references
(core.models.Attachment); Temporal and the timeline hold only those.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

CHUNK = 256 * 1024


def blob_key(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def quarantine_key(sha256: str) -> str:
    return f"quarantine/{sha256}"


class BlobStore(Protocol):
    def exists(self, key: str) -> bool: ...

    def put_file(self, key: str, path: Path, media_type: str) -> None:
        """Stores the file at `path` under `key` (a no-op when `key` exists)."""
        ...

    def read(self, key: str) -> Iterator[bytes]:
        """The blob's bytes in chunks; FileNotFoundError when there is none."""
        ...

    def delete(self, key: str) -> None: ...


class FolderStore:
    """Blobs in a folder of the local disk (development, a single-machine deployment)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key outside the store: {key!r}")
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, path: Path, media_type: str) -> None:
        target = self._path(key)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.copyfile(path, partial)
        os.replace(partial, target)  # atomic: a reader never sees half a blob

    def read(self, key: str) -> Iterator[bytes]:
        handle = self._path(key).open("rb")  # FileNotFoundError before the first chunk

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

        return chunks()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """Blobs in an S3-compatible bucket (production): `s3://bucket/prefix`."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None) -> None:
        import boto3  # imported here: a folder store needs no AWS library loaded

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.client("s3", endpoint_url=endpoint_url or None)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def put_file(self, key: str, path: Path, media_type: str) -> None:
        if self.exists(key):
            return
        # upload_file streams from disk (multipart above its threshold).
        self.client.upload_file(
            str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": media_type}
        )

    def read(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from err
            raise
        body = answer["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return chunks()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


def open_store(location: str, *, data_dir: Path, endpoint_url: str = "") -> BlobStore:
    """The store ATTACHMENT_STORE names: empty for DATA_DIR/attachments, a folder path, or
    `s3://bucket/prefix`."""
    if not location:
        return FolderStore(data_dir / "attachments")
    if location.startswith("s3://"):
        parts = urlsplit(location)
        if not parts.netloc:
            raise ValueError("ATTACHMENT_STORE: s3://bucket/prefix needs a bucket")
        return S3Store(parts.netloc, parts.path, endpoint_url=endpoint_url)
    return FolderStore(Path(location))
