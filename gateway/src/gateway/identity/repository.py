"""All SQL of the gateway."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ApiClient, SigningKey
from servicekit.pagination import PageParams, keyset_page


async def client_by_client_id(session: AsyncSession, client_id: str) -> ApiClient | None:
    """The API client with this public client id, or None."""
    return await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


async def list_clients(
    session: AsyncSession,
    params: PageParams,
    *,
    organisation: Sequence[str],
    client_id: Sequence[str],
    active: bool | None,
) -> tuple[list[ApiClient], str | None]:
    """A page of API clients matching every filter given."""
    stmt = select(ApiClient)
    if organisation:
        stmt = stmt.where(ApiClient.organisation.in_(organisation))
    if client_id:
        stmt = stmt.where(ApiClient.client_id.in_(client_id))
    if active is not None:
        stmt = stmt.where(ApiClient.active.is_(active))
    return await keyset_page(session, stmt, ApiClient.created_at, ApiClient.id, params)


async def lock_signing_keys(session: AsyncSession) -> None:
    """Serialise key creation across replicas for the rest of this transaction.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every transaction already holds the
    database write lock from its first statement (servicekit starts them with BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(b"scrutiny-gateway:signing-keys")
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def signing_keys(session: AsyncSession) -> list[SigningKey]:
    """Every signing key, newest first (there are only ever a handful)."""
    stmt = select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.kid)
    return list((await session.scalars(stmt)).all())


async def live_signing_keys(session: AsyncSession, retired_after: datetime) -> list[SigningKey]:
    """Keys not retired, or retired after `retired_after`; newest first."""
    stmt = (
        select(SigningKey)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > retired_after))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)
    )
    return list((await session.scalars(stmt)).all())


async def retire_signing_keys(session: AsyncSession, at: datetime) -> None:
    """Set a retirement time on every key that has none."""
    await session.execute(
        update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=at)
    )
