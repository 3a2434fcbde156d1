"""The commitments service's rows: sources, policy areas, commitments, targets, readings.

Each commitment comes with its lead bodies, its targets (progress consistent with their
readings, by `commitments.progress`), its creation revision and one event per created resource.
`known_commitment_row` is how the other services' read models keep a commitment.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from bench import pg
from bench.data.feed import Feed
from bench.data.ids import uuid7_at
from bench.data.sizes import Sizes
from bench.data.vocabulary import BENCH_CLIENT, BENCH_ORG, words

AREAS = (
    ("care-of-patients", "Care of patients and people in receipt of social care"),
    ("health-of-the-population", "Health of the population"),
    ("cost-and-efficiency", "Cost and efficiency of care"),
    ("workforce-digital-literacy", "Workforce literacy and the digital workforce"),
    ("data-and-interoperability", "Data and interoperability"),
    ("cyber-security", "Cyber security"),
    ("primary-care", "Primary care access"),
    ("social-care-digitisation", "Digitisation of social care"),
)
BODIES = ("NHS England", "DHSC", "NHS Digital", "UKHSA", "CQC", "NICE", "HEE", "LGA")
COMMITMENT_KINDS = ("pledge", "target", "recommendation")
COMMITMENT_STATUSES = ("not_started", "in_progress", "in_progress", "partially_met", "met")
UNITS = ("percent", "count", "gbp", "fte", "boolean")


def _progress(t: dict[str, Any], readings: list[tuple[float, date]]) -> dict[str, Any]:
    """The stored progress columns, by the service's own rule."""
    from commitments.progress import Point, TargetSpec, assess
    from commitments.schemas import Direction, Unit

    a = assess(
        TargetSpec(
            unit=Unit(t["unit"]),
            direction=Direction(t["direction"]),
            baseline_value=t["baseline_value"],
            baseline_on=t["baseline_on"],
            target_value=t["target_value"],
            due_on=t["due_on"],
        ),
        [Point(v, d) for v, d in readings],
    )
    return {
        "progress_status": a.status.value if a.status else None,
        "latest_value": a.latest_value,
        "latest_on": a.assessed_on,
        "expected_value": a.expected_value,
        "reading_count": a.reading_count,
    }


def commitment_row(
    i: int,
    at: datetime,
    rng: random.Random,
    areas: list[uuid.UUID],
    sources: list[uuid.UUID],
    text_words: int = 40,
) -> dict[str, Any]:
    """One commitment (targets counted in later by the caller)."""
    made = (at - timedelta(days=rng.randint(30, 900))).date()
    return {
        "id": uuid7_at(at, rng),
        "created_at": at,
        "updated_at": at,
        "version": 1,
        "reference": f"BENCH-{i:07d}",
        "title": f"Commitment {i}: " + words(rng, 8),
        "text": words(rng, text_words),
        "kind": rng.choice(COMMITMENT_KINDS),
        "policy_area_id": areas[i % len(areas)],
        "source_id": sources[i % len(sources)],
        "lead_bodies": rng.sample(BODIES, 2),
        "made_on": made,
        "due_on": made + timedelta(days=rng.randint(365, 1500)),
        "status": rng.choice(COMMITMENT_STATUSES),
        "superseded_by_id": None,
        "revision": 1,
        "target_count": 0,
        "off_track_count": 0,
    }


def target_row(c: dict[str, Any], j: int, at: datetime, rng: random.Random) -> dict[str, Any]:
    """A target of commitment `c` (progress filled in from its readings by the caller)."""
    unit = UNITS[j % len(UNITS)]
    increase = unit != "gbp" or rng.random() < 0.5
    if unit == "boolean":
        baseline, goal = 0.0, 1.0
    elif unit == "percent":
        baseline = float(rng.randint(10, 70))
        goal = float(rng.randint(int(baseline) + 5, 100)) if increase else baseline / 2
    else:
        baseline = float(rng.randint(100, 10_000))
        goal = baseline * (1.5 if increase else 0.5)
    return {
        "id": uuid7_at(at, rng),
        "created_at": at,
        "updated_at": at,
        "version": 1,
        "reference": f"{c['reference']}-T{j + 1}",
        "commitment_id": c["id"],
        "metric": words(rng, 6),
        "unit": unit,
        "direction": "increase" if increase else "decrease",
        "baseline_value": baseline,
        "baseline_on": c["made_on"],
        "target_value": goal,
        "due_on": c["due_on"],
        "data_source": "Bench statistical release",
    }


def reading_row(t: dict[str, Any], at: datetime, rng: random.Random) -> dict[str, Any]:
    """A progress reading somewhere between the baseline and the due date."""
    span = max(1, (t["due_on"] - t["baseline_on"]).days)
    as_of = t["baseline_on"] + timedelta(days=rng.randint(1, span))
    lo, hi = sorted((t["baseline_value"], t["target_value"]))
    value = float(rng.choice((lo, hi))) if t["unit"] == "boolean" else round(rng.uniform(lo, hi), 1)
    return {
        "id": uuid7_at(at, rng),
        "created_at": at,
        "target_id": t["id"],
        "value": value,
        "as_of": as_of,
        "source": "Bench statistical release",
        "evidence_url": None,
        "evidence_submission_id": None,
        "client_id": BENCH_CLIENT,
        "organisation": BENCH_ORG,
    }


def _json_commitment(c: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "reference",
        "title",
        "text",
        "kind",
        "policy_area_id",
        "source_id",
        "lead_bodies",
        "made_on",
        "due_on",
        "status",
        "superseded_by_id",
        "created_at",
        "updated_at",
        "revision",
    )
    return {k: c[k] for k in keys}


def _json_target(t: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "reference",
        "commitment_id",
        "metric",
        "unit",
        "direction",
        "baseline_value",
        "baseline_on",
        "target_value",
        "due_on",
        "data_source",
    )
    out = {k: t[k] for k in keys}
    out["progress"] = {
        "status": t["progress_status"],
        "assessed_on": t["latest_on"],
        "latest_value": t["latest_value"],
        "expected_value": t["expected_value"],
        "reading_count": t["reading_count"],
    }
    out["created_at"], out["updated_at"] = t["created_at"], t["updated_at"]
    return out


def _iso(v: Any) -> Any:
    return (
        v.isoformat()
        if isinstance(v, date | datetime)
        else str(v)
        if isinstance(v, uuid.UUID)
        else v
    )


def revision_row(
    c: dict[str, Any], targets: list[dict[str, Any]], rng: random.Random
) -> dict[str, Any]:
    """The creation revision, with the snapshot `as_of` reads use."""
    fields = (
        "reference",
        "title",
        "text",
        "kind",
        "policy_area_id",
        "source_id",
        "lead_bodies",
        "made_on",
        "due_on",
        "status",
        "superseded_by_id",
    )
    target_fields = (
        "reference",
        "metric",
        "unit",
        "direction",
        "baseline_value",
        "baseline_on",
        "target_value",
        "due_on",
        "data_source",
    )
    snap: dict[str, Any] = {f: _iso(c[f]) for f in fields}
    snap["targets"] = [
        {"id": str(t["id"]), **{f: _iso(t[f]) for f in target_fields}} for t in targets
    ]
    changes = [{"path": f"/{f}", "before": None, "after": snap[f]} for f in fields if snap[f]]
    return {
        "id": uuid7_at(c["created_at"], rng),
        "created_at": c["created_at"],
        "commitment_id": c["id"],
        "number": 1,
        "action": "created",
        "effective_on": c["made_on"],
        "client_id": BENCH_CLIENT,
        "organisation": BENCH_ORG,
        "reason": None,
        "changes": changes,
        "snapshot": snap,
    }


@dataclass
class Commitments:
    """The commitments service's generated rows (kept for the read models of the others)."""

    sources: list[dict[str, Any]]
    areas: list[dict[str, Any]]
    commitments: list[dict[str, Any]]
    lead_bodies: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    readings: list[dict[str, Any]]
    revisions: list[dict[str, Any]]
    feed: Feed


def generate_commitments(sizes: Sizes, start: datetime, rng: random.Random) -> Commitments:
    """Every commitments-service row, in creation order."""
    step = timedelta(days=200) / max(1, sizes.commitments)
    feed = Feed("commitments")
    sources: list[dict[str, Any]] = []
    for n in range(20):
        at = start - timedelta(days=30, minutes=n)
        sources.append(
            {
                "id": uuid7_at(at, rng),
                "created_at": at,
                "updated_at": at,
                "version": 1,
                "reference": f"BENCH-SRC-{n:03d}",
                "title": f"Source document {n}",
                "publisher": rng.choice(BODIES),
                "kind": "plan",
                "published_on": at.date(),
                "url": None,
            }
        )
    areas: list[dict[str, Any]] = []
    for a, (slug, name) in enumerate(AREAS):
        at = start - timedelta(days=29, minutes=a)
        areas.append(
            {
                "id": uuid7_at(at, rng),
                "created_at": at,
                "updated_at": at,
                "version": 1,
                "slug": slug,
                "name": name,
                "description": None,
            }
        )
    for s in sources:
        feed.add(
            "source.created", s["id"], s["created_at"], {k: _iso(v) for k, v in s.items()}, rng
        )
    for area in areas:
        payload = {k: _iso(v) for k, v in area.items()}
        feed.add("policy_area.created", area["id"], area["created_at"], payload, rng)
    area_ids, source_ids = [a["id"] for a in areas], [s["id"] for s in sources]
    out = Commitments(sources, areas, [], [], [], [], [], feed)
    tick = timedelta(milliseconds=1)
    for i in range(sizes.commitments):
        at = start + step * i
        c = commitment_row(i, at, rng, area_ids, source_ids)
        targets = []
        for j in range(sizes.targets_per_commitment):
            t = target_row(c, j, at + tick * (j + 1), rng)
            rs = [
                reading_row(t, at + tick * (20 + j * 5 + k), rng)
                for k in range(sizes.readings_per_target)
            ]
            rs_sorted = sorted(rs, key=lambda r: (r["as_of"], r["created_at"]))
            t.update(_progress(t, [(r["value"], r["as_of"]) for r in rs_sorted]))
            targets.append(t)
            out.readings += rs
        c["target_count"] = len(targets)
        c["off_track_count"] = sum(t["progress_status"] == "off_track" for t in targets)
        out.commitments.append(c)
        out.lead_bodies += [{"body": b, "commitment_id": c["id"]} for b in c["lead_bodies"]]
        out.targets += targets
        out.revisions.append(revision_row(c, targets, rng))
        feed.add("commitment.created", c["id"], at, _json_commitment(c), rng)
        for t in targets:
            feed.add("target.created", t["id"], t["created_at"], _json_target(t), rng)
    for r in out.readings:
        payload = {k: r[k] for k in r}
        feed.add("reading.created", r["id"], r["created_at"], payload, rng)
    # Positions follow occurred_at, as the sequencer numbers them.
    feed.rows.sort(key=lambda e: (e["occurred_at"], e["id"]))
    for n, e in enumerate(feed.rows, 1):
        e["position"] = n
    return out


async def load_commitments(conn: asyncpg.Connection, data: Commitments) -> None:
    """COPY the commitments service's rows."""
    tables = (
        ("sources", data.sources),
        ("policy_areas", data.areas),
        ("commitments", data.commitments),
        ("commitment_lead_bodies", data.lead_bodies),
        ("targets", data.targets),
        ("progress_readings", data.readings),
        ("commitment_revisions", data.revisions),
        ("events", data.feed.rows),
    )
    async with pg.bulk(conn, [t for t, _ in tables]):
        for table, rows in tables:
            await pg.copy_rows(conn, table, rows)


def known_commitment_row(c: dict[str, Any], service: str) -> dict[str, Any]:
    """A commitment as the evidence/ratings read models keep it."""
    row = {
        "id": c["id"],
        "reference": c["reference"],
        "title": c["title"],
        "policy_area_id": c["policy_area_id"],
        "status": c["status"],
    }
    row["updated_at" if service == "evidence" else "synced_at"] = c["updated_at"]
    return row
