"""Error pages for people: a browser asking for a page gets HTML in the site's layout.

The gateway's errors are RFC 9457 problems (`servicekit.problems`). A request in the page space
(`gateway.pages.negotiation`) that prefers HTML to JSON gets the same status and the same
`Retry-After` / `Allow`, as a page; every other request (the API's paths, `Accept:
application/json`, curl's `*/*`) gets the problem unchanged. The handlers wrap servicekit's, so
the status is always the one the API would give.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway.backends import ServiceUnavailableError
from gateway.pages.negotiation import is_page_path, prefers_html, wants_page
from gateway.pages.render import page
from servicekit.problems import ProblemError

# Starlette's exception handlers may be plain functions or coroutines.
Handler = Callable[[Request, Any], Response | Awaitable[Response]]

# Headers of the problem that a page repeats: when to retry, what the address answers.
_KEPT_HEADERS = ("retry-after", "allow", "www-authenticate")


@dataclass(frozen=True)
class Wording:
    """What an error page says (GOV.UK's patterns for service error pages)."""

    heading: str
    lines: tuple[str, ...]


_NOT_FOUND = Wording(
    "Page not found",
    (
        "If you typed the web address, check it is correct.",
        "If you pasted the web address, check you copied the entire address.",
    ),
)
_WORDING = {
    404: _NOT_FOUND,
    405: Wording(
        "This page cannot do that",
        ("This address can be read but not changed from a browser.",),
    ),
    429: Wording(
        "Sorry, there have been too many requests from your address",
        ("This limit stops one visitor using up the service for everyone else.",),
    ),
    500: Wording(
        "Sorry, there is a problem with the service",
        ("Try again later. Nothing you sent has been changed.",),
    ),
    503: Wording(
        "Sorry, the service is unavailable",
        ("Part of the service could not be reached. You will be able to use it again soon.",),
    ),
}


def wording(status: int) -> Wording:
    """The page's words for a status (5xx default to the 500 page, 4xx to a generic one)."""
    if status in _WORDING:
        return _WORDING[status]
    if status >= 500:
        return _WORDING[500]
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return Wording(
        "There is a problem with this web address",
        (f"The address could not be used as it is ({status} {phrase}).",),
    )


def error_page(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The HTML page for an error `status`, carrying the problem's retry and allow headers."""
    words = wording(status)
    retry = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    response = page(
        request,
        "error.html",
        {
            "title": words.heading,
            "heading": words.heading,
            "lines": words.lines,
            "detail": detail,
            "status": status,
            "retry_after": retry,
            # For a fault of ours, the reference the logs hold (X-Request-ID).
            "reference": correlation_id.get() if status >= 500 else None,
        },
        status,
    )
    for name, value in (headers or {}).items():
        if name.lower() in _KEPT_HEADERS:
            response.headers[name] = value
    return response


def _problem_detail(response: Response) -> str | None:
    try:
        detail = json.loads(bytes(response.body)).get("detail")
    except (ValueError, AttributeError):
        return None
    return str(detail) if detail else None


async def _answer(handler: Handler, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    return await result if inspect.isawaitable(result) else result


def _as_page(original: Handler) -> Handler:
    """servicekit's handler, its answer re-rendered as a page for a browser in the page space."""

    async def handler(request: Request, exc: Exception) -> Response:
        response = await _answer(original, request, exc)
        if not wants_page(request.url.path, request.scope.get("headers", [])):
            return response
        headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
        if response.status_code == 405 and "allow" in headers:
            # The page edge answers HEAD wherever GET is answered.
            methods = [m.strip() for m in headers["allow"].split(",") if m.strip()]
            if "GET" in methods and "HEAD" not in methods:
                headers["allow"] = ", ".join(sorted([*methods, "HEAD"]))
        status = response.status_code
        # A 404's problem detail names ids and paths; the page keeps to GOV.UK's words.
        detail = None if status in (404, 405) or status >= 500 else _problem_detail(response)
        return error_page(request, status, detail=detail, headers=headers)

    return handler


def _unavailable(fallback: Handler) -> Handler:
    """A page whose backend could not be reached is a 503 (with Retry-After), not a 500."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceUnavailableError)
        if not is_page_path(request.url.path):
            return await _answer(fallback, request, exc)
        problem = exc.problem
        if prefers_html(request.headers.get("accept")):
            return error_page(request, problem.status, headers=problem.headers)
        return problem.to_response(request.url.path)

    return handler


def install_error_pages(app: FastAPI) -> None:
    """Wrap the app's problem handlers (servicekit's) so browsers get pages; call after them."""
    handlers = app.exception_handlers
    for kind in (StarletteHTTPException, ProblemError, RequestValidationError, Exception):
        original = handlers.get(kind)
        if original is not None:
            app.add_exception_handler(kind, _as_page(original))
    unhandled = handlers[Exception]
    app.add_exception_handler(ServiceUnavailableError, _unavailable(unhandled))
