"""The open data page, the bulk downloads (CSV and JSON) and their Data Package, no token.

The tables and their schemas are `gateway.compose.opendata`; this module only serves them.
A table is whole or not served: a backend that cannot be read gives the HTML 503 page (to a
browser following a link) rather than a file that silently lacks rows.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.backends import Backends, ServiceError, ServiceUnavailableError
from gateway.compose import datapackage, opendata
from gateway.pages.render import page
from gateway.pages.router import not_found, unavailable
from servicekit.jsonutil import dumps

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

# Downloads change as the data does; a minute keeps a burst of fetches off the services.
CACHE = "public, max-age=60"
FEEDS = (
    ("/feeds/evaluations.atom", "Published evaluations"),
    ("/feeds/evidence.atom", "Published evidence"),
)


def base_url(request: Request) -> str:
    """The address this gateway was reached at, without a trailing slash."""
    return str(request.base_url).rstrip("/")


@router.api_route(
    "/data",
    methods=["GET", "HEAD"],
    name="page_data",
    operation_id="page_data",
    summary="Open data page",
)
async def data_page(request: Request) -> Response:
    """The bulk downloads, what each holds, the licence and the feeds."""
    return page(
        request,
        "data.html",
        {
            "title": "Open data",
            "section": "data",
            "tables": [
                {
                    "name": t.name,
                    "title": t.title,
                    "description": t.description,
                    "columns": [{"name": c.name, "description": c.description} for c in t.columns],
                    "primary_key": list(t.primary_key),
                }
                for t in datapackage.TABLES.values()
            ],
            "licence": datapackage.LICENCE,
            "feeds": FEEDS,
        },
    )


@router.api_route(
    methods=["GET", "HEAD"],
    path="/data/datapackage.json",
    name="data_package",
    operation_id="data_package",
    summary="Open data: Data Package",
)
async def data_package(request: Request) -> Response:
    """The Frictionless Data Package describing every download."""
    return Response(
        dumps(datapackage.datapackage(base_url(request))),
        media_type="application/json",
        headers={"Cache-Control": CACHE},
    )


@router.api_route(
    methods=["GET", "HEAD"],
    path="/data/{name}.{fmt}",
    name="data_download",
    operation_id="data_download",
    summary="Open data: one table",
)
async def data_download(request: Request, name: str, fmt: str) -> Response:
    """One table as CSV or JSON."""
    table = datapackage.TABLES.get(name)
    if table is None or fmt not in ("csv", "json"):
        return not_found(request, "There is no such download. The open data page lists them all.")
    backends: Backends = request.app.state.backends
    try:
        items = await opendata.rows(backends, name)
    except (ServiceError, ServiceUnavailableError):
        return unavailable(request, f"{table.title.lower()} download")
    if fmt == "csv":
        body = opendata.to_csv(table, items).encode()
        media = "text/csv; charset=utf-8"
    else:
        body = dumps(opendata.to_json(table, items))
        media = "application/json"
    return Response(
        body,
        media_type=media,
        headers={
            "Cache-Control": CACHE,
            "Content-Disposition": f'inline; filename="{name}.{fmt}"',
        },
    )
