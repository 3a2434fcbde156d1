"""The read model of commitments, kept from the commitments feed; submissions are checked here.

Evidence is checked against `known_commitments`, never by calling the commitments service, so a
stakeholder can still submit while that service is down.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evidence.models import KnownCommitment
from servicekit import readmodel

COMMITMENT_EVENTS = frozenset({"commitment.created", "commitment.updated"})


async def apply_commitment_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """Apply one event of the commitments feed to `known_commitments` (idempotent upsert)."""
    if event.get("type") not in COMMITMENT_EVENTS:
        return
    p = event["payload"]
    await readmodel.upsert(
        session,
        KnownCommitment,
        uuid.UUID(p["id"]),
        reference=p["reference"],
        title=p["title"],
        policy_area_id=uuid.UUID(p["policy_area_id"]),
        status=p["status"],
        updated_at=datetime.fromisoformat(p.get("updated_at") or event["occurred_at"]),
    )


async def unknown_commitments(
    session: AsyncSession, ids: Sequence[uuid.UUID], field: str = "commitment_ids"
) -> list[tuple[str, str, str]]:
    """`(field, detail, code)` for each of `ids` the read model does not hold, in order."""
    known = await readmodel.known_ids(session, KnownCommitment, ids)
    return [
        (f"{field}.{i}", f"unknown commitment {ident}", "unknown_reference")
        for i, ident in enumerate(ids)
        if ident not in known
    ]
