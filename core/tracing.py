"""Optional OpenTelemetry tracing (OTEL_ENABLED): one trace from the HTTP request through the
workflow start to the workflow's activities, exported over OTLP/HTTP.

Off by default, and then nothing here runs: no exporter, no interceptor, no middleware.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from core.settings import Settings

# The process's provider, once `configure_tracing` ran (API or worker main, or a test).
_provider: TracerProvider | None = None


def configure_tracing(
    settings: Settings, *, service: str, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Set up the process's tracer provider when tracing is on; `service` is "api" or
    "worker". `exporter` replaces OTLP (tests use an in-memory one)."""
    global _provider
    if not settings.otel_enabled:
        return None
    if exporter is None:
        # Imported here: the exporter pulls in `requests`, needed only when tracing is on.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Unset endpoint: the exporter's own OTEL_EXPORTER_OTLP_* variables decide.
        exporter = OTLPSpanExporter(endpoint=settings.otel_traces_endpoint or None)
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"{settings.otel_service_name}-{service}"})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if _provider is None:
        trace.set_tracer_provider(provider)  # third-party instrumentation finds it there
    _provider = provider
    return provider


def temporal_interceptors(settings: Settings) -> list[Interceptor]:
    """Client interceptors; a worker built on the client inherits them (workflow and
    activity spans, context carried in Temporal headers)."""
    if not settings.otel_enabled:
        return []
    tracer = (_provider or trace.get_tracer_provider()).get_tracer("jan-samvad")
    return [TracingInterceptor(tracer)]


def instrument_app(app: FastAPI, settings: Settings) -> None:
    """Server spans for every API request but the health check and the metrics scrape."""
    if settings.otel_enabled:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=_provider, excluded_urls="healthz,metrics"
        )


def shutdown_tracing() -> None:
    """Flush the spans still buffered (at process exit)."""
    if _provider is not None:
        _provider.shutdown()
