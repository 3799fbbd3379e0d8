"""Citizen data encrypted inside Temporal: a payload codec (AES-256-GCM) with a key ring.

Every workflow and activity payload (inputs, results, signals, updates, queries, memos) is
encrypted before it leaves the process, so the Temporal server, its database and whoever reads
histories in the Web UI or the CLI see only ciphertext. The plaintext is the original payload
serialized whole (its metadata too); the new payload says `encoding: binary/encrypted` and
names the key in `encryption-key-id`. Each payload gets a fresh 96-bit nonce, stored in front
of the ciphertext.

Keys rotate without downtime: the ring holds every key that may still be needed to decrypt,
and encrypts with the active one (PAYLOAD_ENCRYPTION_KEY_ID). Payloads without the encryption
metadata decode unchanged, so histories written before encryption was switched on (and the
committed histories in tests/histories) keep replaying.

    python -m core.codec generate-key [KEY_ID]   # prints KEY_ID:BASE64 for the settings
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import os
import secrets
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    EncodingPayloadConverter,
    PayloadCodec,
)

from core.settings import Environment, Settings

log = logging.getLogger(__name__)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12  # 96 bits, the size GCM is defined for
KEY_BYTES = 32  # AES-256
DEV_KEY_FILE = "payload-keys"


class PayloadKeyError(ValueError):
    """The key configuration is unusable, or a payload names a key the ring does not hold."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload failed authentication: tampered with, truncated, or a wrong key."""


def parse_keys(text: str) -> dict[str, bytes]:
    """`id:base64key` entries separated by commas or new lines (blank lines and `#` comments
    ignored), in order: the first is the default active key."""
    keys: dict[str, bytes] = {}
    for raw in text.replace(",", "\n").splitlines():
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise PayloadKeyError(f"payload key entry {key_id!r}: expected id:base64key")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as err:
            raise PayloadKeyError(f"payload key {key_id!r}: not valid base64") from err
        if len(key) != KEY_BYTES:
            raise PayloadKeyError(
                f"payload key {key_id!r}: {len(key)} bytes, AES-256 needs {KEY_BYTES}"
            )
        if key_id in keys and keys[key_id] != key:
            raise PayloadKeyError(f"payload key {key_id!r} is given twice with different keys")
        keys[key_id] = key
    return keys


def generate_key(key_id: str | None = None) -> str:
    """A new `id:base64key` entry (default id: `k` and today's date, UTC)."""
    key_id = key_id or f"k{datetime.now(UTC):%Y%m%d}"
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


@dataclasses.dataclass(frozen=True)
class KeyRing:
    """The keys that may decrypt, and the one that encrypts."""

    keys: Mapping[str, bytes]
    active_id: str

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            known = ", ".join(self.keys) or "none"
            raise PayloadKeyError(
                f"PAYLOAD_ENCRYPTION_KEY_ID={self.active_id!r} is not among the keys ({known})"
            )

    @classmethod
    def of(cls, keys: Mapping[str, bytes], active_id: str | None = None) -> KeyRing:
        if not keys:
            raise PayloadKeyError("no payload encryption key configured")
        return cls(keys=dict(keys), active_id=active_id or next(iter(keys)))


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads; decrypts with whichever key a payload names."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__()
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.ring.active_id].encrypt(
            nonce, payload.SerializeToString(), None
        )
        return Payload(
            metadata={
                "encoding": ENCODING,
                KEY_ID_METADATA: self.ring.active_id.encode(),
            },
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was on: passes through
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"payload encrypted with key {key_id!r}, which is not configured "
                "(PAYLOAD_ENCRYPTION_KEYS must keep every key still used by histories)"
            )
        data = payload.data
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
        except InvalidTag as err:
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r} failed authentication"
            ) from err
        original = Payload()
        original.ParseFromString(plain)
        return original


def ensure_development_key(data_dir: Path) -> Path:
    """DATA_DIR/payload-keys, created once (mode 0600) with a fresh key; safe when several
    processes of `make run` start at once (the file is written aside and linked in)."""
    path = data_dir / DEV_KEY_FILE
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    scratch = data_dir / f".{DEV_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("# Development payload encryption key (make run); never use it in production.\n")
        out.write(generate_key("dev1") + "\n")
    try:
        os.link(scratch, path)  # fails if another process won the race: its key is used
        log.warning("payload encryption: generated a development key in %s", path)
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return path


def key_ring(settings: Settings) -> KeyRing | None:
    """The configured key ring: PAYLOAD_ENCRYPTION_KEYS and the file PAYLOAD_ENCRYPTION_KEYS_FILE
    (merged, in that order); under ENVIRONMENT=development with neither, a development key
    generated once into DATA_DIR. None: encryption off (tests that do not ask for it)."""
    file = settings.payload_encryption_keys_file
    if (
        not settings.payload_encryption_keys
        and file is None
        and settings.environment is Environment.DEVELOPMENT
    ):
        file = ensure_development_key(settings.data_dir)
    keys = parse_keys(settings.payload_encryption_keys)
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as err:
            raise PayloadKeyError(f"PAYLOAD_ENCRYPTION_KEYS_FILE {file}: {err.strerror}") from err
        for key_id, key in parse_keys(text).items():
            if keys.setdefault(key_id, key) != key:
                raise PayloadKeyError(f"payload key {key_id!r} differs between the settings")
    if not keys:
        return None
    return KeyRing.of(keys, settings.payload_encryption_key_id or None)


def codec(settings: Settings) -> EncryptionCodec | None:
    """The settings' payload codec; None when no key is configured."""
    ring = key_ring(settings)
    return EncryptionCodec(ring) if ring is not None else None


@cache
def _pydantic_encodings() -> tuple[EncodingPayloadConverter, ...]:
    """The SDK's pydantic encodings (null, binary, JSON by pydantic, protobuf), built once."""
    return tuple(PydanticPayloadConverter().converters.values())


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """The SDK's `PydanticPayloadConverter` (the same encodings, the same bytes), whose
    encodings are built once per process and shared by every instance.

    The worker builds a data converter, and with it a payload converter, for each activation,
    each completion and each payload sequence under an activity's serialization context
    (temporalio 1.35, `_CommandAwareDataConverter`). A `PydanticPayloadConverter` builds a
    pydantic-core serializer and an empty TypeAdapter cache each time, so every type was
    adapted afresh on each use: about 5% of a worker's CPU while cases replay from their
    histories. The shared encodings keep no per-use state (the serializer is immutable, the
    TypeAdapter cache a thread-safe `functools.lru_cache`)."""

    def __init__(self) -> None:
        super().__init__(*_pydantic_encodings())


# The SDK's pydantic data converter, with the shared encodings (what `data_converter` builds on).
pydantic_converter = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic data converter, encrypting when keys are configured: what every client,
    worker and replayer of a deployment must use. Failure messages and stack traces are
    encrypted too (they may quote a remark or a provider's error naming a phone number)."""
    payload_codec = codec(settings)
    if payload_codec is None:
        return pydantic_converter
    return dataclasses.replace(
        pydantic_converter,
        payload_codec=payload_codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def main(argv: Iterable[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "generate-key" or len(args) > 2:
        raise SystemExit("usage: python -m core.codec generate-key [KEY_ID]")
    print(generate_key(args[1] if len(args) == 2 else None))


if __name__ == "__main__":
    main()
