"""The floor: the fastest `GET /v1/commitments/{id}` this machine can serve.

A raw ASGI callable (no framework, no middleware, no ORM) with an asyncpg pool, running the same
statement as the commitments service's get-by-id (the commitment LEFT JOIN its targets in
`(created_at, id)` order, one round trip) and answering the same JSON bytes (orjson), with the
same `ETag`. Served by the same uvicorn settings as the services, it is the practical limit the
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

_C = (
    "c.id, c.reference, c.title, c.text, c.kind, c.policy_area_id, c.source_id, c.lead_bodies,"
    " c.made_on, c.due_on, c.status, c.superseded_by_id, c.created_at, c.updated_at, c.revision,"
    " c.version"
)
_T = (
    "t.id AS t_id, t.reference AS t_reference, t.commitment_id AS t_commitment_id,"
    " t.metric AS t_metric, t.unit AS t_unit, t.direction AS t_direction,"
    " t.baseline_value AS t_baseline_value, t.baseline_on AS t_baseline_on,"
    " t.target_value AS t_target_value, t.due_on AS t_due_on, t.data_source AS t_data_source,"
    " t.progress_status AS t_progress_status, t.latest_on AS t_latest_on,"
    " t.latest_value AS t_latest_value, t.expected_value AS t_expected_value,"
    " t.reading_count AS t_reading_count, t.created_at AS t_created_at,"
    " t.updated_at AS t_updated_at"
)
# The service's own statement (commitments.repository.commitment_with_targets): the commitment
# LEFT JOIN its targets, one row per target, in one round trip.
DETAIL_SQL = (
    f"SELECT {_C}, {_T} FROM commitments c LEFT OUTER JOIN targets t ON t.commitment_id = c.id"
    " WHERE c.id = $1 ORDER BY t.created_at, t.id"
)
JSON_HEADERS = [(b"content-type", b"application/json")]
NOT_FOUND = orjson.dumps({"type": "about:blank", "title": "Not Found", "status": 404})
PREFIX = "/v1/commitments/"
# pydantic writes UTC times with `Z`, as the services do.
OPTS = orjson.OPT_UTC_Z


def _target(t: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": t["t_id"],
        "reference": t["t_reference"],
        "commitment_id": t["t_commitment_id"],
        "metric": t["t_metric"],
        "unit": t["t_unit"],
        "direction": t["t_direction"],
        "baseline_value": t["t_baseline_value"],
        "baseline_on": t["t_baseline_on"],
        "target_value": t["t_target_value"],
        "due_on": t["t_due_on"],
        "data_source": t["t_data_source"],
        "progress": {
            "status": t["t_progress_status"],
            "assessed_on": t["t_latest_on"],
            "latest_value": t["t_latest_value"],
            "expected_value": t["t_expected_value"],
            "reading_count": t["t_reading_count"] or 0,
        },
        "created_at": t["t_created_at"],
        "updated_at": t["t_updated_at"],
    }


def render(row: asyncpg.Record, rows: list[asyncpg.Record]) -> bytes:
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
            "targets": [_target(t) for t in rows if t["t_id"] is not None],
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
            rows = await conn.fetch(DETAIL_SQL, ident)
        if not rows:
            await self._send(send, 404, NOT_FOUND, JSON_HEADERS)
            return
        row = rows[0]
        etag = f'"{ident.hex[-12:]}-{row["version"]}"'.encode()
        await self._send(send, 200, render(row, rows), [*JSON_HEADERS, (b"etag", etag)])

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
                # The services keep a fixed pool of 20 connections (servicekit.db); the same here.
                self.pool = await asyncpg.create_pool(url, min_size=2, max_size=20)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = Floor()
