"""Shared fixtures: real Temporal servers, real databases (SQLite and PostgreSQL), real worker.

- `ts_env`: a fresh time-skipping test server (`temporal-test-server`) per test, for timers:
  each test's clock starts at the real now.
- `dev_env`: the Temporal dev server (`temporal`), with the project's search attributes.
- `engine`: a fresh, migrated SQLite read model; `any_engine`: the same on SQLite and on
  PostgreSQL (127.0.0.1:5432, database `test`, a fresh schema per test). Outside CI an
  unreachable PostgreSQL skips its variants with a notice; with CI=true it fails the run.
- `app_http`: the app in-process on the dev server's client, no worker (bad input, 4xx);
  `stack`: the same with the project's real workers, for what a running workflow answers.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.db import load_directory, make_engine, migrate
from core.scanner import clamd_binary
from core.settings import Environment, Settings
from core.stack import PRIORITY_DYNAMIC_CONFIG
from harness.attachments import local_clamd, local_s3
from schemas import search_attributes
from tests.helpers import IN_CI, api_client, running_worker

BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# ---- Temporal servers --------------------------------------------------------------------


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    # The test server validates search attributes too: register the project's.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in search_attributes.ALL
            },
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=search_attributes.ALL,
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=PRIORITY_DYNAMIC_CONFIG,
    )
    yield env
    await env.shutdown()


# ---- databases ---------------------------------------------------------------------------


def _postgres_available() -> str | None:
    try:
        probe = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        probe.dispose()
        return None
    except Exception as err:  # reported as the skip reason
        return f"{type(err).__name__}: {err}".splitlines()[0]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = _postgres_available()
    if problem:
        if IN_CI:
            pytest.fail(
                f"PostgreSQL is required in CI and unreachable at {POSTGRES_URL}: {problem}"
            )
        pytest.skip(f"NOTICE: PostgreSQL variant skipped (unreachable: {problem})")
    return POSTGRES_URL


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _prepared(engine: Engine, settings: Settings) -> Engine:
    migrate(engine)
    load_directory(engine, settings.directory_file)
    return engine


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'read-model.db'}",
        temporal_task_queue=f"tq-{uuid.uuid4().hex[:10]}",
        # Its own SMS queue per test; no rate limit worth the name unless a test sets one.
        sms_task_queue=f"sms-{uuid.uuid4().hex[:10]}",
        sms_rate_limit_per_second=1000.0,
        workflow_id_prefix=f"t{uuid.uuid4().hex[:8]}-",
        reconcile_interval_seconds=60,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = _prepared(make_engine(settings.effective_database_url), settings)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Engine]:
    """The read model on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(settings.effective_database_url)
        yield _prepared(engine, settings)
        engine.dispose()
    else:
        yield _prepared(request.getfixturevalue("postgres_engine"), settings)


# ---- worker and API ----------------------------------------------------------------------


@pytest.fixture
async def env(
    ts_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping server with the project's real workers on the test's queues (modules
    that need another gateway or policy define their own `env`)."""
    async with running_worker(ts_env.client, engine, settings):
        yield ts_env


@pytest.fixture
async def http(
    any_engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on SQLite and on PostgreSQL, without a default token: each request brings
    its own."""
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with api_client(app, authorized=False) as client:
        yield client


@pytest.fixture
async def app_http(
    any_engine: Engine, settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """The app alone, no worker (SQLite and PostgreSQL), with the all-roles token: for answers
    that no running workflow shapes, such as the 4xx of bad input and of unknown cases."""
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with api_client(app) as http:
        http.app_engine = any_engine  # type: ignore[attr-defined]
        yield http


@pytest.fixture
async def stack(
    dev_env: WorkflowEnvironment, any_engine: Engine, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """API + real worker + dev server + read model (SQLite and PostgreSQL)."""
    app = create_app(settings, engine=any_engine, client=dev_env.client)
    async with running_worker(dev_env.client, any_engine, settings), api_client(app) as http:
        http.app_engine = any_engine  # type: ignore[attr-defined]
        yield http


# ---- attachments: a local clamd and an S3-compatible server (harness/attachments.py) -------


@pytest.fixture(scope="session")
def clamd_address() -> Iterator[str]:
    """clamd with the project's signatures (deploy/clamav/); required in CI."""
    if clamd_binary() is None:
        if IN_CI:
            pytest.fail("clamd is required in CI: `make test` installs Debian's clamav-daemon")
        pytest.skip("NOTICE: clamd not installed (make test installs clamav-daemon)")
    with local_clamd() as address:
        yield address


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1, with the bucket `jan-samvad-test`."""
    with local_s3() as endpoint:
        yield endpoint


@pytest.fixture(params=["folder", "s3"])
def attachment_settings(
    request: pytest.FixtureRequest, settings: Settings, clamd_address: str
) -> Settings:
    """`settings` with the local clamd, on the folder store and on the S3 store."""
    settings.clamd_address = clamd_address
    if request.param == "s3":
        settings.attachment_store = f"s3://jan-samvad-test/{uuid.uuid4().hex[:8]}"
        settings.attachment_s3_endpoint_url = request.getfixturevalue("s3_endpoint")
    return settings
