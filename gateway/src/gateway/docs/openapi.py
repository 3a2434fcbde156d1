"""One OpenAPI 3.1 document for the whole API: the gateway's own plus the services' public paths."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.backends import Backends, ServiceError, ServiceUnavailableError
from servicekit.openapi import OAUTH2_SCHEME, add_links
from servicekit.problems import problem_example

# Each service's own feed, probes and metrics are internal; the gateway documents its own.
INTERNAL_PATHS = frozenset({"/v1/events", "/healthz", "/readyz", "/metrics"})
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# The licence the code is published under (LICENSE at the repository's root).
INFO = {"license": {"name": "MIT", "identifier": "MIT"}}


class OpenAPIConflictError(Exception):
    """Two documents define the same thing differently; merging would silently lose one."""


def _operations(paths: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in paths.items():
        for method, op in item.items():
            if method in METHODS and isinstance(op, dict):
                yield path, method, op


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _prune_schemas(doc: dict[str, Any]) -> None:
    """Drop component schemas no operation reaches (e.g. those of the services' event feeds)."""
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    todo = list(_refs(doc.get("paths", {})))
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    for name in list(schemas):
        if name not in seen:
            del schemas[name]


_EDGE = {
    "429": "Over the client's rate limit; retry after `Retry-After` seconds.",
}
# The edge reads a body against a minimum rate and a deadline before a backend is called
# (edge/fairness.py).
_SLOW_BODY = {
    "408": "The request body arrived too slowly (under the edge's minimum rate or past its "
    "deadline); nothing was done and the connection is closed.",
}
_UPSTREAM = {
    "502": "The owning service gave no usable answer.",
    "503": "The owning service is unreachable (or its circuit is open); see `Retry-After`.",
    "504": "The owning service did not answer in time; the request may have taken effect.",
}
_UNLIMITED = frozenset({"/healthz", "/readyz", "/metrics"})


def _edge_responses(paths: dict[str, Any], owner: Callable[[str], str | None]) -> None:
    """Document what the gateway itself may answer on any operation: 429 from the rate limiter,
    408 where a body is read, and 502/503/504 on the operations it forwards."""
    for path, _method, op in _operations(paths):
        if path in _UNLIMITED:
            continue
        responses = op.setdefault("responses", {})
        extra = dict(_EDGE)
        if "requestBody" in op:
            extra.update(_SLOW_BODY)
        if owner(path) is not None:
            extra.update(_UPSTREAM)
        for status, description in extra.items():
            problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
            problem["example"] = problem_example(int(status))
            responses.setdefault(
                status,
                {"description": description, "content": {"application/problem+json": problem}},
            )


def merge(
    own: dict[str, Any],
    services: list[tuple[str, dict[str, Any]]],
    owner: Callable[[str], str | None],
    server_url: str | None = None,
    extra_schemas: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The gateway's document plus every path each service owns; `OpenAPIConflictError` on a clash.

    A path is taken from a service only if the gateway routes it to that service, so the
    document never promises an operation the gateway would not forward. Every service's
    document is needed: the caller answers 503 rather than serve a partial one.
    """
    doc = copy.deepcopy(own)
    paths: dict[str, Any] = doc.setdefault("paths", {})
    components: dict[str, Any] = doc.setdefault("components", {})
    tags: list[dict[str, Any]] = list(doc.get("tags") or [])
    op_owner = {op["operationId"]: "gateway" for _, _, op in _operations(paths)}
    for name, sdoc in services:
        for path, method, op in _operations(sdoc.get("paths", {})):
            if path in INTERNAL_PATHS or owner(path) != name:
                continue
            target = paths.setdefault(path, {})
            if method in target:
                raise OpenAPIConflictError(
                    f"{method.upper()} {path} is defined by {name} and before"
                )
            op_id = op.get("operationId")
            if not op_id:
                raise OpenAPIConflictError(f"{name}: {method.upper()} {path} has no operationId")
            if op_id in op_owner:
                raise OpenAPIConflictError(
                    f"operationId {op_id!r} is used by {op_owner[op_id]} and by {name}"
                )
            op_owner[op_id] = name
            target[method] = op
        for section, entries in (sdoc.get("components") or {}).items():
            dest = components.setdefault(section, {})
            for cname, value in entries.items():
                if cname in dest and dest[cname] != value:
                    raise OpenAPIConflictError(
                        f"components.{section}.{cname} differs between {name} and an earlier "
                        "document; rename one of them"
                    )
                dest[cname] = value
        known = {t["name"] for t in tags}
        tags.extend(t for t in sdoc.get("tags") or [] if t["name"] not in known)
    _edge_responses(paths, owner)
    # Links again over the whole: across services (a commitment's ratings live in ratings), and
    # none to an operation the gateway does not route.
    add_links(doc)
    _prune_schemas(doc)
    # Schemas documented for clients though no operation names them (event payloads).
    components.setdefault("schemas", {}).update(extra_schemas or {})
    used = {t for _, _, op in _operations(paths) for t in op.get("tags", [])}
    doc["tags"] = [t for t in tags if t["name"] in used]
    # Each operation names its own security (servicekit.openapi); the scheme is the same in
    # every part's document.
    components.setdefault("securitySchemes", {})["oauth2"] = OAUTH2_SCHEME
    doc.setdefault("info", {}).update(INFO)
    if server_url:
        doc["servers"] = [{"url": server_url, "description": "This gateway."}]
    return doc


@dataclass
class ServiceDocs:
    """Each service's document, cached for `ttl_s`; a failed fetch leaves that service out."""

    ttl_s: float
    timeout_s: float
    _cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def _fetch(self, backends: Backends, name: str) -> dict[str, Any] | None:
        try:
            return await backends.by_name(name).openapi(self.timeout_s)
        except (ServiceUnavailableError, ServiceError):
            return None

    async def get(
        self, backends: Backends, names: tuple[str, ...]
    ) -> list[tuple[str, dict[str, Any] | None]]:
        """(name, document or None) for every service, fetching stale ones concurrently."""
        async with self._lock:
            now = time.monotonic()
            stale = [
                n for n in names if n not in self._cache or now - self._cache[n][0] > self.ttl_s
            ]
            fetched = await asyncio.gather(*(self._fetch(backends, n) for n in stale))
            for n, doc in zip(stale, fetched, strict=True):
                if doc is None:
                    self._cache.pop(n, None)
                else:
                    self._cache[n] = (now, doc)
            return [(n, self._cache[n][1] if n in self._cache else None) for n in names]
