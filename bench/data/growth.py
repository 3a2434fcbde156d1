"""The 1,000,000-row phase: the `commitments` and `ratings` tables bulk-grown, without events."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import asyncpg

from bench import pg
from bench.data.commitments import commitment_row
from bench.data.dataset import Plan
from bench.data.ratings import Overalls, evaluation_row, rating_row
from bench.data.sizes import SEED, Sizes


async def grow(server: str, prefix: str, sizes: Sizes, plan: Plan) -> dict[str, float]:
    """Grow `commitments` (commitments service) and `ratings` (ratings service) to `sizes.grown`.

    Growth commitments are dated before the data set (a historic back-fill), so the data set's
    own rows keep their place at the end of the keyset order; growth ratings belong to new
    published evaluations of `growth_scope` commitments each, drawn from the known commitments.
    """
    rng = random.Random(SEED + 1)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    conn = await asyncpg.connect(pg.dsn(server, pg.db_name(prefix, "commitments")))
    try:
        have = int(await conn.fetchval("SELECT count(*) FROM commitments"))
        extra = max(0, sizes.grown - have)
        first = await conn.fetchval("SELECT min(created_at) FROM commitments")
        step = timedelta(days=3000) / max(1, extra)
        base = first - timedelta(days=3001)
        areas, sources = (
            plan.policy_areas,
            [r["id"] for r in await conn.fetch("SELECT id FROM sources")],
        )

        def rows() -> Iterator[dict[str, Any]]:
            for k in range(extra):
                # Shorter wording: the full-text GIN index over a million rows is rebuilt after
                # the COPY, and its cost grows with the text, not with what is measured.
                yield commitment_row(10_000_000 + k, base + step * k, rng, areas, sources, 12)

        async with pg.bulk(conn, ["commitments"]):
            await pg.copy_rows(conn, "commitments", rows())
    finally:
        await conn.close()
    timings["grow_commitments_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    conn = await asyncpg.connect(pg.dsn(server, pg.db_name(prefix, "ratings")))
    try:
        have = int(await conn.fetchval("SELECT count(*) FROM ratings"))
        known = [r["id"] for r in await conn.fetch("SELECT id FROM known_commitments")]
        o = Overalls()
        per = min(sizes.growth_scope, len(known))
        n_evals = max(0, (sizes.grown - have + per - 1) // per)
        last = await conn.fetchval("SELECT max(created_at) FROM evaluations")
        evals = [
            evaluation_row(1000 + n, last + timedelta(minutes=n + 1), rng, o)
            for n in range(n_evals)
        ]
        scopes = [rng.sample(known, per) for _ in evals]

        def scope_rows() -> Iterator[dict[str, Any]]:
            for e, cids in zip(evals, scopes, strict=True):
                for p, cid in enumerate(cids):
                    yield {"evaluation_id": e["id"], "commitment_id": cid, "position": p}

        def rating_rows() -> Iterator[dict[str, Any]]:
            for e, cids in zip(evals, scopes, strict=True):
                at = e["created_at"]
                for p, cid in enumerate(cids):
                    yield rating_row(e, cid, at + timedelta(microseconds=p), rng, o, [])

        async with pg.bulk(conn, ["evaluations", "evaluation_commitments", "ratings"]):
            await pg.copy_rows(conn, "evaluations", evals)
            await pg.copy_rows(conn, "evaluation_commitments", scope_rows())
            await pg.copy_rows(conn, "ratings", rating_rows())
    finally:
        await conn.close()
    timings["grow_ratings_s"] = time.monotonic() - t0
    return timings
