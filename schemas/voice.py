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
    """Place one IVR call (activity). `key` makes a retry place no second call."""

    model_config = ConfigDict(frozen=True)

    registration_number: str
    key: str = Field(max_length=120)
    attempt: int = Field(ge=1)


class PlacedCall(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_sid: str


class IvrOutcome(BaseModel):
    """A call's final result, signalled by the status callback (once per CallSid)."""

    model_config = ConfigDict(frozen=True)

    call_sid: str = Field(max_length=64)
    result: CallResult


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


class VerificationByChannel(BaseModel):
    """Verification outcomes by channel (the machine's calls, the telecallers'), and how often
    a person's check of a sampled machine closure disagreed with it."""

    by_ivr: int
    by_telecaller: int
    checked: int
    disagreed: int
    disagreement_rate: float | None  # None until a check was made
