"""Small factories for test data (no fixture files)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_BASE: dict[str, Any] = {
    "kind": "complaint",
    "channel": "call_centre",
    "citizen": {
        "name": "Ramesh Mahto",
        "phone": "9876543210",
        "address": "Village Barwadih, Block Kanke",
        "district": "Ranchi",
        "pincode": "834006",
        "language": "hi",
    },
    "category": "sanitation",
    "department": None,
    "description": "गाँव में कुछ लोगों को शौचालय मिला, मुझे अभी तक नहीं मिला।",
    "urgent": False,
    "wishes_to_meet_cm": False,
}


def complaint_body(**overrides: Any) -> dict[str, Any]:
    """A valid complaint body; `citizen__phone="..."` overrides a citizen field."""
    body = copy.deepcopy(_BASE)
    for key, value in overrides.items():
        if key.startswith("citizen__"):
            body["citizen"][key.removeprefix("citizen__")] = value
        else:
            body[key] = value
    return body


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], *, within: float = 20.0
) -> T:
    """Poll `probe` until `check` holds: waiting for asynchronous work, never for timers."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
        await asyncio.sleep(0.1)
