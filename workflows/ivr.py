"""The IVR verification call's rules, pure (no I/O, no workflow calls): whether a case is
called by machine, when a call may be placed (calling hours, IST), what follows a call's
result, and which machine-verified closures a person checks. The workflow does the effects."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.calendar import IST
from schemas.policy import Policy
from schemas.voice import RETRIED_RESULTS, CallResult


def ivr_applies(policy: Policy, *, kind: str, category: str | None) -> bool:
    """Whether a case of this kind and category is verified by machine first."""
    if kind not in policy.ivr_kinds:
        return False
    return category is None or category not in policy.ivr_categories_off


def calling_slot(moment: datetime, policy: Policy) -> datetime:
    """`moment` if it falls within calling hours (IST), else the next opening of them: a
    call due at night waits for the morning."""
    local = moment.astimezone(IST)
    opens = local.replace(
        hour=policy.ivr_calling_from.hour,
        minute=policy.ivr_calling_from.minute,
        second=0,
        microsecond=0,
    )
    closes = local.replace(
        hour=policy.ivr_calling_until.hour,
        minute=policy.ivr_calling_until.minute,
        second=0,
        microsecond=0,
    )
    if local < opens:
        return opens
    if local >= closes:
        return opens + timedelta(days=1)
    return moment


@dataclass(frozen=True)
class IvrStep:
    """What follows a call's result: another call at `next_at`, or the telecaller's turn
    (`hand_over`, with the reason shown on the list); neither for 1 and 2 (the case moved)."""

    next_at: datetime | None = None
    hand_over: str | None = None


def after_call(result: CallResult, attempts: int, now: datetime, policy: Policy) -> IvrStep:
    """The step after call number `attempts` ended with `result` at `now`."""
    if result in (CallResult.SATISFIED, CallResult.NOT_SATISFIED):
        return IvrStep()
    if result is CallResult.OPERATOR:
        return IvrStep(hand_over="the citizen asked for an operator (pressed 3)")
    if result is CallResult.NO_VALID_ANSWER:
        return IvrStep(hand_over="answered, but no valid key was pressed")
    assert result in RETRIED_RESULTS
    if attempts >= policy.ivr_attempts:
        return IvrStep(hand_over=f"{result.value.replace('_', ' ')} on {attempts} calls")
    return IvrStep(next_at=calling_slot(now + policy.ivr_retry_after, policy))


def audited(registration_number: str, policy: Policy) -> bool:
    """Whether a closure the machine verified is also checked by a person: a stable sample
    of `ivr_audit_percent` % of cases (by registration number, so a replay agrees)."""
    digest = hashlib.sha256(registration_number.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < policy.ivr_audit_percent
