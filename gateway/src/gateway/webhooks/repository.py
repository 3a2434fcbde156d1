"""All SQL of webhooks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from gateway.models import (
    ConsumerPosition,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from servicekit.db import UTCDateTime
from servicekit.pagination import PageParams, keyset_page

FAN_OUT_CURSOR = "webhooks"


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def head_position(session: AsyncSession) -> int:
    """The highest position in the log so far."""
    return int(await session.scalar(select(func.max(Event.position))) or 0)


async def list_subscriptions(
    session: AsyncSession,
    params: PageParams,
    *,
    owner_client_id: Sequence[str],
    active: bool | None,
) -> tuple[list[WebhookSubscription], str | None]:
    """A page of subscriptions matching every filter given."""
    stmt = select(WebhookSubscription)
    if owner_client_id:
        stmt = stmt.where(WebhookSubscription.owner_client_id.in_(owner_client_id))
    if active is not None:
        stmt = stmt.where(WebhookSubscription.active.is_(active))
    return await keyset_page(
        session, stmt, WebhookSubscription.created_at, WebhookSubscription.id, params
    )


async def list_deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    params: PageParams,
    *,
    status: Sequence[str],
    event_type: Sequence[str],
) -> tuple[list[WebhookDelivery], str | None]:
    """A page of one subscription's deliveries, oldest first."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status.in_(status))
    if event_type:
        stmt = stmt.where(WebhookDelivery.event_type.in_(event_type))
    return await keyset_page(session, stmt, WebhookDelivery.created_at, WebhookDelivery.id, params)


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID], per_delivery: int = 50
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    """The attempts of some deliveries, oldest first, at most the last `per_delivery` of each."""
    if not delivery_ids:
        return {}
    stmt = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.created_at, WebhookAttempt.id)
    )
    out: dict[uuid.UUID, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    for row in (await session.scalars(stmt)).all():
        out[row.delivery_id].append(row)
    return {d: rows[-per_delivery:] for d, rows in out.items()}


async def lock_cursor(session: AsyncSession) -> ConsumerPosition:
    """The fan-out cursor, locked for this transaction (created at 0 the first time)."""
    stmt = select(ConsumerPosition).where(ConsumerPosition.name == FAN_OUT_CURSOR)
    if _postgres(session):
        stmt = stmt.with_for_update()
    row = (await session.scalars(stmt)).one_or_none()
    if row is None:
        row = ConsumerPosition(name=FAN_OUT_CURSOR, position=0)
        session.add(row)
        await session.flush()
    return row


async def fan_out_pending(session: AsyncSession) -> bool:
    """Whether the log has positioned events past the fan-out cursor (read without locking)."""
    cursor = select(ConsumerPosition.position).where(ConsumerPosition.name == FAN_OUT_CURSOR)
    after = int(await session.scalar(cursor) or 0)
    found = await session.scalar(select(Event.id).where(Event.position > after).limit(1))
    return found is not None


async def events_after(session: AsyncSession, position: int, limit: int) -> list[Event]:
    """Positioned log events after `position`, in order: what the fan-out decides by (type,
    visibility), without the payload, which only a delivery reads."""
    stmt = (
        select(Event)
        .options(load_only(Event.id, Event.position, Event.type, Event.public))
        .where(Event.position > position)
        .order_by(Event.position)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def active_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    """Every active subscription."""
    stmt = select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
    return list((await session.scalars(stmt)).all())


async def due_deliveries(
    session: AsyncSession, now: datetime, limit: int, *, exclude: Sequence[uuid.UUID] = ()
) -> list[WebhookDelivery]:
    """Pending deliveries of active subscriptions that are due, locked for this transaction.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas claiming at once take different rows and
    none waits for another. SQLite: the transaction already holds the database write lock.
    """
    stmt = _due(now, exclude).order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    stmt = stmt.limit(limit)
    if _postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
    return list((await session.scalars(stmt)).all())


async def any_due(
    session: AsyncSession, now: datetime, *, exclude: Sequence[uuid.UUID] = ()
) -> bool:
    """Whether `due_deliveries` would find anything (read without locking)."""
    found = await session.scalar(_due(now, exclude).with_only_columns(WebhookDelivery.id).limit(1))
    return found is not None


def _due(now: datetime, exclude: Sequence[uuid.UUID]) -> Select[WebhookDelivery]:
    stmt = (
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
        )
    )
    if exclude:
        # Subscriptions this replica already has enough attempts in flight for.
        stmt = stmt.where(WebhookDelivery.subscription_id.not_in(exclude))
    return stmt


async def events_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Event]:
    """Log events by id."""
    if not ids:
        return {}
    rows = (await session.scalars(select(Event).where(Event.id.in_(ids)))).all()
    return {r.id: r for r in rows}


async def subscriptions_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, WebhookSubscription]:
    """Subscriptions by id."""
    if not ids:
        return {}
    stmt = select(WebhookSubscription).where(WebhookSubscription.id.in_(ids))
    return {r.id: r for r in (await session.scalars(stmt)).all()}


async def lock_delivery(session: AsyncSession, ident: uuid.UUID) -> WebhookDelivery | None:
    """A delivery, locked for this transaction."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == ident)
    if _postgres(session):
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def note_failure(
    session: AsyncSession, subscription_id: uuid.UUID, now: datetime
) -> tuple[int, datetime | None]:
    """Count a failed attempt against a subscription; returns (failures in a row, since when).

    A plain UPDATE, not through the ORM: delivery health is not an edit of the subscription, so
    it must not change the subscription's version (its ETag) under the owner's feet.
    """
    await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .values(
            consecutive_failures=WebhookSubscription.consecutive_failures + 1,
            failing_since=func.coalesce(
                WebhookSubscription.failing_since, literal(now, UTCDateTime())
            ),
        )
        .execution_options(synchronize_session=False)
    )
    row = (
        await session.execute(
            select(
                WebhookSubscription.consecutive_failures, WebhookSubscription.failing_since
            ).where(WebhookSubscription.id == subscription_id)
        )
    ).one_or_none()
    if row is None:
        return 0, None
    return int(row[0]), row[1]


async def note_success(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """End a subscription's run of failures (writes only if there was one)."""
    await session.execute(
        update(WebhookSubscription)
        .where(
            WebhookSubscription.id == subscription_id,
            or_(
                WebhookSubscription.consecutive_failures != 0,
                WebhookSubscription.failing_since.is_not(None),
            ),
        )
        .values(consecutive_failures=0, failing_since=None)
        .execution_options(synchronize_session=False)
    )
