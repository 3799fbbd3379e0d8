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
    """A verification call to make: what the telecaller needs to dial and to ask."""

    complaint: ComplaintSummary
    citizen_name: str
    citizen_phone: str
    callback_due_at: datetime | None
    attempts_so_far: int
    last_reply: str | None
    due: bool
    # The machine's verification calls so far, None when none was placed.
    ivr: IvrSummary | None = None


class CallbackWorklist(BaseModel):
    """A page of the verification calls: `count` is all of them, `data` the page."""

    data: list[CallbackItem]
    count: int
    limit: int = 100
    offset: int = 0


class UnreachableItem(BaseModel):
    """A citizen the SMS did not reach: who to call instead, and why."""

    complaint: ComplaintSummary
    citizen_name: str
    citizen_phone: str
    template: str
    status: MessageStatus
    error: str | None
    at: str


class UnreachableList(BaseModel):
    """A page of the citizens not reachable by SMS: `count` is all of them."""

    data: list[UnreachableItem]
    count: int
    limit: int = 100
    offset: int = 0


class OfficerEntry(BaseModel):
    id: str
    name: str
    designation: str
    role: OfficerRole
    district: str | None
    department: str | None
    active: bool


class OfficerList(BaseModel):
    """A page of the directory, and how many entries match in all."""

    data: list[OfficerEntry]
    count: int
