"""What citizens see without a token: public tracking (the intake body, with a telecaller's
override of the per-phone daily limit, is `schemas.complaint.ComplaintSubmission`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from core.calendar import IstModel
from schemas.enums import ComplaintKind, ComplaintStatus


class StatusLabel(BaseModel):
    en: str
    hi: str


# Citizen-friendly words for each status (the API's own values stay the machine's).
STATUS_LABELS: dict[ComplaintStatus, StatusLabel] = {
    ComplaintStatus.REGISTERED: StatusLabel(en="Registered", hi="पंजीकृत"),
    ComplaintStatus.AWAITING_REPORT: StatusLabel(
        en="With the department for action", hi="कार्रवाई हेतु विभाग के पास"
    ),
    ComplaintStatus.AWAITING_CALLBACK: StatusLabel(
        en="The department has replied; we will call you to confirm",
        hi="विभाग ने उत्तर दिया है; पुष्टि के लिए आपको कॉल किया जाएगा",
    ),
    ComplaintStatus.WEEKLY_REVIEW: StatusLabel(
        en="Escalated to the CM Secretary's weekly review",
        hi="मुख्यमंत्री सचिव की साप्ताहिक समीक्षा में",
    ),
    ComplaintStatus.SIDHI_BAAT: StatusLabel(
        en="Escalated to the Chief Minister's Sidhi Baat",
        hi="मुख्यमंत्री की सीधी बात में",
    ),
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
