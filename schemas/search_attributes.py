"""Custom search attributes of complaint workflows. None carries personal data."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

REGISTRATION_NUMBER = SearchAttributeKey.for_keyword("RegistrationNumber")
DISTRICT = SearchAttributeKey.for_keyword("District")
DEPARTMENT = SearchAttributeKey.for_keyword("Department")
CATEGORY = SearchAttributeKey.for_keyword("Category")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
COMPLAINT_KIND = SearchAttributeKey.for_keyword("ComplaintKind")
COMPLAINT_STATUS = SearchAttributeKey.for_keyword("ComplaintStatus")
URGENT = SearchAttributeKey.for_bool("Urgent")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")

ALL: tuple[SearchAttributeKey, ...] = (
    REGISTRATION_NUMBER,
    DISTRICT,
    DEPARTMENT,
    CATEGORY,
    CHANNEL,
    COMPLAINT_KIND,
    COMPLAINT_STATUS,
    URGENT,
    ESCALATION_LEVEL,
    NEXT_DEADLINE,
)

_CLI_TYPES = {
    "KEYWORD": "Keyword",
    "BOOL": "Bool",
    "INT": "Int",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "FLOAT": "Double",
}


def cli_arguments() -> list[str]:
    """`--search-attribute Name=Type` arguments for `temporal server start-dev`."""
    args = []
    for key in ALL:
        args += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return args
