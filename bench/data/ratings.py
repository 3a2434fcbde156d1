"""The ratings service's rows: published evaluations, their scope and published ratings.

Overalls come from the service's own rule (`ratings.aggregation`); the read models of
commitments and submissions are filled, and both consumers start at their feed's head.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bench import pg
from bench.data.commitments import Commitments, known_commitment_row
from bench.data.evidence import Evidence
from bench.data.feed import Feed
from bench.data.ids import uuid7_at
from bench.data.sizes import Sizes
from bench.data.vocabulary import BENCH_CLIENT, BENCH_ORG


class Overalls:
    """Rating overalls by the service's own aggregation rule (cached per combination of levels)."""

    def __init__(self) -> None:
        from ratings.aggregation import DEFAULT_DIMENSIONS, DEFAULT_SCALE, aggregate

        self.scale = DEFAULT_SCALE
        self.aggregate = aggregate
        self.dimensions = [code for code, _ in DEFAULT_DIMENSIONS]
        self.scale_json = [
            {"code": lv.code, "label": lv.label, "score": lv.score} for lv in DEFAULT_SCALE.levels
        ]
        self.dimensions_json = [{"code": c, "label": label} for c, label in DEFAULT_DIMENSIONS]
        self.codes = [lv.code for lv in DEFAULT_SCALE.levels]
        self._cache: dict[tuple[str, ...], Any] = {}

    def of(self, levels: tuple[str, ...]) -> Any:
        """`Outcome(score, level, explanation)` under `floor_mean`."""
        if levels not in self._cache:
            self._cache[levels] = self.aggregate("floor_mean", list(levels), self.scale)
        return self._cache[levels]


def evaluation_row(n: int, at: datetime, rng: random.Random, o: Overalls) -> dict[str, Any]:
    """A published evaluation on the default scale and dimensions."""
    return {
        "id": uuid7_at(at, rng),
        "created_at": at,
        "updated_at": at + timedelta(days=30),
        "version": 3,
        "title": f"Bench evaluation {n}",
        "body": "Bench expert panel",
        "chair": "Bench chair",
        "members": ["Member A", "Member B"],
        "scale": o.scale_json,
        "dimensions": o.dimensions_json,
        "aggregation_rule": "floor_mean",
        "status": "published",
        "published_on": (at + timedelta(days=30)).date(),
        "previous_evaluation_id": None,
        "published_at": at + timedelta(days=30),
        "published_by_client_id": BENCH_CLIENT,
        "published_by_organisation": BENCH_ORG,
        "withdrawn_at": None,
        "withdrawn_by_client_id": None,
        "withdrawal_reason": None,
    }


def rating_row(
    e: dict[str, Any],
    cid: uuid.UUID,
    at: datetime,
    rng: random.Random,
    o: Overalls,
    cited: list[str],
) -> dict[str, Any]:
    """A published rating with its computed overall."""
    levels = tuple(rng.choice(o.codes) for _ in o.dimensions)
    outcome = o.of(levels)
    return {
        "id": uuid7_at(at, rng),
        "created_at": at,
        "updated_at": at,
        "version": 2,
        "evaluation_id": e["id"],
        "commitment_id": cid,
        "levels": dict(zip(o.dimensions, levels, strict=True)),
        "rationales": dict.fromkeys(o.dimensions, "Bench rationale"),
        "cited_submission_ids": cited,
        "status": "published",
        "agreed_at": at,
        "agreed_by_client_id": BENCH_CLIENT,
        "rule": "floor_mean",
        "computed_level": outcome.level,
        "computed_score": outcome.score,
        "explanation": outcome.explanation,
        "override_level": None,
        "override_reason": None,
        "overall_level": outcome.level,
        "overall_score": outcome.score,
    }


@dataclass
class Ratings:
    """The ratings service's generated rows."""

    known: list[dict[str, Any]]
    known_submissions: list[dict[str, Any]]
    evaluations: list[dict[str, Any]]
    scope: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    feed: Feed
    scopes: list[list[uuid.UUID]]


def _scope_sizes(sizes: Sizes) -> list[int]:
    first = [min(sizes.report_small, sizes.ratings)]
    left = sizes.ratings - first[0]
    if sizes.evaluations > 1:
        first.append(min(sizes.report_large, left, sizes.commitments))
        left -= first[1]
    rest = sizes.evaluations - len(first)
    if rest > 0:
        each, extra = divmod(left, rest)
        first += [min(sizes.commitments, each + (1 if k < extra else 0)) for k in range(rest)]
    return first


def generate_ratings(
    sizes: Sizes,
    start: datetime,
    commitments: Commitments,
    evidence: Evidence,
    rng: random.Random,
) -> Ratings:
    """Published evaluations: 9 commitments, 1,000 commitments, then the rest spread evenly."""
    o = Overalls()
    ids = [c["id"] for c in commitments.commitments]
    published = [s["id"] for s in evidence.submissions if s["status"] == "published"]
    by_commitment: dict[uuid.UUID, list[str]] = {}
    for link in evidence.links:
        by_commitment.setdefault(link["commitment_id"], []).append(str(link["submission_id"]))
    pub = {str(p) for p in published}
    out = Ratings(
        [known_commitment_row(c, "ratings") for c in commitments.commitments],
        [
            {
                "id": s["id"],
                "status": s["status"],
                "commitment_ids": [],
                "synced_at": s["updated_at"],
            }
            for s in evidence.submissions
        ],
        [],
        [],
        [],
        Feed("ratings"),
        [],
    )
    about: dict[uuid.UUID, list[str]] = {}
    for link in evidence.links:
        about.setdefault(link["submission_id"], []).append(str(link["commitment_id"]))
    for k in out.known_submissions:
        k["commitment_ids"] = about.get(k["id"], [])
    for n, size in enumerate(_scope_sizes(sizes)):
        at = start + timedelta(days=210, hours=n)
        e = evaluation_row(n, at, rng, o)
        scope = ids[:size] if n < 2 else rng.sample(ids, size)
        out.evaluations.append(e)
        out.scopes.append(scope)
        for p, cid in enumerate(scope):
            out.scope.append({"evaluation_id": e["id"], "commitment_id": cid, "position": p})
            cited = [s for s in by_commitment.get(cid, []) if s in pub][:2]
            r = rating_row(e, cid, at + timedelta(milliseconds=p), rng, o, cited)
            out.ratings.append(r)
            out.feed.add("rating.published", r["id"], r["updated_at"], dict(r), rng)
        payload = {**e, "commitment_ids": scope}
        out.feed.add("evaluation.published", e["id"], e["updated_at"], payload, rng)
    out.feed.rows.sort(key=lambda ev: (ev["occurred_at"], ev["id"]))
    for n, ev in enumerate(out.feed.rows, 1):
        ev["position"] = n
    return out


async def load_ratings(
    conn: asyncpg.Connection, data: Ratings, commitments_head: int, evidence_head: int
) -> None:
    """COPY the ratings service's rows; both consumers start at their feed's head."""
    tables = (
        ("known_commitments", data.known),
        ("known_submissions", data.known_submissions),
        ("evaluations", data.evaluations),
        ("evaluation_commitments", data.scope),
        ("ratings", data.ratings),
        ("events", data.feed.rows),
        (
            "consumer_positions",
            [
                {"name": "commitments", "position": commitments_head},
                {"name": "evidence", "position": evidence_head},
            ],
        ),
    )
    async with pg.bulk(conn, [t for t, _ in tables]):
        for table, rows in tables:
            if rows:
                await pg.copy_rows(conn, table, rows)
