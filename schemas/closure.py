"""What a caller sends about a closure the citizen can trust (issue 32): the HTTP bodies of
an interim reply (an officer running late), beside `schemas.actions`' others.

A body carries what the caller decides, never who the caller is (`schemas.actions`).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from schemas.calendar import IstDateTime, IstModel
from schemas.workflow import InterimReply


class InterimReplyBody(IstModel):
    """An officer running late tells the citizen why and by when
    (`POST .../interim-reply`): `reason` a code of the state's list
    (`GET /v1/reference/reasons`), `text` the officer's words, `expected_by` when they expect
    to finish. The case's deadline does not move; a date past it asks the next review for an
    extension."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=2000)
    # Without an offset: IST (schemas.calendar.assume_ist).
    expected_by: IstDateTime

    def as_update(self, actor: str) -> InterimReply:
        return InterimReply(**self.model_dump(), submitted_by=actor)
