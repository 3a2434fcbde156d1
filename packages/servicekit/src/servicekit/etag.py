"""ETags: `If-Match` for optimistic concurrency on PATCH/PUT, `If-None-Match` for reads."""

from __future__ import annotations

import hashlib
import uuid

from fastapi import Request, Response

from servicekit.problems import ProblemError


def etag_for(resource_id: uuid.UUID, version: int) -> str:
    """A strong ETag: changes exactly when the resource's version changes."""
    return f'"{resource_id.hex[-12:]}-{version}"'


def set_etag(response: Response, resource_id: uuid.UUID, version: int) -> None:
    """Send the resource's current ETag."""
    response.headers["ETag"] = etag_for(resource_id, version)


def location_of(request: Request, route_name: str, **path_params: object) -> str:
    """The path of a named route (the `Location` of a resource it serves)."""
    return str(request.url_for(route_name, **path_params).path)


def created_headers(location: str, resource_id: uuid.UUID, version: int = 1) -> dict[str, str]:
    """A 201's headers: where the new resource lives, and its first ETag."""
    return {"Location": location, "ETag": etag_for(resource_id, version)}


def set_created(
    response: Response, location: str, resource_id: uuid.UUID, version: int = 1
) -> None:
    """Put a 201's `Location` and `ETag` on the route's response."""
    response.headers.update(created_headers(location, resource_id, version))


def require_if_match(request: Request, resource_id: uuid.UUID, version: int) -> None:
    """428 without `If-Match`, 412 when it names another version; `*` matches any."""
    header = request.headers.get("if-match")
    if not header:
        raise ProblemError(
            428,
            "Precondition Required",
            "Send If-Match with the ETag you last read, so concurrent edits are not lost.",
            type_="/problems/if-match-required",
        )
    current = etag_for(resource_id, version)
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    if "*" not in tags and current not in tags:
        raise ProblemError(
            412,
            "Precondition Failed",
            f"If-Match {header} does not match the current ETag {current}; fetch it again.",
            type_="/problems/stale-etag",
        )


def content_etag(body: bytes) -> str:
    """A strong ETag derived from a representation's bytes (for composed, versionless reads)."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether `If-None-Match` names this ETag (or `*`): the client's copy is current (304)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags
