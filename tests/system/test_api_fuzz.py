"""Bad input, generated from the API's own OpenAPI schema (schemathesis).

The real API process runs over HTTP against a real worker and dev server (harness/processes.py),
so every generated request meets the same code a citizen's or an officer's request would.
Asserted for every operation: no 5xx, and every 4xx body says what was wrong (`detail`; for
422 also `errors[{field, message}]`; under /open311/ the spec's `{code, description}` list).
The number of examples per operation is bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
import xmltodict
from hypothesis import HealthCheck
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from harness.processes import EmbeddedStack


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    with EmbeddedStack(directory) as stack:
        stack.healthy()
        yield stack


@pytest.fixture(scope="module")
def api_schema(live_stack: EmbeddedStack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_stack.base_url}/openapi.json")


SETTINGS = hypothesis.settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same examples every run: a failure is reproducible
    database=None,
)


def check(case: schemathesis.Case) -> None:
    """No 5xx; a 4xx says what was wrong."""
    response = case.call(timeout=30)
    where = (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
        f" (query {case.query!r}, body {str(case.body)[:300]!r})"
    )
    assert response.status_code < 500, where
    if 400 <= response.status_code < 500 and case.path.startswith("/open311/"):
        # Open311's own error format: a list of {code, description}, in XML or JSON.
        if response.text.lstrip().startswith("<"):
            try:
                parsed = xmltodict.parse(response.content, force_list=("error",))
            except ExpatError as err:
                raise AssertionError(f"not well-formed XML ({err}): {where}") from None
            errors = parsed["errors"]["error"]
        else:
            errors = response.json()
        assert isinstance(errors, list) and errors, where
        for error in errors:
            assert int(error["code"]) == response.status_code, where
            assert error["description"].strip(), where
    elif 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("detail"), str), where
        assert body["detail"].strip(), where
        if response.status_code == 422:
            assert body["errors"], where
            for error in body["errors"]:
                assert error["field"] and error["message"], where


def _operations(api_schema: schemathesis.BaseSchema) -> list[Any]:
    results = list(api_schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the API's own schema is invalid"
    assert len(operations) > 5
    return operations


# With a token holding every staff role the requests reach the routes' own code (scope, the
# read model, Temporal), not only authentication; valid and invalid inputs both, strings of
# any Unicode including NUL (schemathesis' default alphabet).
SETTINGS_AUTHORIZED = hypothesis.settings(SETTINGS, max_examples=25)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_with_every_role_no_server_error_and_every_client_error_explains_itself(
    api_schema: schemathesis.BaseSchema, live_stack: EmbeddedStack, mode: GenerationMode
) -> None:
    headers = live_stack.issue_token()
    for operation in _operations(api_schema):
        strategy = operation.as_strategy(mode, headers=headers)
        try:
            SETTINGS_AUTHORIZED(hypothesis.given(strategy)(lambda case: check(case)))()
        except hypothesis.errors.Unsatisfiable:
            # An operation without parameters or body has no invalid input to generate.
            assert mode is GenerationMode.NEGATIVE, operation


def test_no_server_error_and_every_client_error_explains_itself(
    api_schema: schemathesis.BaseSchema,
) -> None:
    # Operations are walked here rather than with schemathesis' pytest plugin (whose
    # `from_fixture` does not work with this pytest version); each is its own hypothesis run.
    results = list(api_schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the API's own schema is invalid"
    assert len(operations) > 5
    for operation in operations:
        SETTINGS(hypothesis.given(operation.as_strategy())(lambda case: check(case)))()
