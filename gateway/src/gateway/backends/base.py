"""What every backend client shares: transport failures as problems, service errors as-is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import stamina
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from gateway.backends.breaker import CircuitBreaker, CircuitOpenError
from servicekit.http import follow_pages
from servicekit.problems import ProblemError

M = TypeVar("M", bound=BaseModel)
# The services cap page_size at 200.
PAGE = 200
Params = Sequence[tuple[str, str | int]]

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


# Safe to send twice (RFC 9110 §9.2.2); a POST is too when it carries an Idempotency-Key, which
# the services honour by replaying the first answer.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Only failures where nothing reached the service are retried: after a read error or timeout the
# request may have taken effect, and a retry would only add load to a struggling service.
RETRIED_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)


def is_idempotent(request: httpx.Request) -> bool:
    """Whether the request may be retried."""
    return request.method in IDEMPOTENT_METHODS or (
        request.method == "POST" and "idempotency-key" in request.headers
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent calls that failed to connect are retried (bounded in count and time)."""

    attempts: int = 3
    wait_initial_s: float = 0.05
    wait_max_s: float = 0.5
    timeout_s: float = 2.0


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


def bad_gateway(detail: str) -> ProblemError:
    """502: the service answered, but not with anything the gateway can use."""
    return ProblemError(502, "Bad Gateway", detail, type_="/problems/bad-gateway")


class ServiceClient:
    """A typed client of one backend service over a long-lived pooled `httpx.AsyncClient`."""

    name = "service"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retry_after_s: int = 5,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.http = http
        self.retry_after_s = retry_after_s
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(self.name)
        # Set by the gateway's lifespan: swaps the caller's token for one the services accept
        # (gateway.identity.exchange); a 401 problem if the caller's does not verify.
        self.exchange: Callable[[httpx.Request], Awaitable[None]] | None = None

    async def _send_once(self, request: httpx.Request, stream: bool) -> httpx.Response:
        probe = self.breaker.before_call()
        try:
            resp = await self.http.send(request, stream=stream)
        except httpx.TransportError:
            self.breaker.failure()
            raise
        except BaseException:
            if probe:
                self.breaker.release()
            raise
        # Any HTTP answer, error statuses included, shows the service is reachable.
        self.breaker.success()
        return resp

    async def send(
        self, request: httpx.Request, *, stream: bool = False, exchanged: bool = False
    ) -> httpx.Response:
        """Send through the breaker, retrying idempotent requests that failed to connect;
        `ServiceUnavailableError` (502/503/504 problem) when no answer was had. `exchanged`:
        the request already carries a services' token (the gateway's own, e.g. the form's)."""
        policy = self.retry
        if self.exchange is not None and not exchanged:
            await self.exchange(request)
        try:
            # Refused before any retry machinery is built: an open breaker costs microseconds.
            self.breaker.check()
            async for attempt in stamina.retry_context(
                on=RETRIED_ERRORS,
                attempts=policy.attempts if is_idempotent(request) else 1,
                timeout=policy.timeout_s,
                wait_initial=policy.wait_initial_s,
                wait_max=policy.wait_max_s,
                wait_jitter=policy.wait_initial_s,
            ):
                with attempt:
                    return await self._send_once(request, stream)
        except CircuitOpenError as exc:
            raise ServiceUnavailableError(self.name, exc.problem()) from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                self.name, transport_problem(self.name, exc, self.retry_after_s)
            ) from exc
        raise AssertionError("stamina made no attempt")  # pragma: no cover

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
        request = self.http.build_request(
            "GET",
            path,
            params=params,
            headers=headers,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s,
        )
        resp = await self.send(request)
        if resp.status_code >= 400:
            raise ServiceError(self.name, resp)
        try:
            return resp.json()
        except ValueError as exc:
            raise ServiceUnavailableError(
                self.name,
                bad_gateway(f"The {self.name} service sent a body that is not JSON."),
            ) from exc

    def validated(self, model: type[M], data: Any) -> M:
        """`data` as `model`; a 502 `ServiceUnavailableError` if the service's answer does not
        fit (a field the gateway relies on is missing or of the wrong type)."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ServiceUnavailableError(
                self.name,
                bad_gateway(
                    f"The {self.name} service sent an answer the gateway cannot read "
                    f"({exc.error_count()} field(s) out of shape).",
                ),
            ) from exc

    async def get_model(
        self,
        path: str,
        model: type[M],
        *,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> M:
        """GET a JSON document as `model` (errors as for `get_json`, and a 502 if it does not
        fit the model)."""
        return self.validated(model, await self.get_json(path, params=params, headers=headers))

    async def get_all(
        self,
        path: str,
        model: type[M],
        params: Params = (),
        *,
        headers: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[M], str | None]:
        """Follow a list's pages until it ends or `limit` items are had; the items and the page
        token where the list continues (None when it is all here)."""
        had = 0

        async def fetch(token: str | None) -> dict[str, Any]:
            nonlocal had
            size = PAGE if limit is None else min(PAGE, limit - had)
            page_params = [*params, ("page_size", size)]
            if token:
                page_params.append(("page_token", token))
            page: dict[str, Any] = await self.get_json(path, params=page_params, headers=headers)
            had += len(page["items"])
            return page

        items, token = await follow_pages(fetch, limit=limit)
        return [self.validated(model, item) for item in items], token

    async def openapi(self, timeout_s: float) -> dict[str, Any]:
        """The service's OpenAPI document."""
        doc: dict[str, Any] = await self.get_json("/openapi.json", timeout_s=timeout_s)
        return doc


def chunks(values: list[str], size: int) -> list[list[str]]:
    """Split a list into runs of at most `size` (keeps query strings a sane length)."""
    return [values[i : i + size] for i in range(0, len(values), size)]
