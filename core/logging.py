"""Process logging: plain text for a terminal, one JSON object per line for production.

Every line about a case carries `registration_number` and `workflow_id` when they are known,
so that an operator can pull one case's story out of all the replicas' logs with one filter.
They come, in this order, from: the record's own `extra`; the `case_context` of the current
task (API requests about a case); Temporal's workflow logger; the running activity.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from temporalio import activity, workflow

from core.settings import LogFormat, Settings
from schemas.calendar import IST

_CASE: ContextVar[dict[str, str] | None] = ContextVar("jan_samvad_case", default=None)

# `[prefix]complaint-2018-20983` → `20983/2018` (see schemas.workflow.workflow_id_for).
_WORKFLOW_ID = re.compile(r"complaint-(?P<year>\d{4})-(?P<sequence>\d+)$")

CASE_FIELDS = ("registration_number", "workflow_id")


def registration_number_of(workflow_id: str) -> str | None:
    """The registration number a complaint workflow ID encodes, if it is one."""
    match = _WORKFLOW_ID.search(workflow_id)
    return f"{match['sequence']}/{match['year']}" if match else None


@contextmanager
def case_context(
    *, registration_number: str | None = None, workflow_id: str | None = None
) -> Iterator[None]:
    """Tag every log line written inside the block (same task or thread) with the case."""
    fields = {
        key: value
        for key, value in (
            ("registration_number", registration_number),
            ("workflow_id", workflow_id),
        )
        if value
    }
    token = _CASE.set(fields)
    try:
        yield
    finally:
        _CASE.reset(token)


class CaseFilter(logging.Filter):
    """Adds `registration_number` / `workflow_id` (and Temporal's IDs) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        found: dict[str, Any] = dict(_CASE.get() or {})
        temporal_workflow = getattr(record, "temporal_workflow", None)
        temporal_activity = getattr(record, "temporal_activity", None)
        if isinstance(temporal_workflow, dict):
            found.setdefault("workflow_id", temporal_workflow.get("workflow_id"))
            found.setdefault("run_id", temporal_workflow.get("run_id"))
            found.setdefault("workflow_type", temporal_workflow.get("workflow_type"))
        elif isinstance(temporal_activity, dict):
            found.setdefault("workflow_id", temporal_activity.get("workflow_id"))
            found.setdefault("run_id", temporal_activity.get("workflow_run_id"))
            found.setdefault("activity_type", temporal_activity.get("activity_type"))
        elif activity.in_activity():
            # Module loggers inside activities: Temporal does not tag those itself.
            info = activity.info()
            found.setdefault("workflow_id", info.workflow_id)
            found.setdefault("run_id", info.workflow_run_id)
            found.setdefault("activity_type", info.activity_type)
        workflow_id = getattr(record, "workflow_id", None) or found.get("workflow_id")
        if workflow_id and not (
            getattr(record, "registration_number", None) or found.get("registration_number")
        ):
            found["registration_number"] = registration_number_of(workflow_id)
        for key, value in found.items():
            if value and not getattr(record, key, None):
                setattr(record, key, value)
        return True


# `phone=...` and the search box's `q=...` in a logged URL (an access-log line): citizens'
# numbers and names stay out of the logs.
_PHONE_PARAM = re.compile(r"(phone=|(?<=[?&])q=)[^&\s\"']*", re.IGNORECASE)


class RedactPhoneFilter(logging.Filter):
    """Replaces the value of any `phone=` or `q=` (search) query parameter in a message with
    `[redacted]`: public tracking takes the phone in a header, but a client may still put it
    in the URL; a search may be a phone or a name."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging reports it itself
            return True
        if _PHONE_PARAM.search(message):
            record.msg = _PHONE_PARAM.sub(r"\1[redacted]", message)
            record.args = None
        return True


_CONTEXT_KEYS = ("registration_number", "workflow_id", "run_id", "workflow_type", "activity_type")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (IST, `+05:30`), level, logger, message, case fields,
    error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, IST).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The terminal format (time in IST), with the registration number in brackets when
    known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, IST)
        return f"{moment:%Y-%m-%d %H:%M:%S},{int(record.msecs):03d} IST"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        number = getattr(record, "registration_number", None)
        return f"{line} [{number}]" if number else line


def configure_logging(settings: Settings) -> None:
    """Root logging for a process (API, worker, admin command), from LOG_LEVEL and LOG_FORMAT."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CaseFilter())
    handler.addFilter(RedactPhoneFilter())
    as_json = settings.log_format is LogFormat.JSON
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    # In JSON the IDs are fields of their own: do not also paste Temporal's dicts into messages.
    workflow.logger.workflow_info_on_message = not as_json
    activity.logger.activity_info_on_message = not as_json
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
