"""What citizens see and send without a token (issue 6): public tracking and the intake body
with a telecaller's override of the per-phone daily limit."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from core.calendar import IstModel
from schemas.complaint import ComplaintCreate
from schemas.enums import ComplaintKind, ComplaintStatus
from schemas.escalation import all_rungs


class StatusLabel(BaseModel):
    en: str
    hi: str


def _label(names: dict[str, str]) -> StatusLabel:
    return StatusLabel.model_validate({code: names[code] for code in StatusLabel.model_fields})


# Citizen-friendly words for each status (the API's own values stay the machine's): a rung's
# status (with the officer, on a forum's agenda) in its rung's `status_labels`
# (schemas/escalation.py), the others here.
STATUS_LABELS: dict[ComplaintStatus, StatusLabel] = {
    ComplaintStatus.REGISTERED: StatusLabel(en="Registered", hi="पंजीकृत"),
    ComplaintStatus.AWAITING_CALLBACK: StatusLabel(
        en="The department has replied; we will call you to confirm",
        hi="विभाग ने उत्तर दिया है; पुष्टि के लिए आपको कॉल किया जाएगा",
    ),
    **{rung.status: _label(rung.status_labels) for rung in all_rungs().values()},
    ComplaintStatus.CLOSED: StatusLabel(en="Closed", hi="निस्तारित (बंद)"),
    ComplaintStatus.WITHDRAWN: StatusLabel(
        en="Withdrawn at the citizen's request", hi="नागरिक के अनुरोध पर वापसी"
    ),
}


class TrackedComplaint(IstModel):
    """A case as its citizen sees it: no personal data, no officers, no internal ids."""

    registration_number: str = Field(examples=["1/2026"])
    kind: ComplaintKind
    status: ComplaintStatus
    status_label: StatusLabel
    registered_at: datetime
    updated_at: datetime
    next_deadline: datetime | None = Field(
        description="When the next step is due: the department's report, the verification "
        "call, or the review meeting; none once the case is closed or withdrawn."
    )
    last_reply: str | None = Field(description="The department's latest reply.")


class ComplaintSubmission(ComplaintCreate):
    """The intake body: a complaint, plus a telecaller's override of the per-phone limit."""

    limit_override_reason: str | None = Field(
        default=None,
        min_length=10,
        max_length=500,
        description="Telecallers only: why this phone number may file beyond its daily limit "
        "(recorded on the case). Refused for integration clients.",
    )

    def complaint(self) -> ComplaintCreate:
        """The complaint alone (its idempotency fingerprint does not include the override)."""
        return ComplaintCreate.model_validate(
            {name: getattr(self, name) for name in ComplaintCreate.model_fields}
        )
