"""Settings, read from the environment (and `.env`); every field is documented in `.env.example`."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from schemas.enums import Channel
from schemas.escalation import LADDERS
from schemas.i18n import LanguageSettings
from schemas.reference import canonical_district
from schemas.review import SessionBatches

WEEKDAYS = {
    name: number
    for number, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class WorkerQueues(StrEnum):
    """Which task queues a worker process polls, so each kind of work scales on its own."""

    ALL = "all"  # workflows, their database activities and the SMS activities (make run)
    WORKFLOWS = "workflows"  # TEMPORAL_TASK_QUEUE: workflows and read-model activities
    SMS = "sms"  # SMS_TASK_QUEUE only: the rate-limited SMS activities
    DB = "db"  # DB_TASK_QUEUE only: the read-model activities (routing, projection)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class AuthProvider(StrEnum):
    """Who vouches for a bearer token (api/auth.py)."""

    TOKENS = "tokens"  # our token store: `python -m core.admin user create ...`
    OIDC = "oidc"  # JWTs signed by the state's identity provider (OIDC_* settings)
    BOTH = "both"  # our tokens (js_...) for clients, the provider's JWTs for people


class Settings(LanguageSettings):
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
    # SMS activities run on their own queue so that the rate limit below applies to them
    # alone (empty: they run on temporal_task_queue, without a limit).
    sms_task_queue: str = "jan-samvad-sms"
    # SMS handed to the gateway per second, across all workers (enforced by the Temporal
    # server): keep it at or below the Twilio account's sending rate.
    sms_rate_limit_per_second: float = Field(default=1.0, gt=0)
    # Read-model activities of complaint workflows (routing, projection) on their own queue so
    # database workers scale apart from workflow workers (empty: on temporal_task_queue).
    db_task_queue: str = ""
    worker_queues: WorkerQueues = WorkerQueues.ALL
    # Workflow tasks one worker process runs at once. A Python worker runs them on one core,
    # so more at once only makes each slower: past about 20, a deadline storm (thousands of
    # cases due at one moment) made every task outlast the server's 10 s workflow task
    # timeout, and the cases were retried instead of moved. Scale with worker processes.
    worker_workflow_task_slots: int = Field(default=20, ge=2, le=500)
    # New cases move by themselves (escalate, roll over, remind) up to this many minutes after
    # their moment, each at its own offset (Policy.timer_spread), so a day's cases due at one
    # 17:00 reach the workers as a stream. 0: at the moment itself (the embedded default).
    timer_spread_minutes: int = Field(default=0, ge=0, le=240)
    temporal_ui_port: int = 8233
    temporal_rpc_timeout_seconds: float = 5.0
    # The whole of an officer's, telecaller's or reviewer's action (an update, its outcome
    # included): past it the API answers 503 with Retry-After rather than hold the caller.
    action_timeout_seconds: float = Field(default=10.0, gt=0)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto the API believes (comma-separated
    # addresses or networks, e.g. "10.0.0.5,10.1.0.0/16"); empty: none, the peer is the client.
    forwarded_allow_ips: str = ""
    # The largest request body the API reads (JSON, forms, webhooks); larger: 413 unread.
    max_body_bytes: int = Field(default=262_144, ge=1024)
    # Remote cluster / Temporal Cloud. TLS: unset means "on when an API key or a client
    # certificate is given" (Temporal Cloud always needs TLS; a local dev server never has it).
    temporal_tls: bool | None = None
    temporal_tls_client_cert_file: Path | None = None  # mTLS: PEM certificate ...
    temporal_tls_client_key_file: Path | None = None  # ... and its PEM private key
    temporal_tls_server_ca_file: Path | None = None  # private CA of a self-hosted cluster
    temporal_tls_server_name: str = ""  # SNI / verification name when it differs from the host
    temporal_api_key: str = ""  # Temporal Cloud API key (instead of a client certificate)
    # Temporal SDK metrics (worker runtime) for Prometheus, e.g. "0.0.0.0:9464"; empty: off.
    temporal_metrics_bind_address: str = ""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = "http://localhost:8000"
    helpline_number: str = "181"
    # LANGUAGES (the languages citizens may choose) is inherited: schemas.i18n.LanguageSettings.

    directory_file: Path = PROJECT_ROOT / "core" / "seed" / "directory.json"
    policy_file: Path | None = None
    # Gazetted holidays (core/holidays.py): the state's own list, added to India's national
    # ones from the `holidays` package for this subdivision (empty: national only).
    holidays_file: Path | None = PROJECT_ROOT / "core" / "seed" / "holidays_jharkhand.json"
    holiday_subdivision: str = "JH"
    # The escalation ladder new cases climb (schemas/escalation.py): a shipped one by name
    # (`jharkhand`, `district_collector`), or a LADDER_FILE (JSON, replaces LADDER), checked
    # at start-up. Each case keeps the ladder it was registered under.
    ladder: str = "jharkhand"
    ladder_file: Path | None = None
    # The weekday each district's own review (the District Collector's) sits on, as
    # `district:weekday` pairs, comma separated (`Ranchi:wednesday,Dumka:monday`); districts
    # not named sit on the forum's own weekday (Friday on `district_collector`).
    district_review_days: str = ""
    reconcile_interval_seconds: int = Field(default=60, ge=5)
    # How a review session works through its agenda (schemas.review.SessionBatches): agenda
    # rows frozen per activity, notices in flight at once, cases per delivery activity (a
    # bulk decision's, the close's rollovers), case updates in flight within one, updates a
    # session's run takes before it continues as new, and how long a notice keeps trying
    # through an SMS outage before it is marked failed and listed.
    review_freeze_batch: int = Field(default=500, ge=1, le=5000)
    review_notice_batch: int = Field(default=50, ge=1, le=500)
    review_decision_batch: int = Field(default=200, ge=1, le=2000)
    review_update_concurrency: int = Field(default=20, ge=1, le=200)
    review_updates_per_run: int = Field(default=500, ge=2, le=1000)
    review_notice_retry_hours: int = Field(default=72, ge=1, le=24 * 14)
    # Sidhi Baat stays a meeting: it hears the citizens who asked to meet the CM and then the
    # worst this many cases (most times undecided, oldest); the rest roll over to the next,
    # ahead of newer ones, prepared at the weekly reviews between (0: no bound).
    sidhi_baat_heard_max: int = Field(default=100, ge=0, le=100_000)

    # Abuse controls for citizens (api/ratelimit.py). A phone number may file this many
    # complaints per IST calendar day (0: no limit); a telecaller may override with a reason.
    complaints_per_phone_per_day: int = Field(default=5, ge=0)
    # Public tracking (GET /v1/track): fixed windows shared by all API replicas (database).
    track_window_seconds: int = Field(default=900, ge=1)
    track_requests_per_client: int = Field(default=60, ge=1)  # any look-up, per address
    track_failures_per_client: int = Field(default=10, ge=1)  # wrong phone / unknown number
    track_failures_per_number: int = Field(default=5, ge=1)  # per registration number

    # Open311 GeoReport v2 (/open311/v2/, api/routes/open311.py). The jurisdiction_id this
    # endpoint serves (a request naming another is 404; naming none is served).
    open311_jurisdiction_id: str = Field(default="jharkhand.gov.in", min_length=1)
    # Identical POSTs from one client within this many seconds answer the first request
    # instead of registering a second complaint (clients re-send failed posts); 0: off.
    open311_duplicate_window_seconds: int = Field(default=3600, ge=0, le=30 * 86400)
    # The channel recorded for requests posted through Open311, and per-client overrides as
    # `client:channel` pairs, comma separated (client: the integration user's name).
    open311_channel: Channel = Channel.MOBILE_APP
    open311_client_channels: str = ""

    # Attachments (docs/attachments.md): where the files live (empty: DATA_DIR/attachments;
    # a folder; or s3://bucket/prefix, with ATTACHMENT_S3_ENDPOINT_URL for a non-AWS service
    # and credentials from the AWS_* variables), the limits, and the virus scanner (clamd at a
    # Unix socket path or host:port; empty: the local clamd `make run` starts in DATA_DIR).
    attachment_store: str = ""
    attachment_s3_endpoint_url: str = ""
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)  # per file
    attachment_max_case_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)  # per case
    attachment_max_per_case: int = Field(default=30, ge=1)
    attachment_max_pixels: int = Field(default=50_000_000, ge=10_000)  # decompression bombs
    # Files of a case closed this many days ago are removed (their references stay, marked
    # with the reason); 0: kept for ever.
    attachment_retention_days: int = Field(default=1095, ge=0)
    # Open311 media_url: fetched by a worker, within this time and ATTACHMENT_MAX_BYTES.
    media_fetch_timeout_seconds: float = Field(default=20.0, gt=0)
    # Networks a media_url may point into although they are not public addresses (an
    # intranet's media server; the tests' local server), comma separated; empty: none.
    media_fetch_allowed_networks: str = ""
    clamd_address: str = ""

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    # India DLT: the principal entity ID registered on the DLT portal (templates carry
    # their own DLT template IDs, see activities/templates.py).
    twilio_dlt_entity_id: str = ""
    # The verification call made by machine (IVR, activities/voice.py): the caller ID (empty:
    # TWILIO_FROM_NUMBER), at most this many calls in progress at once, and the voice of
    # `<Say>` (an Indian one) unless IVR_AUDIO_BASE_URL names recorded prompts
    # (`<base>/<language>/<prompt>.mp3`, api/routes/voice.py).
    twilio_voice_from_number: str = ""
    ivr_max_concurrent_calls: int = Field(default=20, ge=1)
    ivr_voice_hi: str = "Polly.Aditi"
    ivr_voice_en: str = "Polly.Raveena"
    ivr_audio_base_url: str = ""
    # Where the citizens' spoken remarks are fetched from (Twilio's REST API, with the
    # account's SID and token): `<base>/2010-04-01/Accounts/<sid>/Recordings/<RE...>.wav`.
    twilio_api_base_url: str = "https://api.twilio.com"
    # The kinds new cases are verified by IVR for (comma separated, e.g. `complaint`),
    # overriding the policy file's `ivr_kinds` when set; `make run` sets `complaint`.
    ivr_kinds: str = ""
    # WhatsApp through the same Twilio account (activities/whatsapp.py, docs/whatsapp.md): the
    # centre's WhatsApp sender (`whatsapp:+91...`; empty: WhatsApp is off); a JSON file that
    # maps each catalogue text to its approved template's Content SID and variables (outside
    # the 24-hour window only those may be sent; a text without one goes by SMS); and how
    # long an unfinished conversation may stay idle before it is discarded (minutes).
    twilio_whatsapp_from: str = ""
    whatsapp_templates_file: str = ""
    whatsapp_conversation_idle_minutes: int = Field(default=30, ge=1)

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT  # json: one JSON object per line (production)
    metrics_enabled: bool = True  # the API's GET /metrics (Prometheus)
    # OpenTelemetry traces (API requests, workflow starts, workflows, activities) over OTLP/HTTP.
    otel_enabled: bool = False
    otel_traces_endpoint: str = ""  # e.g. http://collector:4318/v1/traces; empty: OTEL_* vars
    otel_service_name: str = "jan-samvad"  # "-api" / "-worker" is appended

    # Authentication: our token store, an OIDC provider's JWTs, or both.
    auth_provider: AuthProvider = AuthProvider.TOKENS
    auth_token_days: int = Field(default=90, ge=1)  # lifetime of a token the CLI issues
    oidc_issuer: str = ""  # the provider's "iss", e.g. https://sso.example.gov.in/realms/js
    oidc_audience: str = ""  # the "aud" our API's tokens carry
    oidc_jwks_url: str = ""  # the provider's signing keys (JWKS), cached
    oidc_subject_claim: str = "sub"  # the claim naming the caller (audit trail)
    # Claims carrying our roles (a list or a space-separated string; a dotted path reaches a
    # nested claim, e.g. realm_access.roles) and the officer's district / department code.
    oidc_roles_claim: str = "roles"
    oidc_district_claim: str = "district"
    oidc_department_claim: str = "department"
    # The pages' "Sign in with the state's sign-in service" (authorization code flow with
    # PKCE; endpoints from the issuer's discovery document): our client at the provider, and
    # its secret for a confidential client (empty: a public client). Empty ID: no button.
    oidc_client_id: str = ""
    oidc_client_secret: str = ""

    # Citizen data inside Temporal (core/codec.py): AES-256-GCM keys as `id:base64key`, comma
    # separated, and/or a file of them (one per line, e.g. a mounted secret). Encrypts with
    # PAYLOAD_ENCRYPTION_KEY_ID (default: the first key); every listed key still decrypts.
    # Development without keys: one is generated into DATA_DIR/payload-keys.
    payload_encryption_keys: str = ""
    payload_encryption_keys_file: Path | None = None
    payload_encryption_key_id: str = ""
    # Origins of the Temporal Web UI allowed to call the codec endpoint (/v1/codec), comma
    # separated; the UI sends the engineer's credentials cross-origin.
    codec_cors_origins: str = "http://localhost:8233,http://127.0.0.1:8233"

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.worker_queues is WorkerQueues.SMS and not self.sms_task_queue:
            raise ValueError("WORKER_QUEUES=sms needs SMS_TASK_QUEUE")
        if self.worker_queues is WorkerQueues.DB and not self.db_task_queue:
            raise ValueError("WORKER_QUEUES=db needs DB_TASK_QUEUE")
        if self.environment is Environment.PRODUCTION and (
            not self.database_url or self.database_url.startswith("sqlite")
        ):
            raise ValueError("DATABASE_URL must name a PostgreSQL database in production")
        if self.auth_provider is not AuthProvider.TOKENS and not (
            self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url
        ):
            raise ValueError(
                f"AUTH_PROVIDER={self.auth_provider} needs OIDC_ISSUER, OIDC_AUDIENCE and"
                " OIDC_JWKS_URL"
            )
        if self.environment is Environment.PRODUCTION and not (
            self.payload_encryption_keys or self.payload_encryption_keys_file
        ):
            raise ValueError(
                "production encrypts citizen data in Temporal: set PAYLOAD_ENCRYPTION_KEYS or"
                " PAYLOAD_ENCRYPTION_KEYS_FILE (python -m core.codec generate-key)"
            )
        try:
            self.open311_channel_by_client  # noqa: B018 (validated by building it)
        except ValueError:
            valid = ", ".join(c.value for c in Channel)
            raise ValueError(
                f"OPEN311_CLIENT_CHANNELS must be client:channel pairs, comma separated, with "
                f"a channel among {valid}"
            ) from None
        if self.ladder not in LADDERS:
            raise ValueError(f"LADDER must be one of {', '.join(LADDERS)} (or set LADDER_FILE)")
        self.district_review_weekdays  # noqa: B018 (validated by building it)
        if bool(self.temporal_tls_client_cert_file) != bool(self.temporal_tls_client_key_file):
            raise ValueError(
                "TEMPORAL_TLS_CLIENT_CERT_FILE and TEMPORAL_TLS_CLIENT_KEY_FILE go together"
            )
        return self

    @property
    def open311_channel_by_client(self) -> dict[str, Channel]:
        """OPEN311_CLIENT_CHANNELS as a mapping (validated at start-up)."""
        pairs = (p.strip() for p in self.open311_client_channels.split(",") if p.strip())
        return {
            client.strip(): Channel(channel.strip())
            for client, channel in (p.rsplit(":", 1) for p in pairs)
        }

    @property
    def district_review_weekdays(self) -> dict[str, int]:
        """DISTRICT_REVIEW_DAYS as district -> date.weekday(); ValueError naming the bad pair."""
        days: dict[str, int] = {}
        for pair in (p.strip() for p in self.district_review_days.split(",") if p.strip()):
            district, _, weekday = pair.rpartition(":")
            name = canonical_district(district.strip())
            day = WEEKDAYS.get(weekday.strip().casefold())
            if name is None or day is None:
                raise ValueError(
                    f"DISTRICT_REVIEW_DAYS: {pair!r} is not district:weekday (a Jharkhand "
                    f"district, a weekday among {', '.join(WEEKDAYS)})"
                )
            days[name] = day
        return days

    @property
    def effective_clamd_address(self) -> str:
        return self.clamd_address or str(self.data_dir / "clamd" / "clamd.sock")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'jansamvad.db'}"

    @property
    def codec_cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.codec_cors_origins.split(",") if o.strip()]

    @property
    def twilio_configured(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_from_number or self.twilio_messaging_service_sid)
        )

    def review_batches(self) -> SessionBatches:
        """The review sessions' batch sizes (REVIEW_*), as the planner passes them on."""
        return SessionBatches(
            freeze=self.review_freeze_batch,
            notices=self.review_notice_batch,
            decisions=self.review_decision_batch,
            concurrency=self.review_update_concurrency,
            updates_per_run=self.review_updates_per_run,
            notice_retry_for=timedelta(hours=self.review_notice_retry_hours),
        )

    def review_batches_for(self, invites_citizens: bool) -> SessionBatches:
        """A forum's batches: one that invites citizens (Sidhi Baat) hears a bounded agenda."""
        batches = self.review_batches()
        if invites_citizens and self.sidhi_baat_heard_max:
            return batches.model_copy(update={"heard_max": self.sidhi_baat_heard_max})
        return batches


@lru_cache
def get_settings() -> Settings:
    return Settings()
