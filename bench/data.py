"""The data set: valid rows for every service's tables, generated in Python and COPYed in bulk.

How to adjust it when a schema changes: each table has one `*_row` function below returning a
dict keyed by column name. `bench.pg.copy_rows` compares those keys with the live table after
`alembic upgrade head`, and stops with the table and column to fix if the generator writes a
column that is gone or leaves out a required one (new nullable columns or ones with a default
need nothing). Derived values come from the services' own pure rule code (target progress from
`commitments.progress`, rating overalls from `ratings.aggregation`), so they match what the API
would have stored.

What is generated, per service (sizes in `Sizes`):

- commitments: sources, policy areas, commitments with lead bodies, targets with progress
  consistent with their readings, one creation revision each, and the outbox (`events`) with
  one positioned event per created resource (`commitment.created`, `target.created`,
  `reading.created`).
- evidence: the `known_commitments` read model (every commitment), submissions about one to
  three commitments in every status (published ones with their accept/publish decisions,
  publication references and counter), and one positioned event per submission in its current
  state; `consumer_positions` at the commitments feed's head, so the consumer does not replay.
- ratings: `known_commitments` and `known_submissions` read models, published evaluations with
  their scope (the first has 9 commitments, the second 1,000, the rest share what is left),
  published ratings with overalls, events, and `consumer_positions` at both feeds' heads.
- gateway: its event log as a copy of the three feeds (source ids and positions), consumer
  positions at every head and the webhook fan-out cursor at the log's head.

Feeds are "compacted": one event per resource in its current state rather than its whole
history. Growth rows (`grow_*`, the 1,000,000-row phase) are commitments and ratings only,
written without events: they exist to make the tables large, not to be consumed.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench import pg

SEED = 20231
WORDS = [
    "digital",
    "care",
    "record",
    "patient",
    "trust",
    "integrated",
    "system",
    "provider",
    "electronic",
    "data",
    "shared",
    "workforce",
    "training",
    "funding",
    "capital",
    "revenue",
    "programme",
    "milestone",
    "delivery",
    "interoperable",
    "standards",
    "platform",
    "access",
    "services",
    "community",
    "hospital",
    "primary",
    "secondary",
    "social",
    "plan",
    "target",
    "progress",
    "evidence",
    "review",
    "committee",
    "panel",
    "outcome",
    "impact",
    "national",
    "local",
    "region",
    "board",
    "investment",
    "cyber",
    "resilience",
    "app",
    "booking",
    "prescription",
    "referral",
    "discharge",
    "pathway",
]
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
SUBMISSION_KINDS = ("written", "oral_transcript", "roundtable_note", "data_return")
STANCES = ("supports", "challenges", "mixed", "neutral")
CONSENTS = ("publish", "publish", "publish_anonymously", "do_not_publish")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BENCH_CLIENT = "bench-loader"
BENCH_ORG = "Scrutiny benchmark"
EVIDENCE_PREFIX = "EV"


@dataclass(frozen=True)
class Sizes:
    """How much of everything; `FULL` is the issue's data set."""

    commitments: int
    targets_per_commitment: int
    readings_per_target: int
    submissions: int
    evaluations: int
    ratings: int
    report_small: int = 9
    report_large: int = 1_000
    # The growth phase: the commitments and ratings tables are grown to this many rows.
    grown: int = 1_000_000
    # Ratings per evaluation added by the growth phase.
    growth_scope: int = 500


FULL = Sizes(10_000, 5, 1, 200_000, 100, 50_000)
# The "1,000 rows" end of the growth ratios: 1,000 commitments, 1,000 ratings.
SMALL = Sizes(1_000, 5, 1, 2_000, 2, 1_000)
QUICK = Sizes(2_000, 5, 1, 20_000, 10, 5_000, grown=100_000)


# --- ids and clocks ------------------------------------------------------------------------------


def uuid7_at(ts: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 whose time is `ts`, as the services' `new_id()` would have made at that moment."""
    ms = int(ts.timestamp() * 1000)
    rand = rng.getrandbits(74)
    return uuid.UUID(
        int=(ms << 80)
        | (0x7 << 76)
        | ((rand >> 62) << 64)
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )


def receipt_reference(ident: uuid.UUID) -> str:
    """`SUB-` + 8 Crockford base32 characters from the id's low 40 bits (the service's rule)."""
    bits = ident.int & ((1 << 40) - 1)
    return "SUB-" + "".join(CROCKFORD[(bits >> s) & 31] for s in range(35, -1, -5))


def words(rng: random.Random, n: int) -> str:
    """Plausible filler text."""
    return " ".join(rng.choices(WORDS, k=n))


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


class Feed:
    """Positioned outbox rows of one service (and what the gateway's log imports from them)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        type_: str,
        resource_id: uuid.UUID,
        at: datetime,
        payload: dict[str, Any],
        rng: random.Random,
        *,
        public: bool = True,
    ) -> None:
        """Append an event at the next position."""
        self.rows.append(
            {
                "id": uuid7_at(at, rng),
                "position": len(self.rows) + 1,
                "type": type_,
                "resource_type": type_.split(".", 1)[0],
                "resource_id": resource_id,
                "occurred_at": at,
                "public": public,
                "payload": payload,
            }
        )


# --- commitments ---------------------------------------------------------------------------------


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


# --- evidence ------------------------------------------------------------------------------------


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


@dataclass
class Evidence:
    """The evidence service's generated rows."""

    known: list[dict[str, Any]]
    submissions: list[dict[str, Any]]
    links: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    counters: list[dict[str, Any]]
    feed: Feed


def submission_status(rng: random.Random, consent: str) -> str:
    """A realistic spread: most published (where consented), some in moderation or rejected."""
    roll = rng.random()
    if roll < 0.55 and consent != "do_not_publish":
        return "published"
    if roll < 0.75:
        return "accepted"
    if roll < 0.92:
        return "received"
    return "rejected"


def generate_evidence(
    sizes: Sizes, start: datetime, commitments: Commitments, rng: random.Random
) -> Evidence:
    """Submissions spread over every commitment, each in a status with the decisions behind it."""
    step = timedelta(days=200) / max(1, sizes.submissions)
    ids = [c["id"] for c in commitments.commitments]
    out = Evidence(
        [known_commitment_row(c, "evidence") for c in commitments.commitments],
        [],
        [],
        [],
        [],
        Feed("evidence"),
    )
    receipts: set[str] = set()
    published = 0
    for i in range(sizes.submissions):
        at = start + timedelta(days=1) + step * i
        ident = uuid7_at(at, rng)
        while receipt_reference(ident) in receipts:
            ident = uuid7_at(at, rng)
        receipts.add(receipt_reference(ident))
        about = rng.sample(ids, rng.choice((1, 1, 2, 3)))
        consent = rng.choice(CONSENTS)
        status = submission_status(rng, consent)
        title = f"Evidence {i}: " + words(rng, 6)
        summary = words(rng, 12)
        body = words(rng, 50)
        s: dict[str, Any] = {
            "id": ident,
            "created_at": at,
            "updated_at": at,
            "version": 1,
            "submitter_client_id": f"bench-stakeholder-{i % 50}",
            "submitter_organisation": f"Stakeholder organisation {i % 50}",
            "kind": rng.choice(SUBMISSION_KINDS),
            "title": title,
            "summary": summary,
            "body": body,
            "stance": rng.choice(STANCES),
            "consent": consent,
            "status": status,
            "receipt_reference": receipt_reference(ident),
            "received_at": at,
            "content_sha256": hashlib.sha256(body.encode()).hexdigest(),
            "publication_reference": None,
            "published_at": None,
            "call_id": None,
            "late": False,
            "public_title": title,
            "public_summary": summary,
            "public_body": body,
        }
        steps = {
            "accepted": [("accept", "received", "accepted")],
            "published": [("accept", "received", "accepted"), ("publish", "accepted", "published")],
            "rejected": [("reject", "received", "rejected")],
        }.get(status, [])
        for n, (action, frm, to) in enumerate(steps, 1):
            decided = at + timedelta(hours=n)
            ref = None
            if action == "publish":
                published += 1
                ref = f"{EVIDENCE_PREFIX}{published:04d}"
                s["publication_reference"], s["published_at"] = ref, decided
                s["updated_at"] = decided
                s["version"] = 1 + len(steps)
            out.decisions.append(
                {
                    "id": uuid7_at(decided, rng),
                    "created_at": decided,
                    "submission_id": ident,
                    "action": action,
                    "from_status": frm,
                    "to_status": to,
                    "reason": "Bench moderation",
                    "decided_by": "bench-moderator",
                    "publication_reference": ref,
                }
            )
        out.submissions.append(s)
        out.links += [
            {"submission_id": ident, "commitment_id": c, "position": n} for n, c in enumerate(about)
        ]
        public = status == "published"
        payload = {
            "id": ident,
            "receipt_reference": None if public else s["receipt_reference"],
            "received_at": at,
            "content_sha256": None if public else s["content_sha256"],
            "submitter": {
                "client_id": s["submitter_client_id"],
                "organisation": s["submitter_organisation"],
            },
            "commitment_ids": about,
            "kind": s["kind"],
            "title": title,
            "summary": summary,
            "body": body,
            "stance": s["stance"],
            "consent": consent,
            "status": status,
            "publication_reference": s["publication_reference"],
            "published_at": s["published_at"],
            "call_id": None,
            "late": False,
            "attachments": [],
            "redactions": None if public else [],
            "created_at": at,
            "updated_at": s["updated_at"],
        }
        out.feed.add(f"submission.{status}", ident, s["updated_at"], payload, rng, public=public)
    if published:
        out.counters.append({"prefix": EVIDENCE_PREFIX, "last_number": published})
    out.feed.rows.sort(key=lambda e: (e["occurred_at"], e["id"]))
    for n, e in enumerate(out.feed.rows, 1):
        e["position"] = n
    return out


async def load_evidence(conn: asyncpg.Connection, data: Evidence, commitments_head: int) -> None:
    """COPY the evidence service's rows; its commitments consumer starts at that feed's head."""
    tables = (
        ("known_commitments", data.known),
        ("submissions", data.submissions),
        ("submission_commitments", data.links),
        ("decisions", data.decisions),
        ("publication_counters", data.counters),
        ("events", data.feed.rows),
        ("consumer_positions", [{"name": "commitments", "position": commitments_head}]),
    )
    async with pg.bulk(conn, [t for t, _ in tables]):
        for table, rows in tables:
            if rows:
                await pg.copy_rows(conn, table, rows)


# --- ratings -------------------------------------------------------------------------------------


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


# --- gateway -------------------------------------------------------------------------------------


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


# --- the whole data set --------------------------------------------------------------------------


async def load_all(server: str, prefix: str, sizes: Sizes) -> Plan:
    """Generate and COPY every service's data; returns what the scenarios need."""
    import time

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


async def grow(server: str, prefix: str, sizes: Sizes, plan: Plan) -> dict[str, float]:
    """Grow `commitments` (commitments service) and `ratings` (ratings service) to `sizes.grown`.

    Growth commitments are dated before the data set (a historic back-fill), so the data set's
    own rows keep their place at the end of the keyset order; growth ratings belong to new
    published evaluations of `growth_scope` commitments each, drawn from the known commitments.
    """
    import time

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
