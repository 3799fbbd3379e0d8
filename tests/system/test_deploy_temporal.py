"""Connecting to a remote cluster / Temporal Cloud, and the deploy-time admin command."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, TLSConfig
from temporalio.testing import WorkflowEnvironment

from core.admin import (
    SearchAttributeConflict,
    register_namespace,
    register_search_attributes,
    wanted_search_attributes,
)
from core.settings import Settings
from core.temporal import connect, metrics_runtime, tls_config
from schemas import search_attributes
from tests.paths import HISTORIES
from workers.replay import replay


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


# ---- TLS and API key ---------------------------------------------------------------------


def test_local_dev_server_has_no_tls() -> None:
    assert tls_config(_settings()) is False


def test_api_key_turns_tls_on_with_system_roots() -> None:
    """Temporal Cloud with an API key: TLS, verified against the system's CAs."""
    assert tls_config(_settings(temporal_api_key="secret")) is True
    # An explicit setting wins (a TLS-terminating proxy in front of a dev cluster).
    assert tls_config(_settings(temporal_api_key="secret", temporal_tls=False)) is False


def test_client_certificate_gives_mutual_tls(tmp_path: Path) -> None:
    cert, key, ca = tmp_path / "c.pem", tmp_path / "c.key", tmp_path / "ca.pem"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    ca.write_bytes(b"CA")
    config = tls_config(
        _settings(
            temporal_tls_client_cert_file=cert,
            temporal_tls_client_key_file=key,
            temporal_tls_server_ca_file=ca,
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert isinstance(config, TLSConfig)
    assert config.client_cert == b"CERT" and config.client_private_key == b"KEY"
    assert config.server_root_ca_cert == b"CA"
    assert config.domain == "temporal.internal"


def test_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="go together"):
        _settings(temporal_tls_client_cert_file=tmp_path / "c.pem")


def test_metrics_runtime_only_when_an_address_is_set() -> None:
    assert metrics_runtime(_settings()) is None


async def test_connect_uses_namespace_and_api_key(dev_env: WorkflowEnvironment) -> None:
    """The settings reach the client: namespace, and the API key as its bearer token."""
    settings = _settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace="default",
        temporal_api_key="not-checked-by-the-dev-server",
        temporal_tls=False,
    )
    client = await connect(settings)
    assert client.namespace == "default"
    assert client.api_key == "not-checked-by-the-dev-server"
    assert await client.service_client.check_health()


# ---- the admin command -------------------------------------------------------------------


async def _fresh_namespace(client: Client) -> Client:
    name = f"admin-{uuid.uuid4().hex[:8]}"
    assert await register_namespace(client, name) is True
    assert await register_namespace(client, name) is False  # idempotent
    fresh = await Client.connect(
        client.service_client.config.target_host,
        namespace=name,
        data_converter=pydantic_data_converter,
    )
    for _ in range(100):  # a new namespace is "not found" for a moment
        try:
            await fresh.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=name)
            )
            return fresh
        except RPCError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"namespace {name} never became usable")


async def test_register_search_attributes_adds_missing_once(dev_env: WorkflowEnvironment) -> None:
    client = await _fresh_namespace(dev_env.client)
    added = await register_search_attributes(client, client.namespace)
    assert added == sorted(key.name for key in search_attributes.ALL)
    assert await register_search_attributes(client, client.namespace) == []
    assert set(wanted_search_attributes()) == set(added)


async def test_register_search_attributes_refuses_a_type_conflict(
    dev_env: WorkflowEnvironment,
) -> None:
    client = await _fresh_namespace(dev_env.client)
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={"EscalationLevel": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    with pytest.raises(SearchAttributeConflict, match="EscalationLevel"):
        await register_search_attributes(client, client.namespace)


# ---- replaying a case's history (runbook) ------------------------------------------------

HAPPY_PATH = HISTORIES / "happy_path.json"


def _tampered_history() -> str:
    """The happy path with its first activity renamed: what changed workflow code looks like
    to an old history (a non-deterministic change)."""
    history = json.loads(HAPPY_PATH.read_text(encoding="utf-8"))
    for event in history["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled:
            scheduled["activityType"]["name"] = "renamed_activity"
            break
    return json.dumps(history)


async def test_replay_reports_clean_and_broken_histories() -> None:
    clean = WorkflowHistory.from_json("complaint-2026-1", HAPPY_PATH.read_text(encoding="utf-8"))
    assert await replay(clean) is None
    broken = WorkflowHistory.from_json("complaint-2026-1", _tampered_history())
    failure = await replay(broken)
    assert failure is not None and "renamed_activity" in str(failure)


def test_replay_command_exit_code(tmp_path: Path) -> None:
    tampered = tmp_path / "history.json"
    tampered.write_text(_tampered_history(), encoding="utf-8")
    command = [sys.executable, "-m", "workers.replay", "--history"]
    ok = subprocess.run([*command, str(HAPPY_PATH)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "no failure" in ok.stderr
    bad = subprocess.run([*command, str(tampered)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "replay of replayed failed" in bad.stderr
