"""The gateway's rows: its event log as an import of the three services' feeds."""

from __future__ import annotations

import random

import asyncpg

from bench import pg
from bench.data.feed import Feed
from bench.data.ids import uuid7_at


async def load_gateway(conn: asyncpg.Connection, feeds: list[Feed], rng: random.Random) -> int:
    """The gateway's log: every service's feed imported, interleaved by time; returns its head."""
    merged = sorted(
        ((e, f.source) for f in feeds for e in f.rows), key=lambda x: (x[0]["occurred_at"], x[1])
    )
    rows = []
    for n, (e, source) in enumerate(merged, 1):
        rows.append(
            {
                **e,
                "id": uuid7_at(e["occurred_at"], rng),
                "position": n,
                "source": source,
                "source_event_id": e["id"],
                "source_position": e["position"],
            }
        )
    positions = [{"name": f.source, "position": len(f.rows)} for f in feeds]
    positions.append({"name": "webhooks", "position": len(rows)})
    async with pg.bulk(conn, ["events", "consumer_positions"]):
        await pg.copy_rows(conn, "events", rows)
        await pg.copy_rows(conn, "consumer_positions", positions)
    return len(rows)
