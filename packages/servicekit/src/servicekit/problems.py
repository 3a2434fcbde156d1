"""RFC 9457 problem details for every error a process returns, 4xx and 5xx alike."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from servicekit import mediatypes
from servicekit.jsonutil import dumps

PROBLEM_MEDIA_TYPE = mediatypes.PROBLEM
log = logging.getLogger("servicekit.problems")


class FieldError(BaseModel):
    """One failed field: where it is, what is wrong, and a machine-readable code."""

    pointer: str = Field(
        description="Where the failure is, e.g. `body.title` or `query.page_size`."
    )
    detail: str
    code: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/validation-error",
                    "title": "Your request is not valid",
                    "status": 422,
                    "detail": "1 field failed validation",
                    "instance": "/v1/commitments",
                    "errors": [
                        {"pointer": "body.title", "detail": "Field required", "code": "missing"}
                    ],
                }
            ]
        }
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise anywhere to answer with a problem document; nothing in the transaction is kept."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or "about:blank"
        self.errors = errors
        self.headers = headers or {}

    def to_response(self, instance: str | None) -> Response:
        """The problem document answering a request for `instance` (its path)."""
        return problem_response(
            self.status,
            self.title,
            self.detail,
            instance,
            type_=self.type,
            errors=self.errors,
            headers=self.headers,
        )


def not_found(kind: str, ident: object) -> ProblemError:
    """The problem for an unknown resource id."""
    return ProblemError(
        404, "Not found", f"No {kind} with id {ident}.", type_="/problems/not-found"
    )


def conflict(detail: str) -> ProblemError:
    """The problem for a request that clashes with the resource's current state."""
    return ProblemError(409, "Conflict", detail, type_="/problems/conflict")


VALIDATION_TITLE = "Your request is not valid"
VALIDATION_TYPE = "/problems/validation-error"


def validation_problem(
    errors: Sequence[FieldError],
    detail: str | None = None,
    *,
    title: str = VALIDATION_TITLE,
    type_: str = VALIDATION_TYPE,
) -> ProblemError:
    """One 422 listing every failed field (the detail counts them unless one is given)."""
    n = len(errors)
    return ProblemError(
        422,
        title,
        detail or f"{n} field{'s' if n != 1 else ''} failed validation.",
        type_=type_,
        errors=list(errors),
    )


def field_errors(
    failures: Iterable[tuple[str, str, str]], *, prefix: str = "body"
) -> list[FieldError]:
    """`FieldError`s from `(field, detail, code)` triples, pointers under `prefix`."""
    return [FieldError(pointer=f"{prefix}.{f}", detail=d, code=c) for f, d, c in failures]


def raise_field_errors(failures: Iterable[tuple[str, str, str]], *, prefix: str = "body") -> None:
    """422 listing every `(field, detail, code)` failure; nothing when there are none."""
    errors = field_errors(failures, prefix=prefix)
    if errors:
        raise validation_problem(errors)


def invalid(pointer: str, detail: str, code: str = "invalid") -> ProblemError:
    """A 422 for one semantically invalid field (well-formed, but refers to something wrong)."""
    return validation_problem([FieldError(pointer=pointer, detail=detail, code=code)], detail)


def problem_response(
    status: int,
    title: str,
    detail: str | None,
    instance: str | None,
    *,
    type_: str = "about:blank",
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Serialise a problem as `application/problem+json`."""
    body = Problem(
        type=type_, title=title, status=status, detail=detail, instance=instance, errors=errors
    ).model_dump(exclude_none=True)
    return Response(
        content=dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


async def _problem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return exc.to_response(request.url.path)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this request's path.

    Starlette's 405 names only the first route whose path matched, so a path with its GET and
    its POST in two routes answered `Allow: POST` to a DELETE."""
    found: set[str] = set()
    for ctx in iter_route_contexts(request.app.routes):
        match, _ = ctx.matches(request.scope)
        if match != Match.NONE:
            found |= set(ctx.methods or ())
    return sorted(found)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    headers = dict(exc.headers or {})
    type_ = "about:blank"
    if status == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed here; this path answers {headers['Allow']}."
        type_ = "/problems/method-not-allowed"
    return problem_response(status, phrase, detail, request.url.path, type_=type_, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw):
        err = raw[0]
        ctx = err.get("ctx") or {}
        return problem_response(
            400,
            "Malformed JSON",
            f"The request body is not valid JSON: {ctx.get('error', 'decode error')}.",
            request.url.path,
            type_="/problems/malformed-json",
        )
    errors = [
        FieldError(pointer=_pointer(e.get("loc", ())), detail=str(e.get("msg")), code=e["type"])
        for e in raw
    ]
    return validation_problem(errors).to_response(request.url.path)


async def _stale(request: Request, _exc: Exception) -> Response:
    return problem_response(
        412,
        "Precondition Failed",
        "The resource changed while your update was applied; fetch it again and retry.",
        request.url.path,
        type_="/problems/stale-etag",
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        500,
        "Internal Server Error",
        "Something went wrong on our side; nothing was changed. "
        "Quote the X-Request-ID if you report it.",
        request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error the app can raise answer as problem+json."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(Exception, _unhandled)


_DESCRIPTIONS = {
    400: "Malformed request (for example, a body that is not JSON).",
    401: "Missing or invalid access token.",
    403: "The token lacks the scope this operation needs.",
    404: "No such resource.",
    409: "The request conflicts with the resource's state.",
    412: "`If-Match` does not match the current ETag.",
    413: "The request body is too large.",
    415: "Unsupported media type.",
    422: "The request is well-formed but not valid.",
    428: "`If-Match` is required for this operation.",
    429: "Too many requests.",
    503: "A dependency is unavailable.",
}


# One example per status, as a client would see it (a generic example for any other status).
_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "type": "/problems/unknown-query-parameter",
        "title": "Unknown query parameter",
        "status": 400,
        "detail": "This operation does not take pagesize; it takes: page_size, page_token.",
        "errors": [
            {
                "pointer": "query.pagesize",
                "detail": "Not a parameter of this operation.",
                "code": "unknown_parameter",
            }
        ],
    },
    401: {
        "type": "/problems/unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": "The access token has expired; get a new one from POST /oauth/token.",
    },
    403: {
        "type": "/problems/insufficient-scope",
        "title": "Forbidden",
        "status": 403,
        "detail": "This operation needs the scope 'commitments:write'.",
    },
    404: {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No commitment with id 0192f7a4-5c00-7000-8000-000000000001.",
    },
    406: {
        "type": "/problems/not-acceptable",
        "title": "Not Acceptable",
        "status": 406,
        "detail": "The report is available as application/json or text/csv.",
    },
    409: {
        "type": "/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "A policy area with slug 'digital' already exists.",
    },
    412: {
        "type": "/problems/stale-etag",
        "title": "Precondition failed",
        "status": 412,
        "detail": 'If-Match "0192f7a4-3" does not match the current ETag "0192f7a4-4"; fetch it '
        "again.",
    },
    413: {
        "type": "/problems/payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": "The request body is larger than 1000000 bytes.",
    },
    415: {
        "type": "/problems/unsupported-media-type",
        "title": "Unsupported media type",
        "status": 415,
        "detail": "Send the body as application/json.",
    },
    422: {
        "type": VALIDATION_TYPE,
        "title": VALIDATION_TITLE,
        "status": 422,
        "detail": "1 field failed validation.",
        "errors": [{"pointer": "body.title", "detail": "Field required", "code": "missing"}],
    },
    428: {
        "type": "/problems/if-match-required",
        "title": "Precondition required",
        "status": 428,
        "detail": "Send If-Match with the ETag you last read, so concurrent edits are not lost.",
    },
    431: {
        "type": "/problems/headers-too-large",
        "title": "Request Header Fields Too Large",
        "status": 431,
        "detail": "The request line and headers may take 16384 bytes and 100 fields at most.",
    },
    429: {
        "type": "/problems/rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": "Over 600 requests a minute; retry after the Retry-After seconds.",
    },
    502: {
        "type": "/problems/bad-gateway",
        "title": "Bad gateway",
        "status": 502,
        "detail": "The commitments service sent an answer the gateway cannot read.",
    },
    503: {
        "type": "/problems/service-unavailable",
        "title": "Service unavailable",
        "status": 503,
        "detail": "The commitments service is unavailable; retry after the Retry-After seconds.",
    },
    504: {
        "type": "/problems/upstream-timeout",
        "title": "Gateway timeout",
        "status": 504,
        "detail": "The commitments service did not answer in time; the request may have taken "
        "effect: retry with the same Idempotency-Key.",
    },
}


def problem_example(status: int) -> dict[str, Any]:
    """An example problem document for `status` (illustrative; ids and names are fictional)."""
    example = _EXAMPLES.get(status)
    if example is not None:
        return dict(example)
    phrase = HTTPStatus(status).phrase
    return {"type": "about:blank", "title": phrase, "status": status, "detail": phrase + "."}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problems an operation can return."""
    return {
        code: {"model": Problem, "description": _DESCRIPTIONS.get(code, HTTPStatus(code).phrase)}
        for code in codes
    }


def rewrite_problem_media_types(schema: dict[str, Any]) -> dict[str, Any]:
    """Document problem responses under `application/problem+json`, which is what is sent."""
    ref = "#/components/schemas/Problem"
    for path_item in schema.get("paths", {}).values():
        for op in path_item.values():
            if not isinstance(op, dict):
                continue
            for resp in op.get("responses", {}).values():
                content = resp.get("content", {})
                js = content.get("application/json")
                if js and js.get("schema", {}).get("$ref") == ref:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return schema
