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
    """The case's IVR calls while it awaits its verification (IVR_PATCH); carried across
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
