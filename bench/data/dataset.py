"""The whole data set: every service's rows generated, then COPYed into its database."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from bench import pg
from bench.data.commitments import generate_commitments, load_commitments
from bench.data.evidence import generate_evidence, load_evidence
from bench.data.gateway import load_gateway
from bench.data.ratings import generate_ratings, load_ratings
from bench.data.sizes import SEED, Sizes


@dataclass
class Plan:
    """What was generated, for the scenarios: ids to request, heads of the feeds."""

    commitment_ids: list[uuid.UUID] = field(default_factory=list)
    target_ids: list[uuid.UUID] = field(default_factory=list)
    evaluation_ids: list[uuid.UUID] = field(default_factory=list)
    # Per evaluation: its commitments in order (the first two are the 9 and 1,000 reports).
    scopes: list[list[uuid.UUID]] = field(default_factory=list)
    feed_heads: dict[str, int] = field(default_factory=dict)
    policy_areas: list[uuid.UUID] = field(default_factory=list)
    submissions: int = 0
    ratings: int = 0
    timings: dict[str, float] = field(default_factory=dict)


async def load_all(server: str, prefix: str, sizes: Sizes) -> Plan:
    """Generate and COPY every service's data; returns what the scenarios need."""
    rng = random.Random(SEED)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=400)
    plan = Plan()
    t0 = time.monotonic()
    com = generate_commitments(sizes, start, rng)
    evi = generate_evidence(sizes, start, com, rng)
    rat = generate_ratings(sizes, start, com, evi, rng)
    plan.timings["generate_s"] = time.monotonic() - t0
    heads = {"commitments": len(com.feed.rows), "evidence": len(evi.feed.rows)}
    t0 = time.monotonic()
    for part, work in (
        ("commitments", lambda c: load_commitments(c, com)),
        ("evidence", lambda c: load_evidence(c, evi, heads["commitments"])),
        ("ratings", lambda c: load_ratings(c, rat, heads["commitments"], heads["evidence"])),
        ("gateway", lambda c: load_gateway(c, [com.feed, evi.feed, rat.feed], rng)),
    ):
        conn = await asyncpg.connect(pg.dsn(server, pg.db_name(prefix, part)))
        try:
            result = await work(conn)
        finally:
            await conn.close()
        if part == "gateway":
            heads["gateway"] = int(result or 0)
    heads["ratings"] = len(rat.feed.rows)
    plan.timings["copy_s"] = time.monotonic() - t0
    plan.commitment_ids = [c["id"] for c in com.commitments]
    plan.target_ids = [t["id"] for t in com.targets]
    plan.policy_areas = [a["id"] for a in com.areas]
    plan.evaluation_ids = [e["id"] for e in rat.evaluations]
    plan.scopes = rat.scopes
    plan.feed_heads = heads
    plan.submissions = len(evi.submissions)
    plan.ratings = len(rat.ratings)
    return plan
