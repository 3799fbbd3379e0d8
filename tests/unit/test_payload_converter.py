"""The product's pydantic payload converter (`core.codec.SharedPydanticPayloadConverter`):
the SDK's encodings and bytes, built once per process. A worker builds a data converter for
every activation and payload sequence; each used to adapt every type afresh."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, pydantic_data_converter
from temporalio.converter import DataConverter, WorkflowSerializationContext

from core.codec import SharedPydanticPayloadConverter, pydantic_converter
from schemas.enums import ComplaintStatus
from schemas.workflow import ActionResult

RESULT = ActionResult(
    registration_number="20983/2018",
    status=ComplaintStatus.AWAITING_REPORT,
    escalation_level=1,
    next_deadline=datetime(2026, 12, 8, 11, 30, tzinfo=UTC),
    review=None,
    message="directive recorded",
)
VALUES = [RESULT, 42, "डीसी", None, b"\x00raw", {"ids": [1, 2]}]


def test_the_same_payloads_as_the_sdks_pydantic_converter_and_back() -> None:
    ours = pydantic_converter.payload_converter.to_payloads(VALUES)
    assert ours == pydantic_data_converter.payload_converter.to_payloads(VALUES)
    types = [ActionResult, int, str, type(None), bytes, dict]
    back = pydantic_converter.payload_converter.from_payloads(ours, types)
    assert back == VALUES


def _json(converter: DataConverter) -> PydanticJSONPlainPayloadConverter:
    inner = converter.payload_converter._inner_payload_converter  # type: ignore[attr-defined]
    json = inner.converters[b"json/plain"]
    assert isinstance(json, PydanticJSONPlainPayloadConverter)
    return json


def test_converters_built_per_use_share_one_type_adapter_cache() -> None:
    # As the worker does for each activation: a converter with the workflow's context.
    context = WorkflowSerializationContext(namespace="default", workflow_id="w")
    first = pydantic_converter.with_context(context)
    second = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)
    assert first is not second
    payload: Payload = first.payload_converter.to_payloads([RESULT])[0]
    first.payload_converter.from_payloads([payload], [ActionResult])
    cache = _json(second)._type_adapter
    hits = cache.cache_info().hits
    # The type adapted through the first is not adapted again through the second.
    assert second.payload_converter.from_payloads([payload], [ActionResult]) == [RESULT]
    assert cache.cache_info().hits == hits + 1
    assert _json(first) is _json(second) is _json(pydantic_converter)
