"""What staff read besides the cases: their work lists (verification calls due, citizens the
SMS gateway could not reach) and the officers' directory."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from schemas.calendar import IstModel
from schemas.complaint import ComplaintSummary
from schemas.enums import MessageStatus, OfficerRole
from schemas.voice import IvrSummary


class CallbackItem(IstModel):
    complaint: ComplaintSummary
    callback_due_at: datetime | None
    attempts_so_far: int
    last_reply: str | None
    due: bool
    # The machine's verification calls so far (issue 30), None when none was placed.
    ivr: IvrSummary | None = None


class CallbackWorklist(BaseModel):
    data: list[CallbackItem]
    count: int


class UnreachableItem(BaseModel):
    complaint: ComplaintSummary
    template: str
    status: MessageStatus
    error: str | None
    at: str


class UnreachableList(BaseModel):
    data: list[UnreachableItem]
    count: int


class OfficerEntry(BaseModel):
    id: str
    name: str
    designation: str
    role: OfficerRole
    district: str | None
    department: str | None
    active: bool
