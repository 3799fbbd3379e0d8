"""Closure the citizen trusts (issue 32): the API's own checks of reasons against the state's
lists, before the case's workflow checks them again against the policy it was registered
under (which a state may have changed since)."""

from __future__ import annotations

from api.errors import refused


def interim_reason_listed(reason: str, allowed: tuple[str, ...]) -> None:
    """422 naming `reason` unless it is one of this state's interim-reply reasons."""
    if reason not in allowed:
        error = refused(
            422, "reason_not_listed", field="reason", value=reason, valid=", ".join(allowed)
        )
        error.extra["errors"] = [{"field": "reason", "message": error.detail}]
        raise error
