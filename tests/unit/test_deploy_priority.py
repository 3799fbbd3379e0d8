"""The compose deployment's Temporal server honours task priority (urgent SMS first).

Task priority needs server 1.28 or later (with the dynamic config `make run` passes too,
`deploy/temporal/dynamicconfig.yaml`); 1.27 accepts the priority and ignores it, so urgent
cases lose their head start exactly in production. The compose file, interpolated as
`docker compose config` does (`tests/unit/test_deploy.py`), must run such a server by default and
with `.env.example`'s value, and this check must refuse an older one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.test_deploy import documented_variables, load_compose

PRIORITY_SINCE = (1, 28)
_TAG = re.compile(
    r"^temporalio/(?:auto-setup|server):v?(?P<version>\d+\.\d+(?:\.\d+)?)(?:[-@].*)?$"
)


def priority_problem(compose: dict[str, Any]) -> str | None:
    """Why the compose file's Temporal server would ignore task priority, or None."""
    image = compose["services"]["temporal"]["image"]
    match = _TAG.match(image)
    if match is None:
        return f"temporal image {image!r}: no version tag to check (pin 1.28 or later)"
    version = tuple(int(part) for part in match["version"].split("."))
    if version[:2] < PRIORITY_SINCE:
        return f"temporal image {image!r}: task priority needs server 1.28 or later"
    dynamic = compose["services"]["temporal"]["environment"].get("DYNAMIC_CONFIG_FILE_PATH")
    if not dynamic:
        return "temporal: no dynamic config (matching.useNewMatcher) mounted"
    return None


def test_the_default_server_honours_task_priority() -> None:
    assert priority_problem(load_compose(env={"POSTGRES_PASSWORD": "x"})) is None


def test_the_documented_version_honours_task_priority() -> None:
    documented = documented_variables()["TEMPORAL_SERVER_VERSION"]
    compose = load_compose(env={"POSTGRES_PASSWORD": "x", "TEMPORAL_SERVER_VERSION": documented})
    assert priority_problem(compose) is None


@pytest.mark.parametrize("version", ["1.27.2", "1.26.2", "1.20"])
def test_an_older_server_is_refused(version: str) -> None:
    compose = load_compose(env={"POSTGRES_PASSWORD": "x", "TEMPORAL_SERVER_VERSION": version})
    problem = priority_problem(compose)
    assert problem is not None and "1.28 or later" in problem


def test_an_unversioned_tag_is_refused() -> None:
    compose = load_compose(env={"POSTGRES_PASSWORD": "x", "TEMPORAL_SERVER_VERSION": "latest"})
    assert priority_problem(compose) is not None
