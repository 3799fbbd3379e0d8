"""The deployment files, checked without a Docker engine.

`docker-compose.yml` is interpolated the way `docker compose` does it (values from
`.env.example`), then validated against the compose specification's JSON schema committed in
`deploy/schema/`; its services, entry points and environment names are checked against the
code (`core.settings.Settings`), and so are `.env.example`, the Dockerfile and `.dockerignore`.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from core.admin import main as admin_main
from core.settings import PROJECT_ROOT, Environment, Settings, WorkerQueues
from workers.main import Queues, selected_queues

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
SCHEMA_FILE = PROJECT_ROOT / "deploy" / "schema" / "compose-spec.json"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"

SETTING_NAMES = {name.upper() for name in Settings.model_fields}
APP_SERVICES = {"api", "worker", "sms-worker", "migrate", "temporal-setup"}
# `$$`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `${NAME?error}`.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_DOCUMENTED = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=(.*)$")


# ---- helpers: what `docker compose config` does before it validates ----------------------


class MissingVariable(ValueError):
    """A `${NAME:?message}` whose variable is unset or empty."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Substitute variables in every string of a loaded compose document, as compose does."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        current = env.get(name)
        op, arg = match["op"], match["arg"] or ""
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-") and unset:
            return arg
        if op in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        return current or ""

    return _VARIABLE.sub(substitute, value)


def compose_variables(text: str) -> set[str]:
    """Names of the variables a compose file substitutes."""
    return {m["braced"] or m["bare"] for m in _VARIABLE.finditer(text) if not m["escaped"]}


def documented_variables() -> dict[str, str]:
    """`NAME -> value` of every variable `.env.example` shows, commented out or not."""
    found = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _DOCUMENTED.match(line)
        if match:
            found[match[1]] = match[2]
    return found


def active_variables() -> dict[str, str]:
    """The variables `.env.example` sets (its uncommented lines): what a copy as `.env` sets."""
    found = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            found[name] = value
    return found


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as `docker compose config` sees it with `.env.example` as `.env`."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))  # merges `<<:` anchors
    return interpolate(raw, active_variables() if env is None else env)


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator().iter_errors(document)
    ]


# ---- docker-compose.yml ------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    assert schema_errors(load_compose()) == []


def test_schema_validation_rejects_what_docker_compose_rejects() -> None:
    """The check bites: a misspelt key, a wrong type, a bad dependency condition fail."""
    good = load_compose()
    misspelt = copy.deepcopy(good)
    misspelt["services"]["api"]["helthcheck"] = misspelt["services"]["api"].pop("healthcheck")
    wrong_type = copy.deepcopy(good)
    wrong_type["services"]["worker"]["deploy"]["replicas"] = {"count": 2}
    bad_condition = copy.deepcopy(good)
    bad_condition["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_done"
    for broken in (misspelt, wrong_type, bad_condition):
        assert schema_errors(broken), "the schema accepted a broken compose file"


def test_required_password_must_be_set() -> None:
    """`${POSTGRES_PASSWORD:?...}`: compose refuses to start without a password."""
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        load_compose(env={})


def test_services_of_a_production_deployment_are_present() -> None:
    services = load_compose()["services"]
    assert {"postgres", "temporal", "temporal-ui", *APP_SERVICES} <= set(services)
    for name in ("postgres", "temporal", "api", "worker"):
        assert services[name].get("healthcheck"), f"{name} has no health check"
        assert services[name]["restart"] == "unless-stopped"
    for name in ("migrate", "temporal-setup"):
        assert services[name]["restart"] == "no", f"one-shot {name} must not restart"
    # Horizontal scaling: several API replicas and workers.
    assert int(services["api"]["deploy"]["replicas"]) >= 2
    assert int(services["worker"]["deploy"]["replicas"]) >= 2


def test_dependencies_exist_and_start_in_order() -> None:
    services = load_compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["temporal-setup"]["condition"] == "service_completed_successfully"
    assert services["temporal"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_app_services_run_the_projects_entry_points() -> None:
    services = load_compose()["services"]
    for name in APP_SERVICES:
        command = services[name]["command"]
        assert command[:2] == ["python", "-m"], name
        module = command[2]
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        assert services[name]["build"] == "."
    # The admin task the compose file runs is one the command accepts.
    admin_args = services["temporal-setup"]["command"][3:]
    with pytest.raises(SystemExit) as parsed:
        admin_main([*admin_args, "--help"])
    assert parsed.value.code == 0


def test_app_environment_names_are_settings_and_make_a_valid_production_config() -> None:
    services = load_compose()["services"]
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        unknown = set(environment) - SETTING_NAMES
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
        settings = Settings(_env_file=None, **{k.lower(): v for k, v in environment.items()})
        assert settings.environment is Environment.PRODUCTION
        database = urlsplit(settings.database_url)
        assert database.scheme == "postgresql+psycopg"
        assert database.hostname == "postgres" and database.hostname in services
        assert settings.temporal_address.split(":")[0] in services
    assert services["worker"]["environment"]["TEMPORAL_METRICS_BIND_ADDRESS"].endswith(":9464")
    assert "9464" in map(str, services["worker"]["expose"])


def test_every_compose_variable_is_documented_in_env_example() -> None:
    used = compose_variables(COMPOSE_FILE.read_text(encoding="utf-8"))
    # $${POSTGRES_USER} is the container's own variable, escaped from compose.
    missing = used - set(documented_variables())
    assert not missing, f"document in .env.example: {sorted(missing)}"


# ---- .env.example ------------------------------------------------------------------------


def test_env_example_documents_every_setting() -> None:
    documented = documented_variables()
    missing = SETTING_NAMES - set(documented)
    assert not missing, f"settings missing from .env.example: {sorted(missing)}"
    compose_only = set(documented) - SETTING_NAMES
    used = compose_variables(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert compose_only <= used, f"documented but unused: {sorted(compose_only - used)}"
    # Each variable (or group of related ones) has a prose comment above it.
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        match = _DOCUMENTED.match(line)
        if not match:
            continue
        above = index - 1
        while above >= 0 and _DOCUMENTED.match(lines[above]):
            above -= 1
        if above < 0 or not lines[above].startswith("#"):
            pytest.fail(f".env.example: {match[1]} has no explanation above it")


def test_env_example_copied_as_dot_env_loads(tmp_path: Path) -> None:
    """A fresh `cp .env.example .env` must not break `make run` (development defaults)."""
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings(_env_file=env_file)
    assert settings.environment is Environment.DEVELOPMENT


# ---- Dockerfile and .dockerignore ---------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in (raw.strip() for raw in text.splitlines())
        if line and not line.startswith("#")
    ]


def test_dockerfile_runs_the_code_as_a_non_root_user() -> None:
    instructions = _dockerfile_instructions()
    stages = [i for i, (op, _) in enumerate(instructions) if op == "FROM"]
    final = instructions[stages[-1] :]
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the runtime stage must drop root"
    copied = {
        source.removeprefix("./").rstrip("/")
        for op, arg in final
        if op == "COPY"
        for source in [word for word in arg.split() if not word.startswith("--")][:-1]
    }
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # Top-level packages, from the find patterns ("api*" -> "api").
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in include}
    assert packages | {"migrations", "alembic.ini"} <= copied
    cmd = json.loads(next(arg for op, arg in final if op == "CMD"))
    assert cmd[:2] == ["python", "-m"] and importlib.util.find_spec(cmd[2]) is not None
    exposed = " ".join(arg for op, arg in final if op == "EXPOSE").split()
    assert "8000" in exposed


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".data", ".env"} <= ignored


def test_workers_are_split_by_task_queue() -> None:
    services = load_compose()["services"]
    assert services["worker"]["environment"]["WORKER_QUEUES"] == "workflows"
    assert services["sms-worker"]["environment"]["WORKER_QUEUES"] == "sms"
    assert services["db-worker"]["environment"]["WORKER_QUEUES"] == "db"
    both = Settings(worker_queues=WorkerQueues.ALL, sms_task_queue="sms")
    assert selected_queues(both) == Queues(workflows=True, sms=True, db=False)
    assert selected_queues(both.model_copy(update={"sms_task_queue": ""})) == (True, False, False)
    assert selected_queues(both.model_copy(update={"db_task_queue": "db"})) == (True, True, True)
    assert selected_queues(Settings(worker_queues=WorkerQueues.WORKFLOWS)) == (True, False, False)
    assert selected_queues(Settings(worker_queues=WorkerQueues.SMS, sms_task_queue="s")) == (
        False,
        True,
        False,
    )
    assert selected_queues(Settings(worker_queues=WorkerQueues.DB, db_task_queue="d")) == (
        False,
        False,
        True,
    )
    with pytest.raises(ValueError, match="DB_TASK_QUEUE"):
        Settings(worker_queues=WorkerQueues.DB, db_task_queue="")
    with pytest.raises(ValueError, match="SMS_TASK_QUEUE"):
        Settings(worker_queues=WorkerQueues.SMS, sms_task_queue="")
