"""Shared Alembic `env.py` logic: async engines, batch mode on SQLite, one MetaData per service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.db import is_sqlite

# Alembic's `include_name(name, type_, parent_names) -> bool`.
IncludeName = Callable[..., bool]


def _configure(
    connection: Connection | None, url: str, metadata: MetaData, include_name: IncludeName | None
) -> None:
    context.configure(
        connection=connection,
        url=url if connection is None else None,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=is_sqlite(url),
        compare_type=True,
        literal_binds=connection is None,
        include_name=include_name,
    )


def run_migrations(
    metadata: MetaData, url: str, *, include_name: IncludeName | None = None
) -> None:
    """Entry point for a service's `migrations/env.py`.

    `include_name` (Alembic's hook) lets a service hide database objects its migrations create
    outside the MetaData (e.g. full-text search tables) from autogenerate and `alembic check`.
    """
    if context.is_offline_mode():
        _configure(None, url, metadata, include_name)
        with context.begin_transaction():
            context.run_migrations()
        return

    def _run(connection: Connection) -> None:
        _configure(connection, url, metadata, include_name)
        with context.begin_transaction():
            context.run_migrations()

    async def _online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(_online())
