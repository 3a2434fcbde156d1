"""One OpenAPI document for the whole API, and Swagger UI served without a CDN."""

from __future__ import annotations

import httpx
import pytest

from gateway.docs.openapi import OpenAPIConflictError, merge
from gateway.main import create_app
from gateway.proxy.forward import service_for
from tests.conftest import serve
from tests.gateway.conftest import Failing, auth_settings, gateway_settings


def _operations(doc):
    return {
        op["operationId"]: (method, path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


async def test_merged_document(gateway, stack):
    r = await gateway.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [
        {"url": str(gateway.base_url).rstrip("/"), "description": "This gateway."}
    ]
    assert doc["info"]["license"]["identifier"] == "MIT"
    ops = _operations(doc)
    for op_id in (
        "list_commitments",
        "create_commitment",
        "get_evaluation",
        "get_evaluation_summary",
        "create_token",
        "get_jwks",
        "create_client",
        "rotate_signing_key",
        "get_evaluation_report",
    ):
        assert op_id in ops, op_id
    assert any(path.startswith("/v1/submissions") for _, path in ops.values())
    # The only /v1/events is the gateway's own; the services' feeds, probes, metrics stay out.
    assert ops["list_events"] == ("get", "/v1/events")
    assert "/metrics" not in doc["paths"]
    # Every path in the document is one the gateway serves itself or routes to its owner.
    own = set(stack.gateway_app.openapi()["paths"])
    for path in doc["paths"]:
        assert path in own or service_for(path), path
    schemas = doc["components"]["schemas"]
    for ref in set(_refs(doc)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref
    assert "GatewayEventPage" in schemas
    assert "Problem" in schemas


async def test_a_down_service_makes_the_document_a_503_naming_it(gateway_db, stack):
    """Never a partial document: a client generated from one would silently lack resources."""
    app = create_app(
        gateway_settings(gateway_db),
        transports={
            "commitments": Failing(httpx.ConnectError),
            "evidence": httpx.ASGITransport(app=stack.evidence_app),
            "ratings": httpx.ASGITransport(app=stack.ratings_app),
        },
        auth=auth_settings(),
    )
    async for client in serve(app):
        r = await client.get("/openapi.json")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "5"
    problem = r.json()
    assert problem["type"] == "/problems/openapi-incomplete"
    assert "commitments" in problem["detail"]
    assert "evidence" not in problem["detail"]


def _doc(paths, schemas):
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas}}


def _op(op_id, ref):
    return {
        "get": {
            "operationId": op_id,
            "responses": {
                "200": {
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}
                    }
                }
            },
        }
    }


def test_identical_components_are_shared_and_different_ones_fail_loudly():
    own = _doc({}, {})
    thing = {"type": "object", "properties": {"a": {"type": "string"}}}
    a = _doc({"/v1/a": _op("get_a", "Thing")}, {"Thing": thing})
    b = _doc({"/v1/b": _op("get_b", "Thing")}, {"Thing": dict(thing)})
    owner = {"/v1/a": "a", "/v1/b": "b"}.get
    merged = merge(own, [("a", a), ("b", b)], owner)
    assert set(merged["components"]["schemas"]) == {"Thing"}
    other = _doc({"/v1/b": _op("get_b", "Thing")}, {"Thing": {"type": "integer"}})
    with pytest.raises(OpenAPIConflictError, match="Thing"):
        merge(own, [("a", a), ("b", other)], owner)
    dup = _doc({"/v1/b": _op("get_a", "Thing")}, {"Thing": thing})
    with pytest.raises(OpenAPIConflictError, match="get_a"):
        merge(own, [("a", a), ("b", dup)], owner)


async def test_swagger_ui_is_served_from_the_gateway(gateway):
    r = await gateway.get("/docs")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    html = r.text
    assert "/openapi.json" in html
    assert "cdn" not in html.lower()
    assert "/docs/assets/swagger-ui-bundle.js" in html
    js = await gateway.get("/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200
    assert len(js.content) > 100_000
    assert (await gateway.get("/docs/assets/swagger-ui.css")).status_code == 200
    assert (await gateway.get("/redoc")).status_code == 404
