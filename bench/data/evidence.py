"""The evidence service's rows: submissions in every status, with the decisions behind them.

Also its `known_commitments` read model (every commitment), the publication counter, one event
per submission in its current state and the consumer position at the commitments feed's head.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bench import pg
from bench.data.commitments import Commitments, known_commitment_row
from bench.data.feed import Feed
from bench.data.ids import uuid7_at
from bench.data.sizes import Sizes
from bench.data.vocabulary import words

SUBMISSION_KINDS = ("written", "oral_transcript", "roundtable_note", "data_return")
STANCES = ("supports", "challenges", "mixed", "neutral")
CONSENTS = ("publish", "publish", "publish_anonymously", "do_not_publish")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EVIDENCE_PREFIX = "EV"


def receipt_reference(ident: uuid.UUID) -> str:
    """`SUB-` + 8 Crockford base32 characters from the id's low 40 bits (the service's rule)."""
    bits = ident.int & ((1 << 40) - 1)
    return "SUB-" + "".join(CROCKFORD[(bits >> s) & 31] for s in range(35, -1, -5))


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
