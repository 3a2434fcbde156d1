"""What every backend client shares: transport failures as problems, service errors as-is."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.responses import Response

from servicekit.problems import ProblemError

# Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def transport_problem(service: str, exc: httpx.TransportError, retry_after_s: int) -> ProblemError:
    """503 (unreachable, retry later), 504 (too slow) or 502 (broken reply) for a failed call."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        # Nothing reached the service, so a retry is safe; tell the client when.
        return ProblemError(
            503,
            "Service Unavailable",
            f"The {service} service is unreachable; try again shortly.",
            type_="/problems/service-unavailable",
            headers={"Retry-After": str(retry_after_s)},
        )
    if isinstance(exc, httpx.TimeoutException):
        return ProblemError(
            504,
            "Gateway Timeout",
            f"The {service} service did not answer in time; the request may or may not have "
            "taken effect.",
            type_="/problems/upstream-timeout",
        )
    return ProblemError(
        502,
        "Bad Gateway",
        f"The {service} service gave no usable answer ({type(exc).__name__}).",
        type_="/problems/bad-gateway",
    )


class ServiceError(Exception):
    """The service answered with an error; the gateway passes its answer through unchanged."""

    def __init__(self, service: str, response: httpx.Response) -> None:
        super().__init__(f"{service} answered {response.status_code}")
        self.service = service
        self.status_code = response.status_code
        self.content = response.content
        self.headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() in ("content-type", "retry-after", "www-authenticate", "etag")
        }

    def to_response(self) -> Response:
        """The service's own answer (problem+json stays byte-for-byte the same)."""
        return Response(self.content, status_code=self.status_code, headers=self.headers)


class ServiceUnavailableError(Exception):
    """A call failed in transport; `problem` is what the gateway answers."""

    def __init__(self, service: str, problem: ProblemError) -> None:
        super().__init__(problem.detail)
        self.service = service
        self.problem = problem


class ServiceClient:
    """A typed client of one backend service over a long-lived pooled `httpx.AsyncClient`."""

    name = "service"

    def __init__(self, http: httpx.AsyncClient, *, retry_after_s: int = 5) -> None:
        self.http = http
        self.retry_after_s = retry_after_s

    async def get_json(
        self,
        path: str,
        *,
        params: Any = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """GET a JSON document; `ServiceError` on a non-2xx answer, `ServiceUnavailableError`
        when the call fails in transport."""
        try:
            if timeout_s is None:
                resp = await self.http.get(path, params=params, headers=headers)
            else:
                resp = await self.http.get(path, params=params, headers=headers, timeout=timeout_s)
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                self.name, transport_problem(self.name, exc, self.retry_after_s)
            ) from exc
        if resp.status_code >= 400:
            raise ServiceError(self.name, resp)
        try:
            return resp.json()
        except ValueError as exc:
            raise ServiceUnavailableError(
                self.name,
                ProblemError(
                    502,
                    "Bad Gateway",
                    f"The {self.name} service sent a body that is not JSON.",
                    type_="/problems/bad-gateway",
                ),
            ) from exc

    async def openapi(self, timeout_s: float) -> dict[str, Any]:
        """The service's OpenAPI document."""
        doc: dict[str, Any] = await self.get_json("/openapi.json", timeout_s=timeout_s)
        return doc


def chunks(values: list[str], size: int) -> list[list[str]]:
    """Split a list into runs of at most `size` (keeps query strings a sane length)."""
    return [values[i : i + size] for i in range(0, len(values), size)]
