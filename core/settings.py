"""Settings, read from the environment (and `.env`); every field is documented in `.env.example`."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Process configuration shared by the API, the workers and `make run`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = PROJECT_ROOT / ".data"

    database_url: str = ""  # empty: SQLite file in data_dir
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "jan-samvad"
    # Prepended to workflow IDs: lets several deployments (or test runs) share a namespace.
    workflow_id_prefix: str = ""
    sms_task_queue: str = ""  # empty: SMS activities run on temporal_task_queue
    temporal_ui_port: int = 8233
    temporal_rpc_timeout_seconds: float = 5.0

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = "http://localhost:8000"
    helpline_number: str = "181"

    directory_file: Path = PROJECT_ROOT / "core" / "seed" / "directory.json"
    policy_file: Path | None = None
    reconcile_interval_seconds: int = Field(default=60, ge=5)

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and (
            not self.database_url or self.database_url.startswith("sqlite")
        ):
            raise ValueError("DATABASE_URL must name a PostgreSQL database in production")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'jansamvad.db'}"

    @property
    def twilio_configured(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_from_number or self.twilio_messaging_service_sid)
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
