"""The request bodies of the actions against the workflow messages they become: the same
fields and rules but the actor, which only the token gives (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from schemas.actions import (
    SET_BY_API,
    CallbackBody,
    CloseSessionBody,
    DecisionBody,
    ReopeningBody,
    ReportBody,
    ReviewRequestBody,
    SessionDecisionBody,
    WithdrawalBody,
)
from schemas.review import CloseSessionRequest, DecisionRequest
from schemas.workflow import (
    CallbackResult,
    DepartmentReport,
    Reopening,
    ReviewDecision,
    ReviewRequest,
    Withdrawal,
)

# body, the message it becomes, a valid body, the message's fields the API sets itself.
PAIRS: list[tuple[type[Any], type[BaseModel], dict[str, Any], set[str]]] = [
    (ReportBody, DepartmentReport, {"outcome": "resolved", "reply": "Built"}, {"submitted_by"}),
    (CallbackBody, CallbackResult, {"outcome": "satisfied"}, {"telecaller"}),
    (ReviewRequestBody, ReviewRequest, {"note": "please"}, {"via", "requested_by"}),
    (WithdrawalBody, Withdrawal, {"reason": "solved"}, {"recorded_by"}),
    (ReopeningBody, Reopening, {"reason": "no door"}, {"recorded_by"}),
    (DecisionBody, ReviewDecision, {"decision": "close", "text": "Done"}, {"decided_by"}),
    (
        SessionDecisionBody,
        DecisionRequest,
        {"registration_number": "1/2026", "decision": "close", "text": "Done"},
        {"decided_by"},
    ),
    (CloseSessionBody, CloseSessionRequest, {}, {"closed_by"}),
]
IDS = [body.__name__ for body, *_ in PAIRS]
# Fields a body carries beside its message, each acted on by its own step: the citizen's
# rating given on the verification call becomes the case's `rate_closure` update once the
# call has closed the case (the callback itself is not rated).
BESIDE_THE_MESSAGE: dict[type[Any], set[str]] = {CallbackBody: {"rating"}}
# Fields of a message the product sets, never a client: a bulk directive's session tells the
# officer itself (one SMS for all their cases).
NOT_FOR_CLIENTS: dict[type[Any], set[str]] = {ReviewDecision: {"officer_told_by_session"}}


@pytest.mark.parametrize(("body", "message", "valid", "set_by_api"), PAIRS, ids=IDS)
def test_a_body_is_its_message_without_the_fields_the_api_sets(
    body: type[Any], message: type[BaseModel], valid: dict[str, Any], set_by_api: set[str]
) -> None:
    assert set_by_api <= SET_BY_API
    beside = BESIDE_THE_MESSAGE.get(body, set())
    internal = NOT_FOR_CLIENTS.get(message, set())
    assert set(body.model_fields) - beside == set(message.model_fields) - set_by_api - internal
    for name in internal:
        with pytest.raises(ValidationError, match=name):
            body.model_validate({**valid, name: True})
    # The same rules for every field they share (lengths, enums, IST times, place names).
    body_schema = body.model_json_schema()["properties"] if body.model_fields else {}
    message_schema = message.model_json_schema()["properties"]
    for name in set(body.model_fields) - beside:
        assert body_schema[name] == message_schema[name], name


@pytest.mark.parametrize(("body", "message", "valid", "set_by_api"), PAIRS, ids=IDS)
def test_the_actor_comes_from_the_token_never_from_the_body(
    body: type[Any], message: type[BaseModel], valid: dict[str, Any], set_by_api: set[str]
) -> None:
    update = body.model_validate(valid).as_update("asha.kumari")
    assert isinstance(update, message)
    actors = {name: getattr(update, name) for name in set_by_api}
    assert "asha.kumari" in actors.values()
    for name in set_by_api:
        with pytest.raises(ValidationError) as refused:
            body.model_validate({**valid, name: "someone-else"})
        assert [(e["loc"], e["type"]) for e in refused.value.errors()] == [
            ((name,), "extra_forbidden")
        ]


def test_a_review_request_through_the_api_is_recorded_as_such() -> None:
    update = ReviewRequestBody(note="please").as_update("tc-07")
    assert (update.via, update.requested_by, update.note) == ("api", "tc-07", "please")
