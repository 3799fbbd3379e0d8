"""The API's health answer (`/healthz`): the API, its database and its Temporal connection."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    api: str
    database: str
    temporal: str
