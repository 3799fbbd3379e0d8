"""One clock in every answer: every time the API returns is written in IST (`+05:30`).

The rule is structural (every model of the OpenAPI document that carries a time derives from
`schemas.calendar.IstModel`) and checked on the wire (an action's answer, a case, an agenda).
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel

import api.routes
import schemas
from api.main import create_app
from core.settings import Settings
from harness.factories import complaint_body, eventually
from schemas.calendar import IstModel
from schemas.enums import ComplaintStatus, EscalationLevel
from schemas.workflow import ActionResult


def _has_time(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            return True
        return any(_has_time(v) for k, v in node.items() if k != "$ref")
    if isinstance(node, list):
        return any(_has_time(v) for v in node)
    return False


def _models() -> dict[str, type[BaseModel]]:
    """Every pydantic model of the project's schemas and API, by class name."""
    for package in (schemas, api.routes):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found: dict[str, type[BaseModel]] = {}
    stack: list[type[BaseModel]] = [BaseModel]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith(("schemas.", "api.", "core.")):
                found.setdefault(sub.__name__, sub)
    return found


def test_every_model_the_api_returns_with_a_time_writes_it_in_ist() -> None:
    spec = create_app(Settings(_env_file=None)).openapi()
    models = _models()
    with_times = [
        name
        for name, schema in spec["components"]["schemas"].items()
        if _has_time(schema.get("properties", {}))
    ]
    assert len(with_times) > 10
    offenders = [n for n in with_times if n in models and not issubclass(models[n], IstModel)]
    unknown = [n for n in with_times if n not in models]
    assert not offenders and not unknown, (offenders, unknown)


def test_a_utc_moment_is_written_with_the_ist_offset_and_reads_back_equal() -> None:
    moment = datetime(2026, 11, 29, 23, 3, tzinfo=UTC)  # 30 Nov 04:33 IST
    result = ActionResult(
        registration_number="1/2026", status=ComplaintStatus.AWAITING_REPORT,
        escalation_level=EscalationLevel.NODAL_OFFICER, next_deadline=moment, message="m",
    )  # fmt: skip
    text = result.model_dump_json()
    assert '"next_deadline":"2026-11-30T04:33:00+05:30"' in text
    assert ActionResult.model_validate_json(text).next_deadline == moment


async def test_answers_on_the_wire_are_in_ist(stack: httpx.AsyncClient) -> None:
    created = await stack.post("/v1/complaints", json=complaint_body())
    path = created.json()["links"]["self"]
    case = await eventually(
        lambda: stack.get(path), lambda r: r.json()["status"] == "awaiting_report"
    )
    report = await stack.post(
        f"{path}/report",
        json={"outcome": "resolved", "reply": "Toilet built"},
    )
    assert report.status_code == 200, report.text
    for answer in (created.json(), case.json(), report.json()):
        times = [v for v in _strings(answer) if _looks_like_time(v)]
        assert times and all(v.endswith("+05:30") for v in times), times


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _looks_like_time(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None and "T" in value
    except ValueError:
        return False
