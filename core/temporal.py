"""The Temporal connection shared by the API, the workers and the admin command line: the
client (TLS, API key, codec, tracing) and the SDK's metrics runtime. Starting a case's workflow
is `workflows/start.py`."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from core.codec import data_converter
from core.settings import Settings
from core.tracing import temporal_interceptors


def tls_config(settings: Settings) -> bool | TLSConfig:
    """TLS towards the Temporal frontend: off for a local dev server, on (system roots) for
    Temporal Cloud with an API key, mutual TLS with a client certificate and key."""
    paths = (
        settings.temporal_tls_client_cert_file,
        settings.temporal_tls_client_key_file,
        settings.temporal_tls_server_ca_file,
    )
    wanted = settings.temporal_tls
    if wanted is None:
        wanted = bool(settings.temporal_api_key or settings.temporal_tls_client_cert_file)
    if not wanted:
        return False
    if not any(paths) and not settings.temporal_tls_server_name:
        return True
    cert, key, ca = (path.read_bytes() if path else None for path in paths)
    return TLSConfig(
        client_cert=cert,
        client_private_key=key,
        server_root_ca_cert=ca,
        domain=settings.temporal_tls_server_name or None,
    )


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """One client per process, always with the pydantic data converter (encrypting citizen data
    when payload keys are configured: core/codec.py); local dev server, self-hosted cluster
    (mTLS) or Temporal Cloud (API key or mTLS) by settings alone."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key or None,
        tls=tls_config(settings),
        interceptors=temporal_interceptors(settings),
        data_converter=data_converter(settings),
        lazy=lazy,
        runtime=runtime,
    )


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics (task latencies, poll and slot use,
    activity failures) for Prometheus on TEMPORAL_METRICS_BIND_ADDRESS; None when unset."""
    if not settings.temporal_metrics_bind_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=settings.temporal_metrics_bind_address,
                durations_as_seconds=True,
            ),
            global_tags={"service": "jan-samvad-worker"},
        )
    )
