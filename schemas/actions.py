"""What a caller sends to act on a case or on a review session: the HTTP request bodies.

A body carries what the caller decides, never who the caller is: the actor is the subject of
the caller's token, and `as_update(actor)` makes the workflow's own message from the two
(`schemas.workflow`, `schemas.review`). The workflow messages keep their actor fields (recorded
histories carry them); the bodies have none, and refuse one that is sent (`extra="forbid"`:
422 naming the field, `SET_BY_API`) rather than accept a name and record another.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from schemas.calendar import IstDateTime, IstModel
from schemas.reasons import DOES_NOT_PERTAIN
from schemas.reference import DepartmentName, DistrictName
from schemas.review import (
    BulkDecisionRequest,
    BulkSelection,
    CloseSessionRequest,
    DecisionRequest,
)
from schemas.workflow import (
    CallbackOutcome,
    CallbackResult,
    DecisionKind,
    DepartmentReport,
    Reopening,
    ReportOutcome,
    ReviewDecision,
    ReviewRequest,
    Withdrawal,
)

# Fields of the workflow messages that the API sets itself (who acted, how the request came
# in): a body naming one is told so.
SET_BY_API = frozenset(
    {"submitted_by", "telecaller", "decided_by", "closed_by", "recorded_by", "requested_by", "via"}
)
# How the API says so, beside the field's name.
SET_BY_API_MESSAGE = "set by the API (who acted comes from the caller's token): leave it out"

# Where a staff member acts through the API (the timeline's `channel`).
VIA_API = "api"


class _Body(IstModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportBody(_Body):
    """The nodal officer's report (`POST .../report`); `reply` is the department's reply,
    verbatim."""

    outcome: ReportOutcome
    reply: str = Field(min_length=1, max_length=4000)
    transfer_to_district: DistrictName | None = Field(
        default=None, description="A district, in English or Hindi, any case or common spelling."
    )
    transfer_to_department: DepartmentName | None = Field(
        default=None, description="A department code, or its name in English or Hindi."
    )
    # Not actionable: why, a code of the state's list (`GET /v1/reference/reasons`).
    reason: str | None = Field(default=None, max_length=40, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _reason_for_not_actionable(cls, reason: str | None, info: ValidationInfo) -> str | None:
        # "Does not pertain" is a transfer, never a closure; "not actionable" says why.
        if reason is not None and reason.strip().lower() in DOES_NOT_PERTAIN:
            raise ValueError(
                "a case that does not pertain to you is never closed: transfer it (outcome "
                "transferred, with transfer_to_district or transfer_to_department)"
            )
        if info.data.get("outcome") is ReportOutcome.NOT_ACTIONABLE and not (reason or "").strip():
            raise ValueError("a not actionable report names its reason (GET /v1/reference/reasons)")
        return reason

    def as_update(self, actor: str) -> DepartmentReport:
        return DepartmentReport(**self.model_dump(), submitted_by=actor)


class CallbackBody(_Body):
    """What the telecaller heard on the verification call (`POST .../callback`)."""

    outcome: CallbackOutcome
    remark: str | None = Field(default=None, max_length=2000)
    # The citizen's rating of the closure (1-5), asked on a satisfied call.
    rating: int | None = Field(default=None, ge=1, le=5)

    def as_update(self, actor: str) -> CallbackResult:
        return CallbackResult(**self.model_dump(exclude={"rating"}), telecaller=actor)


class ReviewRequestBody(_Body):
    """The citizen asks for their case to be reviewed (`POST .../review-request`), through
    the staff member who took the request."""

    note: str | None = Field(default=None, max_length=2000)

    def as_update(self, actor: str) -> ReviewRequest:
        return ReviewRequest(**self.model_dump(), via=VIA_API, requested_by=actor)


class WithdrawalBody(_Body):
    """The citizen withdraws the case (`POST .../withdraw`)."""

    reason: str = Field(min_length=1, max_length=2000)

    def as_update(self, actor: str) -> Withdrawal:
        return Withdrawal(**self.model_dump(), recorded_by=actor)


class ReopeningBody(_Body):
    """The citizen reopens a closed case within the reopen window (`POST .../reopen`)."""

    reason: str = Field(min_length=1, max_length=2000)

    def as_update(self, actor: str) -> Reopening:
        return Reopening(**self.model_dump(), recorded_by=actor)


class DecisionBody(_Body):
    """A review's decision on a case (`POST .../decision`): a directive sends it back to an
    officer with a new deadline; a closure needs a reason and the citizen informed."""

    decision: DecisionKind
    text: str = Field(min_length=1, max_length=4000)
    responsible_officer_id: str | None = None
    # Without an offset: IST (schemas.calendar.assume_ist).
    new_deadline: IstDateTime | None = None
    citizen_informed: bool = False
    session_id: str | None = None

    def as_update(self, actor: str) -> ReviewDecision:
        return ReviewDecision(**self.model_dump(), decided_by=actor)


class SessionDecisionBody(_Body):
    """The reviewer's decision on one case of a session's agenda
    (`POST /v1/reviews/{kind}/{day}/decisions`)."""

    registration_number: str = Field(min_length=3, max_length=20)
    decision: DecisionKind
    text: str = Field(min_length=1, max_length=4000)
    responsible_officer_id: str | None = None
    # Without an offset: IST (schemas.calendar.assume_ist).
    new_deadline: IstDateTime | None = None
    citizen_informed: bool = False

    def as_update(self, actor: str) -> DecisionRequest:
        return DecisionRequest(**self.model_dump(), decided_by=actor)


class BulkDecisionBody(_Body):
    """One directive, or one closure at review, for every undecided case a selection names
    (`POST /v1/reviews/{kind}/{day}/bulk-decisions`): each case receives it as its own
    decision."""

    selection: BulkSelection
    decision: DecisionKind
    text: str = Field(min_length=1, max_length=4000)
    responsible_officer_id: str | None = None
    # Without an offset: IST (schemas.calendar.assume_ist).
    new_deadline: IstDateTime | None = None
    citizen_informed: bool = False

    def as_update(self, actor: str) -> BulkDecisionRequest:
        return BulkDecisionRequest(**self.model_dump(), decided_by=actor)


class CloseSessionBody(_Body):
    """Close a session (`POST /v1/reviews/{kind}/{day}/close`): nothing to say but who closes
    it, which the token says."""

    def as_update(self, actor: str) -> CloseSessionRequest:
        return CloseSessionRequest(closed_by=actor)
