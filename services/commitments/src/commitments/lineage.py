"""Lineage: a commitment superseded by, split into or merged into others, never in a cycle."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from commitments import events, repository, revisions
from commitments.clock import today
from commitments.lifecycle import check_transition
from commitments.models import Commitment, Event, LineageLink
from commitments.revisions import snapshot
from commitments.schemas import (
    CommitmentRead,
    CommitmentStatus,
    LineageKind,
    LineageLinkCreate,
    LineageLinkRead,
)
from servicekit.auth import Principal
from servicekit.crud import emit
from servicekit.problems import conflict, invalid

K = TypeVar("K", bound=Hashable)
# The successors of a set of commitments (ids in the database, references in an import).
Successors = Callable[[set[K]], Awaitable[set[K]]]


async def makes_cycle(predecessor: K, successor: K, successors_of: Successors[K]) -> bool:
    """Whether a link `predecessor` -> `successor` would make a cycle.

    It would when the successor is the predecessor, or the predecessor already descends from
    the successor (at any depth). The walk goes one generation per `successors_of` call.
    """
    seen, frontier = {successor}, {successor}
    while frontier:
        if predecessor in frontier:
            return True
        frontier = await successors_of(frontier) - seen
        seen |= frontier
    return False


async def add_link(
    session: AsyncSession, row: Commitment, body: LineageLinkCreate, principal: Principal
) -> LineageLinkRead:
    """Record that a commitment was superseded by, split into or merged into another."""
    successor = await session.get(Commitment, body.successor_id)
    if successor is None:
        raise invalid(
            "body.successor_id", f"No commitment with id {body.successor_id}.", "unknown_reference"
        )

    async def successors_of(ids: set[uuid.UUID]) -> set[uuid.UUID]:
        return await repository.successor_ids(session, ids)

    if await makes_cycle(row.id, successor.id, successors_of):
        raise invalid(
            "body.successor_id",
            f"{successor.reference} already descends from {row.reference} (or is it): the "
            "link would make a cycle.",
            "lineage_cycle",
        )
    existing = await repository.successor_links(session, row.id)
    if any(link.successor_id == successor.id for link in existing):
        raise conflict(f"{row.reference} is already linked to {successor.reference}.")
    if existing and (
        body.kind is not LineageKind.split_into
        or any(link.kind != LineageKind.split_into for link in existing)
    ):
        raise conflict(
            f"{row.reference} already has a successor ({existing[0].kind}); only a split may "
            "have several."
        )
    effective_on = await revisions.effective_on(session, row.id, body.effective_on)
    check_transition(
        CommitmentStatus(row.status),
        CommitmentStatus.superseded,
        due_on=row.due_on,
        today=today(),
        reason=body.reason,
        lineage=True,
    )
    targets = await repository.targets_of(session, row.id)
    before = snapshot(row, targets)
    link = LineageLink(
        kind=body.kind.value,
        predecessor_id=row.id,
        successor_id=successor.id,
        reason=body.reason,
        client_id=principal.client_id,
        organisation=principal.organisation,
    )
    session.add(link)
    row.status = CommitmentStatus.superseded.value
    if body.kind is not LineageKind.split_into:
        row.superseded_by_id = successor.id
    await session.flush()
    await revisions.revise(
        session,
        row,
        principal,
        body.kind.value,
        before,
        snapshot(row, targets),
        reason=body.reason,
        effective_on=effective_on,
    )
    read = LineageLinkRead.model_validate(link)
    events.record(session, "lineage_link.created", link.id, read)
    emit(session, Event, "commitment.updated", row, CommitmentRead)
    return read
