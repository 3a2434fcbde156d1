"""The floor: the fastest `GET /v1/commitments/{id}` this machine can serve.

A raw ASGI callable (no framework, no middleware, no ORM) with an asyncpg pool, running the same
two SELECTs as the commitments service's get-by-id (the commitment by primary key, then its
targets in `(created_at, id)` order) and answering the same JSON bytes (orjson), with the same
`ETag`. Served by the same uvicorn settings as the services, it is the practical limit the
service is compared with (`floor_ratio`). The bench checks at start-up that both answer
byte-identical bodies for the same commitment, so the comparison is like for like.

Run: `uvicorn bench.floor:app --loop uvloop --http httptools` with `FLOOR_DATABASE_URL` set
(a `postgresql://` URL; the SQLAlchemy `+asyncpg` form is accepted too).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import asyncpg
import orjson

COMMITMENT_SQL = (
    "SELECT id, reference, title, text, kind, policy_area_id, source_id, lead_bodies, made_on,"
    " due_on, status, superseded_by_id, created_at, updated_at, revision, version"
    " FROM commitments WHERE id = $1"
)
TARGETS_SQL = (
    "SELECT id, reference, commitment_id, metric, unit, direction, baseline_value, baseline_on,"
    " target_value, due_on, data_source, progress_status, latest_on, latest_value,"
    " expected_value, reading_count, created_at, updated_at"
    " FROM targets WHERE commitment_id = $1 ORDER BY created_at, id"
)
JSON_HEADERS = [(b"content-type", b"application/json")]
NOT_FOUND = orjson.dumps({"type": "about:blank", "title": "Not Found", "status": 404})
PREFIX = "/v1/commitments/"
# pydantic writes UTC times with `Z`, as the services do.
OPTS = orjson.OPT_UTC_Z


def _target(t: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": t["id"],
        "reference": t["reference"],
        "commitment_id": t["commitment_id"],
        "metric": t["metric"],
        "unit": t["unit"],
        "direction": t["direction"],
        "baseline_value": t["baseline_value"],
        "baseline_on": t["baseline_on"],
        "target_value": t["target_value"],
        "due_on": t["due_on"],
        "data_source": t["data_source"],
        "progress": {
            "status": t["progress_status"],
            "assessed_on": t["latest_on"],
            "latest_value": t["latest_value"],
            "expected_value": t["expected_value"],
            "reading_count": t["reading_count"] or 0,
        },
        "created_at": t["created_at"],
        "updated_at": t["updated_at"],
    }


def render(row: asyncpg.Record, targets: list[asyncpg.Record]) -> bytes:
    """The commitment detail exactly as the service serialises it."""
    return orjson.dumps(
        {
            "id": row["id"],
            "reference": row["reference"],
            "title": row["title"],
            "text": row["text"],
            "kind": row["kind"],
            "policy_area_id": row["policy_area_id"],
            "source_id": row["source_id"],
            "lead_bodies": orjson.loads(row["lead_bodies"]),
            "made_on": row["made_on"],
            "due_on": row["due_on"],
            "status": row["status"],
            "superseded_by_id": row["superseded_by_id"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "revision": row["revision"],
            "targets": [_target(t) for t in targets],
            "as_of": None,
        },
        option=OPTS,
        # asyncpg's UUID is its own (fast) type; orjson writes it via str(), as pydantic would.
        default=str,
    )


class Floor:
    """The ASGI app: lifespan opens the pool; GET /v1/commitments/{id} is the only route."""

    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope["path"]
        if path == "/readyz":
            await self._send(send, 200, b'{"status":"ok"}', JSON_HEADERS)
            return
        if not path.startswith(PREFIX):
            await self._send(send, 404, NOT_FOUND, JSON_HEADERS)
            return
        try:
            ident = uuid.UUID(path[len(PREFIX) :])
        except ValueError:
            await self._send(send, 404, NOT_FOUND, JSON_HEADERS)
            return
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(COMMITMENT_SQL, ident)
            if row is None:
                await self._send(send, 404, NOT_FOUND, JSON_HEADERS)
                return
            targets = await conn.fetch(TARGETS_SQL, ident)
        etag = f'"{ident.hex[-12:]}-{row["version"]}"'.encode()
        await self._send(send, 200, render(row, targets), [*JSON_HEADERS, (b"etag", etag)])

    @staticmethod
    async def _send(
        send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                url = os.environ["FLOOR_DATABASE_URL"].replace(
                    "postgresql+asyncpg://", "postgresql://"
                )
                # The services' pools hold up to 10 connections (+10 overflow); the same here.
                self.pool = await asyncpg.create_pool(url, min_size=2, max_size=10)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = Floor()
