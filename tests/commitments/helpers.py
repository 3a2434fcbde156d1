"""Helpers for the commitments tests: build data through the public API, as a client would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def ref(prefix: str = "T") -> str:
    """A unique reference, so tests share one database without clashing."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], auth: dict[str, str]
) -> dict[str, Any]:
    """POST that must succeed with 201."""
    r = await client.post(path, json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


async def area_and_source(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh policy area and source."""
    area = await post(
        client, "/v1/policy-areas", {"slug": ref("area").lower(), "name": "Area"}, auth
    )
    source = await post(
        client,
        "/v1/sources",
        {"reference": ref("src"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        auth,
    )
    return area, source


async def commitment(
    client: httpx.AsyncClient, auth: dict[str, str], **over: Any
) -> dict[str, Any]:
    """A fresh commitment (in its own area and source unless given)."""
    if "policy_area_id" not in over or "source_id" not in over:
        area, source = await area_and_source(client, auth)
        over = {"policy_area_id": area["id"], "source_id": source["id"], **over}
    body = {"reference": ref("C"), "title": "A commitment", "text": "We will do a thing.", **over}
    return await post(client, "/v1/commitments", body, auth)


def target_body(**over: Any) -> dict[str, Any]:
    """A target: 0 → 100 percent over the 100 days from 2020-01-01 to 2020-04-10."""
    return {
        "reference": ref("TG"),
        "metric": "Share done",
        "unit": "percent",
        "baseline_value": 0,
        "baseline_on": "2020-01-01",
        "target_value": 100,
        "due_on": "2020-04-10",
        "reason": "Measurable target agreed.",
        **over,
    }


async def target(
    client: httpx.AsyncClient, auth: dict[str, str], commitment_id: str, **over: Any
) -> dict[str, Any]:
    """A target added to a commitment."""
    return await post(client, f"/v1/commitments/{commitment_id}/targets", target_body(**over), auth)


async def reading(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    target_id: str,
    value: Any,
    as_of: str,
    **over: Any,
) -> httpx.Response:
    """Post a reading with a fresh idempotency key."""
    return await client.post(
        f"/v1/targets/{target_id}/readings",
        json={"value": value, "as_of": as_of, "source": "Test return", **over},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )


async def etag(client: httpx.AsyncClient, path: str) -> str:
    """The current ETag of a resource."""
    return (await client.get(path)).headers["etag"]


async def patch(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], auth: dict[str, str]
) -> httpx.Response:
    """A merge patch with the current ETag."""
    return await client.patch(
        path, json=body, headers={**auth, "If-Match": await etag(client, path)}
    )
