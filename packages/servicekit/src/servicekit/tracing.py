"""OpenTelemetry traces: a request through the gateway is one trace across every process it
touches, down to each SQL statement.

Off by default: nothing is instrumented, so a suite without a collector pays nothing per request.
`OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it on, exporting
over OTLP/HTTP in batches; the standard `OTEL_*` variables (service name aside, which is the
part's own) configure the exporter as the OpenTelemetry specification says.

Each app gets its own `TracerProvider` rather than the process-wide one, so that several apps in
one process (the tests' in-process suite) still say which service each span came from. The W3C
`traceparent` header carries the trace between processes: the httpx instrumentation writes it on
every outgoing call, the FastAPI instrumentation reads it on the way in.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

# Probes and scrapes would be most of the spans and say nothing about a request.
UNTRACED = "healthz,readyz,metrics"
# Pool usage is exported as Prometheus metrics (servicekit.metrics), not through OpenTelemetry.
_NO_METRICS = NoOpMeterProvider()


class TracingSettings(BaseSettings):
    """The standard OpenTelemetry variables that decide whether traces are exported."""

    model_config = SettingsConfigDict(env_prefix="OTEL_", extra="ignore")

    exporter_otlp_endpoint: str | None = None
    exporter_otlp_traces_endpoint: str | None = None
    sdk_disabled: bool = False

    @property
    def enabled(self) -> bool:
        """Whether a collector is configured (and the SDK not switched off)."""
        return not self.sdk_disabled and bool(
            self.exporter_otlp_endpoint or self.exporter_otlp_traces_endpoint
        )


def provider_from_environment(service: str) -> TracerProvider | None:
    """A provider exporting this service's spans over OTLP, or None when tracing is off."""
    if not TracingSettings().enabled:
        return None
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    # The exporter reads the endpoint, headers, timeout and compression from OTEL_* itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def provider(app: FastAPI) -> TracerProvider | None:
    """The app's tracer provider, None when it is not traced."""
    found: TracerProvider | None = getattr(app.state, "tracer_provider", None)
    return found


def trace_app(app: FastAPI, tracer_provider: TracerProvider | None) -> None:
    """Trace the app's requests with `tracer_provider` (before it starts; None leaves it alone).

    Its engine and outgoing clients, made in its lifespan, are traced with the same provider
    (`trace_engine`, `trace_client`).
    """
    app.state.tracer_provider = tracer_provider
    if tracer_provider is not None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=tracer_provider, excluded_urls=UNTRACED
        )


def trace_engine(app: FastAPI, engine: AsyncEngine) -> None:
    """Trace the app's SQL statements, when the app is traced."""
    found = provider(app)
    if found is not None:
        # The per-engine tracer `SQLAlchemyInstrumentor` itself attaches: the instrumentor is a
        # process-wide singleton (a second app's engine would be skipped) and also patches
        # `create_engine` everywhere with the first app's provider.
        EngineTracer(  # type: ignore[no-untyped-call]
            found.get_tracer("servicekit.tracing"),
            engine.sync_engine,
            _NO_METRICS.get_meter("servicekit.tracing").create_up_down_counter(
                "db.client.connections.usage"
            ),
        )


def trace_client(app: FastAPI, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Trace the app's calls through `client` (and send `traceparent`), when the app is traced."""
    found = provider(app)
    if found is not None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=found)
    return client


def shutdown(app: FastAPI) -> None:
    """Flush what is still batched (at the end of the app's life)."""
    found = provider(app)
    if found is not None:
        found.shutdown()
