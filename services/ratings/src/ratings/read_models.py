"""The read models of the commitments and evidence feeds: what an evaluation may rate and cite."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ratings.models import KnownCommitment, KnownSubmission
from servicekit.readmodel import known_ids, upsert

COMMITMENT_EVENTS = frozenset({"commitment.created", "commitment.updated"})


async def apply_commitment_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """Apply one event of the commitments feed to the read model; other event types are ignored."""
    if event["type"] not in COMMITMENT_EVENTS:
        return
    p = event["payload"]
    await upsert(
        session,
        KnownCommitment,
        uuid.UUID(p["id"]),
        reference=p["reference"],
        title=p["title"],
        policy_area_id=uuid.UUID(p["policy_area_id"]),
        status=p["status"],
    )


async def apply_evidence_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """Apply one event of the evidence feed: every `submission.*` event overwrites the row.

    The evidence service's contract: each such payload carries `id`, `status` and
    `commitment_ids`, so the latest event alone says whether a submission may be cited.
    """
    if not str(event["type"]).startswith("submission."):
        return
    p = event["payload"]
    await upsert(
        session,
        KnownSubmission,
        uuid.UUID(str(p["id"])),
        status=str(p["status"]),
        commitment_ids=[str(uuid.UUID(str(c))) for c in p.get("commitment_ids") or []],
    )


async def known_commitment_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these commitment ids the read model knows."""
    return await known_ids(session, KnownCommitment, ids)
