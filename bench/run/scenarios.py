"""The scenarios: what is requested, through which process, with how many connections.

`full` is the full phase's list in the order measured (the floor first, so that it can be
stopped before the suite is loaded), then the ingest check (`ingest`) and the profiles; `growth`
is the pair measured at each growth point. Each ends up in results.json under
`scenarios.<name>`; bench/README.md says what each measures.
"""

from __future__ import annotations

import random
import uuid

import asyncpg

from bench import data, pg, suite
from bench.run import ingest
from bench.run.measure import Bench
from servicekit.pagination import encode_token

# wrk connections at the growth points (why two: `growth`).
GROWTH_CONNECTIONS = 2

# Composed reads are measured composing: the gateway keeps published reports for 30 s, and a
# request's `Cache-Control: no-cache` makes it compose afresh (the cached path has its own row).
NO_CACHE = "Cache-Control: no-cache"


async def deep_tokens(server: str, prefix: str, n_tokens: int = 50) -> list[str]:
    """Page tokens of `GET /v1/commitments` between 80 % and 95 % of the table (keyset order)."""
    conn = await asyncpg.connect(pg.dsn(server, pg.db_name(prefix, "commitments")))
    try:
        total = int(await conn.fetchval("SELECT count(*) FROM commitments"))
        start, stop = int(total * 0.80), int(total * 0.95)
        step = max(1, (stop - start) // n_tokens)
        rows = await conn.fetch(
            "SELECT created_at, id FROM (SELECT created_at, id, row_number() OVER"
            " (ORDER BY created_at, id) AS n FROM commitments) x"
            " WHERE n > $1 AND n <= $2 AND (n - $1) % $3 = 0 ORDER BY n",
            start,
            stop,
            step,
        )
    finally:
        await conn.close()
    return [encode_token([r["created_at"].isoformat(), str(r["id"])]) for r in rows[:n_tokens]]


async def growth(b: Bench, label: str, plan: data.Plan) -> None:
    """The deep list page (service direct) and the 9-commitment report (gateway), on a fresh start.

    Two connections: the p50 is then the time to serve a request, not the time it queued
    behind 31 others (which would only restate throughput).
    """
    tokens = await deep_tokens(b.server, b.prefix)
    deep = b.paths(f"deep-{label}", [f"/v1/commitments?page_token={t}" for t in tokens])
    report9 = b.paths(f"report9-{label}", [f"/v1/evaluations/{plan.evaluation_ids[0]}/report"])
    b.start()
    try:
        b.scenario(
            f"growth_list_deep_{label}",
            "deep page of GET /v1/commitments (service)",
            "commitments",
            "paths.lua",
            [deep],
            phase=label,
            connections=GROWTH_CONNECTIONS,
        )
        b.scenario(
            f"growth_report_9_{label}",
            "9-commitment report (gateway)",
            "gateway",
            "paths.lua",
            [report9, NO_CACHE],
            phase=label,
            connections=GROWTH_CONNECTIONS,
        )
    finally:
        b.stop()


async def full(b: Bench, plan: data.Plan, ingest_token: str, ingest_client: str) -> None:
    """The full phase's scenarios in order, the ingest check, then the profiles."""
    ids = [str(i) for i in plan.commitment_ids]
    get = b.paths("get", [f"/v1/commitments/{i}" for i in ids])
    first = b.paths("list-first", ["/v1/commitments"])
    tokens = await deep_tokens(b.server, b.prefix)
    deep = b.paths("list-deep", [f"/v1/commitments?page_token={t}" for t in tokens])
    r9 = b.paths("report9", [f"/v1/evaluations/{plan.evaluation_ids[0]}/report"])
    r1000 = b.paths("report1000", [f"/v1/evaluations/{plan.evaluation_ids[1]}/report"])
    card = b.paths("scorecard", [f"/v1/commitments/{i}/scorecard" for i in ids])
    rng = random.Random(7)
    heads = plan.feed_heads
    ev_c = b.paths(
        "events-commitments",
        [
            f"/v1/events?after={rng.randint(0, heads['commitments'] - 100)}&limit=100"
            for _ in range(1000)
        ],
    )
    ev_g = b.paths(
        "events-gateway",
        [
            f"/v1/events?after={rng.randint(0, heads['gateway'] - 100)}&limit=100"
            for _ in range(1000)
        ],
    )
    sc = b.scenario
    sc(
        "floor_get_commitment",
        "floor: bare ASGI + asyncpg, same queries and JSON",
        "floor",
        "paths.lua",
        [get],
    )
    assert b.procs is not None
    b.procs.stop_one(suite.FLOOR)
    sc(
        "get_commitment_direct",
        "GET /v1/commitments/{id} (service)",
        "commitments",
        "paths.lua",
        [get],
    )
    # The framework alone: the same app, middleware and server, a route with no database
    # work. The floor ratio cannot beat floor / (this + the query and JSON the floor does).
    sc(
        "healthz_direct",
        "GET /healthz (service): framework and middleware, no database work",
        "commitments",
        "paths.lua",
        [b.paths("healthz", ["/healthz"])],
    )
    sc(
        "get_commitment_gateway",
        "GET /v1/commitments/{id} (gateway)",
        "gateway",
        "paths.lua",
        [get],
    )
    sc(
        "list_commitments_first_gateway",
        "GET /v1/commitments first page (gateway)",
        "gateway",
        "paths.lua",
        [first],
    )
    sc(
        "list_commitments_deep_gateway",
        "GET /v1/commitments deep page, keyset token (gateway)",
        "gateway",
        "paths.lua",
        [deep],
    )
    sc(
        "report_9_gateway",
        "evaluation report, 9 commitments, composed on every request (gateway)",
        "gateway",
        "paths.lua",
        [r9, NO_CACHE],
    )
    sc(
        "report_9_gateway_cached",
        "the same published report as a dashboard polls it (gateway's 30 s report cache)",
        "gateway",
        "paths.lua",
        [r9],
    )
    # Composed reads fan out to many service calls each; fewer connections keep their latency
    # within wrk's timeout on one core (throughput is the same at any concurrency past 8).
    sc(
        "report_1000_gateway",
        "evaluation report, 1,000 commitments (gateway)",
        "gateway",
        "paths.lua",
        [r1000, NO_CACHE],
        connections=8,
    )
    sc(
        "scorecard_gateway",
        "GET /v1/commitments/{id}/scorecard (gateway)",
        "gateway",
        "paths.lua",
        [card],
        connections=8,
    )
    sc(
        "events_feed_direct",
        "GET /v1/events?after=&limit=100 (commitments service)",
        "commitments",
        "paths.lua",
        [ev_c],
    )
    sc(
        "events_feed_gateway",
        "GET /v1/events?after=&limit=100 (gateway log)",
        "gateway",
        "paths.lua",
        [ev_g],
    )
    await ingest.measure(b, plan, ingest_token, ingest_client)
    # Profiles of the paths behind the ratios (kept whether or not a target is missed).
    b.profiled("get_commitment_direct", "commitments", "paths.lua", [get], ["commitments"])
    b.profiled("get_commitment_gateway", "gateway", "paths.lua", [get], ["gateway"])
    b.profiled("report_9_gateway", "gateway", "paths.lua", [r9, NO_CACHE], ["gateway", "ratings"])
    run_id = f"p{uuid.uuid4().hex[:8]}"
    commitments_file = b.paths("submit-commitments", [str(i) for i in plan.commitment_ids])
    b.profiled(
        "submit_evidence_gateway",
        "gateway",
        "submit.lua",
        [ingest_token, commitments_file, str(b.work / f"acks-{run_id}"), run_id],
        ["gateway", "evidence"],
    )
