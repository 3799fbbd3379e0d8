"""The audit trail as the API shows it (stored by core/audit.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from schemas.calendar import IstModel


class AuditEntryPublic(IstModel):
    id: int
    at: datetime = Field(description="When the request was answered (IST).")
    subject: str | None = Field(
        description="User or client name; 'twilio' for signed webhooks; null without a token."
    )
    roles: list[str]
    token_id: str | None = Field(description="Which of the subject's tokens was used.")
    client_address: str | None
    method: str
    route: str = Field(
        description="The route template, e.g. /v1/complaints/{year}/{sequence}/report."
    )
    registration_number: str | None = Field(description="The complaint concerned, e.g. 20983/2018.")
    summary: str = Field(description="What changed: the action and its non-personal facts.")
    status_code: int
    outcome: str = Field(
        description="succeeded, replayed, unauthenticated, refused, rejected or failed."
    )


class AuditPage(BaseModel):
    data: list[AuditEntryPublic]
    count: int = Field(description="How many entries the filters select in all (every page).")
    next_before_id: int | None = Field(
        description="Pass as before_id for the next (older) page; null on the last page."
    )
