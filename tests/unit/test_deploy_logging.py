"""Structured logs: one JSON object per line, tagged with the case it is about."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from api.middleware import CaseContextMiddleware
from core.logging import (
    CaseFilter,
    JsonFormatter,
    TextFormatter,
    case_context,
    configure_logging,
    registration_number_of,
)
from core.settings import LogFormat, Settings

log = logging.getLogger("jan_samvad.test")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Lines written through the production handler (filter + JSON formatter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CaseFilter())
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield stream
    log.removeHandler(handler)
    log.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_registration_number_is_read_from_a_workflow_id() -> None:
    assert registration_number_of("complaint-2018-20983") == "20983/2018"
    assert registration_number_of("t1a2b3c4-complaint-2027-1") == "1/2027"
    assert registration_number_of("jan-samvad-reconcile-run") is None


def test_json_lines_carry_the_case_of_their_context(captured: io.StringIO) -> None:
    log.info("before")
    with case_context(registration_number="20983/2018", workflow_id="complaint-2018-20983"):
        log.info("forwarded to %s", "nodal-district-ranchi")
    log.info("after")
    before, inside, after = lines(captured)
    assert "registration_number" not in before and "registration_number" not in after
    assert inside["message"] == "forwarded to nodal-district-ranchi"
    assert inside["registration_number"] == "20983/2018"
    assert inside["workflow_id"] == "complaint-2018-20983"
    assert inside["level"] == "INFO" and inside["logger"] == "jan_samvad.test"
    assert inside["time"].endswith("+05:30")  # IST, like every time the centre shows


def test_extra_workflow_id_gives_the_registration_number(captured: io.StringIO) -> None:
    log.warning("late", extra={"workflow_id": "p-complaint-2026-42"})
    (line,) = lines(captured)
    assert line["registration_number"] == "42/2026"


def test_errors_keep_their_traceback_in_one_line(captured: io.StringIO) -> None:
    try:
        raise ValueError("गलत जिला")  # non-ASCII text stays readable
    except ValueError:
        log.exception("could not route")
    raw = captured.getvalue()
    assert raw.count("\n") == 1 and "गलत जिला" in raw
    (line,) = lines(captured)
    assert "ValueError" in line["error"]


def test_lines_written_inside_an_activity_name_its_case(captured: io.StringIO) -> None:
    """Module loggers in activities (SMS, routing) get the workflow's IDs by themselves."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_id="complaint-2026-7", workflow_run_id="run-1", activity_type="send_sms"
    )

    def send() -> None:
        assert activity.in_activity()
        log.info("SMS handed to the gateway")

    env.run(send)
    (line,) = lines(captured)
    assert line["registration_number"] == "7/2026"
    assert line["workflow_id"] == "complaint-2026-7"
    assert line["run_id"] == "run-1" and line["activity_type"] == "send_sms"


def test_configure_logging_installs_the_chosen_format() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(Settings(_env_file=None, log_format=LogFormat.JSON, log_level="debug"))
        assert isinstance(root.handlers[-1].formatter, JsonFormatter)
        assert root.level == logging.DEBUG
        configure_logging(Settings(_env_file=None))
        assert isinstance(root.handlers[-1].formatter, TextFormatter)
        assert len(root.handlers) == 1
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


async def test_api_requests_about_a_case_are_tagged(captured: io.StringIO) -> None:
    """Lines logged while the API serves `/v1/complaints/{year}/{sequence}` name the case."""
    app = FastAPI()
    app.add_middleware(CaseContextMiddleware)

    @app.get("/v1/complaints/{year}/{sequence}")
    async def show(year: int, sequence: int) -> dict[str, int]:
        log.info("read")
        return {"year": year}

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        log.info("health")
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/v1/complaints/2018/20983")).status_code == 200
        assert (await http.get("/healthz")).status_code == 200
    about_case, unrelated = lines(captured)
    assert about_case["registration_number"] == "20983/2018"
    assert "registration_number" not in unrelated
