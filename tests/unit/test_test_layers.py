"""The tests' own layout (docs/testing.md): every test module sits in one of four layer
folders, and a module in tests/unit starts nothing: it imports nothing that runs a server, a
process, a browser or the app, and asks for no fixture that does. `make test-fast` runs
tests/unit alone and stays fast because of this rule."""

from __future__ import annotations

import ast

from tests.paths import TESTS

LAYERS = ("unit", "workflows", "api", "system")

# Modules whose import means a server, a process or a browser.
STARTING_MODULES = (
    "subprocess",
    "playwright",
    "core.stack",
    "harness.processes",
    "harness.attachments",
    "tests.fake_twilio",
    "tests.workflows",
    "tests.api",
    "tests.system",
)
# Names that start one: Temporal's servers, the app with its lifespan, the project's workers,
# the embedded stack, the fake Twilio, clamd and the S3 server.
STARTING_NAMES = {
    "WorkflowEnvironment",
    "create_app",
    "api_client",
    "running_worker",
    "EmbeddedStack",
    "FakeTwilio",
    "local_clamd",
    "local_s3",
    "Popen",
}
# tests/conftest.py's fixtures that start a server or reach PostgreSQL.
STARTING_FIXTURES = {
    "ts_env",
    "dev_env",
    "env",
    "any_engine",
    "postgres_url",
    "postgres_engine",
    "http",
    "app_http",
    "stack",
    "clamd_address",
    "s3_endpoint",
    "attachment_settings",
}


def _starting_module(name: str) -> bool:
    return any(name == m or name.startswith(f"{m}.") for m in STARTING_MODULES)


def _test_or_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return node.name.startswith("test_") or any(
        "fixture" in ast.unparse(decorator) for decorator in node.decorator_list
    )


def what_starts(source: str) -> list[str]:
    """What in a module's source would start a server, a process, a browser or the app:
    `line: description` for each import of a starting module or name and each function
    (test or fixture) asking for a starting fixture."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}" for a in node.names if _starting_module(a.name)
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if _starting_module(node.module):
                found.append(f"{node.lineno}: from {node.module} import …")
            found += [
                f"{node.lineno}: {a.name} from {node.module}"
                for a in node.names
                if a.name in STARTING_NAMES
            ]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _test_or_fixture(node):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            found += [
                f"{node.lineno}: {node.name} asks for the fixture {a.arg}"
                for a in arguments
                if a.arg in STARTING_FIXTURES
            ]
    return found


def test_every_test_module_is_in_a_layer_folder() -> None:
    assert sorted(p.name for p in TESTS.glob("test_*.py")) == []
    stray = [
        str(p.relative_to(TESTS))
        for p in TESTS.rglob("test_*.py")
        if p.relative_to(TESTS).parts[0] not in LAYERS or len(p.relative_to(TESTS).parts) != 2
    ]
    assert not stray, f"test modules outside tests/{{{','.join(LAYERS)}}}/: {stray}"
    for layer in LAYERS:
        assert (TESTS / layer / "__init__.py").is_file(), layer
        assert list((TESTS / layer).glob("test_*.py")), f"tests/{layer} holds no test module"


def test_unit_tests_start_nothing() -> None:
    starting = {
        path.name: found
        for path in sorted((TESTS / "unit").glob("*.py"))
        if (found := what_starts(path.read_text(encoding="utf-8")))
    }
    assert not starting, f"tests/unit modules that start something (move them): {starting}"


def test_the_rule_sees_imports_names_and_fixtures() -> None:
    source = """
import subprocess
from harness.processes import EmbeddedStack
from tests.helpers import IN_CI, running_worker
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from tests.api.test_pages import sign_in

def helper(env, stack): ...

@pytest.fixture
def pure(tmp_path, settings, engine, dev_env): ...

async def test_x(stack, tmp_path): ...
"""
    assert what_starts(source) == [
        "2: import subprocess",
        "3: from harness.processes import …",
        "3: EmbeddedStack from harness.processes",
        "4: running_worker from tests.helpers",
        "5: WorkflowEnvironment from temporalio.testing",
        "6: from tests.api.test_pages import …",
        "11: pure asks for the fixture dev_env",
        "13: test_x asks for the fixture stack",
    ]
    assert what_starts("from tests.helpers import IN_CI\ndef test_y(engine): ...\n") == []
