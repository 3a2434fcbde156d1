"""The merged OpenAPI document and Swagger UI, with Swagger's assets served by the gateway."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from gateway.backends import Backends
from gateway.config import SERVICES
from gateway.docs.openapi import OpenAPIConflictError, ServiceDocs, merge
from gateway.events.catalog import event_payload_components
from gateway.proxy.forward import service_for
from servicekit.problems import ProblemError

router = APIRouter(tags=["docs"])
ASSETS_PATH = "/docs/assets"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def swagger_assets() -> StaticFiles:
    """Swagger UI 5 (renders OpenAPI 3.1) from the fastapi-offline wheel: no CDN at run time."""
    return StaticFiles(directory=Path(str(files("fastapi_offline") / "static")))


@router.get("/openapi.json", operation_id="get_openapi", include_in_schema=False)
async def get_openapi(request: Request) -> JSONResponse:
    """The whole API in one OpenAPI 3.1 document."""
    backends: Backends = request.app.state.backends
    docs: ServiceDocs = request.app.state.service_docs
    services = await docs.get(backends, SERVICES)
    missing = [name for name, doc in services if doc is None]
    if missing:
        # Never a partial document: a client generated from one would silently lack resources.
        raise ProblemError(
            503,
            "API description incomplete",
            f"The {', '.join(missing)} service's description could not be fetched; the "
            "document is served only whole. Retry shortly.",
            type_="/problems/openapi-incomplete",
            headers={"Retry-After": "5"},
        )
    whole = [(name, doc) for name, doc in services if doc is not None]
    try:
        merged = merge(
            request.app.openapi(),
            whole,
            service_for,
            str(request.base_url).rstrip("/"),
            event_payload_components(),
        )
    except OpenAPIConflictError as exc:
        # Loud on purpose: a silently dropped schema would generate a client that is wrong.
        raise ProblemError(
            500, "OpenAPI documents conflict", str(exc), type_="/problems/openapi-conflict"
        ) from exc
    return JSONResponse(merged)


@router.get("/docs", operation_id="get_docs", include_in_schema=False)
async def get_docs() -> HTMLResponse:
    """Swagger UI for the merged document."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Scrutiny API",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
    )
    page = HTMLResponse(_with_site_link(bytes(page.body)))
    page.headers["Content-Security-Policy"] = docs_csp(bytes(page.body))
    return page


# The developers' page links back to the public site the API serves (issue #17).
_SITE_LINK = (
    b'<p style="font-family: arial, sans-serif; margin: 10px 20px;">'
    b'<a href="/">Scrutiny: read the evaluations, commitments and evidence as web pages</a>'
    b"</p>"
)


def _with_site_link(html: bytes) -> bytes:
    """Swagger UI's page with a link to the public site before the UI."""
    return html.replace(b"<body>", b"<body>\n" + _SITE_LINK, 1)


def docs_csp(html: bytes) -> str:
    """A CSP for Swagger UI: its own assets, the one inline bootstrap script by hash, and
    inline styles (Swagger UI sets style attributes as it renders)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.finditer(html)
    )
    return (
        "default-src 'none'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
