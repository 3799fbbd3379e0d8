"""What a caller sends about a closure the citizen can trust: the HTTP bodies of
an interim reply (an officer running late), beside `schemas.actions`' others.

A body carries what the caller decides, never who the caller is (`schemas.actions`).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from schemas.calendar import IstDateTime, IstModel
from schemas.workflow import ClosureRating, InterimReply, RatingChannel


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


class RatingBody(IstModel):
    """The citizen's rating of the closure, 1-5, taken at the desk (`POST .../rating`); 1 or
    2, or `appeal`, appeals it (one rung up the case's ladder, once per closure, within the
    policy's `appeal_window`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: int = Field(ge=1, le=5)
    appeal: bool = False
    remark: str | None = Field(default=None, max_length=2000)

    def as_update(self, actor: str, via: RatingChannel = RatingChannel.DESK) -> ClosureRating:
        return ClosureRating(**self.model_dump(), via=via, recorded_by=actor)
