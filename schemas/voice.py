"""The verification call made by machine (IVR): what travels in the workflow and its
activities, and the few words both sides share (call results, digits)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.calendar import IstModel


class CallResult(StrEnum):
    """How one IVR call ended, as far as the case is concerned."""

    SATISFIED = "satisfied"  # pressed 1 (the case closes)
    NOT_SATISFIED = "not_satisfied"  # pressed 2 (the case goes to review)
    OPERATOR = "operator"  # pressed 3: the telecaller calls
    NO_VALID_ANSWER = "no_valid_answer"  # answered, but no 1/2/3: the telecaller calls
    BUSY = "busy"  # retried per policy
    NO_ANSWER = "no_answer"
    FAILED = "failed"


# Results after which another call is placed (while attempts remain and the case waits).
RETRIED_RESULTS = frozenset({CallResult.BUSY, CallResult.NO_ANSWER, CallResult.FAILED})
# The citizen's keys on the call.
DIGIT_RESULTS = {
    "1": CallResult.SATISFIED,
    "2": CallResult.NOT_SATISFIED,
    "3": CallResult.OPERATOR,
}
# Twilio's final CallStatus values and what each means for the case when no key was pressed.
FINAL_CALL_STATUSES = {
    "completed": CallResult.NO_VALID_ANSWER,
    "busy": CallResult.BUSY,
    "no-answer": CallResult.NO_ANSWER,
    "failed": CallResult.FAILED,
    "canceled": CallResult.FAILED,
}


class IvrState(IstModel):
    """The case's IVR calls while it awaits its verification; carried across
    continue-as-new in `ComplaintState.ivr`."""

    round: int = 0  # the case's event number when the round began (the calls' key)
    attempts: int = 0  # calls placed
    next_at: datetime | None = None  # when the next call is placed; None: none owed
    call_sid: str | None = None  # the call in progress (awaiting its final status)
    placed_at: datetime | None = None
    last_result: CallResult | None = None
    handed_over: bool = False  # the telecaller's turn (operator, no answer, attempts used)


class PlaceCallInput(BaseModel):
    """Place one IVR call (activity). `key` makes a retry place no second call; `sampled`:
    the case's own policy puts this call's "solved" in the sample a person checks."""

    model_config = ConfigDict(frozen=True)

    registration_number: str
    key: str = Field(max_length=120)
    attempt: int = Field(ge=1)
    sampled: bool = False


class PlacedCall(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_sid: str


class IvrOutcome(BaseModel):
    """A call's final result, signalled by the status callback (once per CallSid)."""

    model_config = ConfigDict(frozen=True)

    call_sid: str = Field(max_length=64)
    result: CallResult


# Twilio's recording SID: "RE" and 32 hex digits.
RECORDING_SID = r"^RE[0-9a-fA-F]{32}$"


class RecordingFetch(BaseModel):
    """A citizen's spoken remark to fetch from Twilio into the case's attachments
    (RecordingFetchWorkflow's input): references only, never the recording."""

    model_config = ConfigDict(frozen=True)

    complaint_id: int
    registration_number: str
    recording_sid: str = Field(pattern=RECORDING_SID)
    case_workflow_id: str | None = None


class IvrSummary(IstModel):
    """The machine's calls on a case awaiting its verification, for the telecaller's list:
    how many were placed, how the last one ended, its CallSid, and its reading (1 / 2 / 3)."""

    calls: int
    last_result: str | None
    last_call_sid: str | None
    last_at: datetime


class IvrCheckItem(IstModel):
    """A closure the machine verified, sampled for a person to call (CPGRAMS' practice)."""

    registration_number: str
    call_sid: str | None
    closed_at: datetime
    citizen_name: str
    citizen_phone: str
    language: str


class IvrCheckList(BaseModel):
    data: list[IvrCheckItem]
    count: int  # all sampled closures still to check (the page holds `limit` of them)


class IvrCheck(BaseModel):
    """What the citizen told the person who checked the machine's closure."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agrees: bool
    remark: str | None = Field(default=None, max_length=2000)


class VerificationChannel(StrEnum):
    """How a case's outcome was verified with the citizen: the machine's call, or a person
    (the telecaller's call from the desk or through the API); a citizen's answer by SMS or at
    the desk counts under the timeline channel it came in by."""

    IVR = "ivr"
    TELECALLER = "telecaller"
    SMS = "sms"
    DESK = "desk"
    WHATSAPP = "whatsapp"  # the citizen's "1 / 2" answered in the WhatsApp conversation


class VerificationResult(StrEnum):
    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"


def verification_channel(actor: str, channel: str | None) -> VerificationChannel:
    """The channel of a verification recorded by `actor`, come in by the timeline `channel`."""
    if actor == "ivr":
        return VerificationChannel.IVR
    if actor == "whatsapp" or channel == VerificationChannel.WHATSAPP.value:
        return VerificationChannel.WHATSAPP
    if channel in (VerificationChannel.SMS.value, VerificationChannel.DESK.value):
        return VerificationChannel(channel)
    return VerificationChannel.TELECALLER


class ChannelFigures(IstModel):
    """One channel's verifications in the period: satisfied and not, and (the machine's
    only) the sampled "solved" a person checked, and how many of those the citizen denied."""

    channel: VerificationChannel
    verified: int
    satisfied: int
    not_satisfied: int
    checked: int = 0
    disagreed: int = 0
    disagreement_rate: float | None = None  # disagreed / checked; None until a check


def rate(part: int, whole: int) -> float | None:
    """`part / whole` to four places, None when there is nothing to count."""
    return round(part / whole, 4) if whole else None


class VerificationByChannel(IstModel):
    """Verifications recorded from `since` until `until` (IST moments; None: unbounded) by
    channel, and how often a person's check of a sampled machine closure disagreed with it
    (`disagreed` / `checked`, None until a check was made)."""

    since: datetime | None = None
    until: datetime | None = None
    channels: list[ChannelFigures] = Field(default_factory=list)
    by_ivr: int
    by_telecaller: int  # every channel but the machine's: people
    checked: int
    disagreed: int
    disagreement_rate: float | None
