"""Query parameters an operation does not declare are refused, not silently ignored.

A misspelt `pagesize=5` that is quietly dropped gives the caller a page of the default size and
no hint why; a 400 naming the parameter (and the ones the operation takes) tells them at once.
The check runs as an app-wide dependency and reads what each route declares, so a new parameter
is accepted as soon as a route declares it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.routing import APIRoute

from servicekit.problems import FieldError, ProblemError, validation_problem
from servicekit.schemas import is_temporal, iso_only

F = TypeVar("F", bound=Callable[..., Any])

# Kept on the route object itself: it lives and dies with its app (a table keyed by `id(route)`
# would hand a later app a dropped route's names under a recycled id).
_CACHE = "_servicekit_declared_query"
_TEMPORAL = "_servicekit_temporal_query"


def _refuse_nul(request: Request) -> None:
    # PostgreSQL text cannot hold U+0000: refused here, for every parameter of every route, as
    # bodies are (servicekit.schemas.InputModel), rather than failing at the database as a 500.
    bad = [
        f"path.{name}" for name, value in request.path_params.items() if "\x00" in str(value)
    ] + [f"query.{name}" for name, value in request.query_params.multi_items() if "\x00" in value]
    if bad:
        raise validation_problem(
            [FieldError(pointer=p, detail="may not contain NUL (U+0000)", code="nul") for p in bad],
            "Parameters may not contain NUL characters.",
        )


def _temporal_query(route: APIRoute) -> frozenset[str]:
    names: frozenset[str] | None = getattr(route, _TEMPORAL, None)
    if names is None:
        found: set[str] = set()
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            found.update(
                p.alias for p in dependant.query_params if is_temporal(p.field_info.annotation)
            )
            pending.extend(dependant.dependencies)
        names = frozenset(found)
        setattr(route, _TEMPORAL, names)
    return names


def _refuse_numeric_dates(request: Request, route: APIRoute) -> None:
    # A date query parameter given as a number would be read as a Unix timestamp (pydantic's lax
    # mode); the document says ISO 8601, so that is all that is taken.
    bad = []
    for name in _temporal_query(route):
        for value in request.query_params.getlist(name):
            try:
                iso_only(value)
            except ValueError:
                bad.append(name)
    if bad:
        raise validation_problem(
            [
                FieldError(pointer=f"query.{n}", detail="must be an ISO 8601 date", code="date")
                for n in bad
            ],
            "Dates are ISO 8601 (2026-04-01 or 2026-04-01T09:30:00Z), not numbers.",
        )


def accepts_any_query(endpoint: F) -> F:
    """Mark an endpoint that passes its query on unread (the gateway's proxy)."""
    endpoint.accepts_any_query = True  # type: ignore[attr-defined]  # a marker the check reads
    return endpoint


def declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameter names `route` reads, its dependencies' included."""
    names: frozenset[str] | None = getattr(route, _CACHE, None)
    if names is None:
        found: set[str] = set()
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            found.update(p.alias for p in dependant.query_params)
            pending.extend(dependant.dependencies)
        names = frozenset(found)
        setattr(route, _CACHE, names)
    return names


async def reject_unknown_query(request: Request) -> None:
    """400 `/problems/unknown-query-parameter` for query parameters the route does not take;
    422 for a NUL character in any query or path parameter, or a number given for a date."""
    _refuse_nul(request)
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or getattr(route.endpoint, "accepts_any_query", False):
        return
    _refuse_numeric_dates(request, route)
    known = declared_query(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if not unknown:
        return
    takes = ", ".join(sorted(known)) or "none"
    raise ProblemError(
        400,
        "Unknown query parameter",
        f"This operation does not take {', '.join(unknown)}; it takes: {takes}.",
        type_="/problems/unknown-query-parameter",
        errors=[
            FieldError(
                pointer=f"query.{name}",
                detail="Not a parameter of this operation.",
                code="unknown_parameter",
            )
            for name in unknown
        ],
    )
