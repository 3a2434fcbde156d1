"""OpenTelemetry: one request through the gateway is one trace across every service it reached,
down to their SQL statements, and the access lines carry that trace's id (servicekit.tracing).

The four apps run in-process, each traced with its own provider (so each span says which service
it came from) into one in-memory exporter; `traceparent` crosses between them over HTTP as it
does between processes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from servicekit.tracing import TracingSettings, provider_from_environment, trace_app
from tests.gateway.conftest import auth_settings, gateway_settings
from tests.support.stack import running_apps

EXPORTER = InMemorySpanExporter()


def _traced(app: FastAPI) -> None:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: app.state.service_name}))
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace_app(app, provider)


@pytest.fixture(scope="module")
async def traced(
    gateway_db: str, commitments_db: str, ratings_db: str, evidence_db: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_apps(
        auth_settings(),
        commitments_db=commitments_db,
        evidence_db=evidence_db,
        ratings_db=ratings_db,
        gateway=gateway_settings(gateway_db),
        prepare=_traced,
    ) as apps:
        yield apps.gateway


def _service(span: ReadableSpan) -> str:
    return str(span.resource.attributes[SERVICE_NAME])


async def test_a_composed_read_is_one_trace_across_every_service_it_reached(
    traced: httpx.AsyncClient, writer: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    area = await traced.post(
        "/v1/policy-areas", json={"slug": f"t-{uuid.uuid4().hex[:8]}", "name": "T"}, headers=writer
    )
    source = await traced.post(
        "/v1/sources",
        json={
            "reference": f"TS-{uuid.uuid4().hex[:6]}",
            "title": "Plan",
            "publisher": "DHSC",
            "kind": "plan",
        },
        headers=writer,
    )
    commitment = await traced.post(
        "/v1/commitments",
        json={
            "reference": f"TR-{uuid.uuid4().hex[:6]}",
            "title": "Traced (fictional)",
            "text": "We will.",
            "policy_area_id": area.json()["id"],
            "source_id": source.json()["id"],
        },
        headers=writer,
    )
    assert commitment.status_code == 201, commitment.text
    EXPORTER.clear()
    with caplog.at_level(logging.INFO, logger="scrutiny.access"):
        r = await traced.get(f"/v1/commitments/{commitment.json()['id']}/scorecard")
    assert r.status_code == 200, r.text

    spans = EXPORTER.get_finished_spans()
    (root,) = [
        s for s in spans if s.kind == SpanKind.SERVER and _service(s) == "gateway" and not s.parent
    ]
    trace_id = root.context.trace_id
    # Other traces are the background work meanwhile (feed polls, the sequencers' statements).
    mine = [s for s in spans if s.context.trace_id == trace_id]
    assert {_service(s) for s in mine} == {"gateway", "commitments", "evidence", "ratings"}
    # Every call the gateway made arrived as a request span of the service it called, its
    # child. (Between processes that span is a SERVER span; in one process the ASGI
    # instrumentation sees the caller's span still current and makes it INTERNAL.)
    calls = {
        s.context.span_id for s in mine if s.kind == SpanKind.CLIENT and _service(s) == "gateway"
    }
    served = [
        s
        for s in mine
        if _service(s) != "gateway" and s.parent is not None and s.parent.span_id in calls
    ]
    assert {_service(s) for s in served} == {"commitments", "evidence", "ratings"}
    assert len(served) == len(calls), "a call the gateway made left no span where it arrived"
    # Down to the database: the services' SQL statements are spans of the same trace.
    sql = {
        _service(s)
        for s in mine
        if "db.system" in (s.attributes or {}) or "db.system.name" in (s.attributes or {})
    }
    assert {"commitments", "ratings", "evidence"} <= sql, sql
    # The access line of every process the request reached names the trace: the gateway's and
    # each service's (their routes), all with the one trace id.
    traced_lines = {
        getattr(rec, "route", None)
        for rec in caplog.records
        if getattr(rec, "trace_id", None) == format(trace_id, "032x")
    }
    assert {
        "/v1/commitments/{id}/scorecard",
        "/v1/commitments/{id}",
        "/v1/submissions",
        "/v1/commitments/{commitment_id}/ratings",
    } <= traced_lines, traced_lines


def test_tracing_is_off_unless_a_collector_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert provider_from_environment("gateway") is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert TracingSettings().enabled
    provider = provider_from_environment("gateway")
    assert provider is not None
    assert provider.resource.attributes[SERVICE_NAME] == "gateway"
    provider.shutdown()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert provider_from_environment("gateway") is None
