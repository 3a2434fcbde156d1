"""Consumers of another service's event feed, applying events into a local read model.

Each consumer stores its position in the same transaction as the changes an event causes, and
locks its position row while applying, so with several replicas running exactly one applies a
given batch and every event is applied at most once (and, by retrying, at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import BigInteger, String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

log = logging.getLogger("servicekit.consumer")

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]


class ConsumerPositionMixin:
    """Columns of a service's `consumer_positions` table: one row per consumed feed."""

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class FeedConsumer:
    """Polls `GET /v1/events?after=` on a source and applies each event once."""

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        maker: async_sessionmaker[AsyncSession],
        position_model: type[Any],
        handler: Handler,
        *,
        interval: float = 0.25,
        batch: int = 200,
        headers: Callable[[], Awaitable[dict[str, str]]] | None = None,
    ) -> None:
        self.name = name
        self.client = client
        self.maker = maker
        self.position_model = position_model
        self.handler = handler
        self.interval = interval
        self.batch = batch
        self.headers = headers

    async def position(self) -> int:
        """The last position applied."""
        async with self.maker() as session:
            row = await session.get(self.position_model, self.name)
            return row.position if row else 0

    async def poll_once(self) -> int:
        """Fetch and apply one batch; returns how many events were applied."""
        after = await self.position()
        headers = await self.headers() if self.headers else {}
        resp = await self.client.get(
            "/v1/events", params={"after": after, "limit": self.batch}, headers=headers
        )
        resp.raise_for_status()
        events = resp.json()["items"]
        if not events:
            return 0
        applied = 0
        async with self.maker() as session, session.begin():
            stmt = select(self.position_model).where(self.position_model.name == self.name)
            if session.bind.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            row = (await session.scalars(stmt)).one_or_none()
            if row is None:
                row = self.position_model(name=self.name, position=0)
                session.add(row)
            for event in events:
                # Another replica may have applied part of this batch while we fetched it.
                if event["position"] <= row.position:
                    continue
                await self.handler(session, event)
                row.position = event["position"]
                applied += 1
        return applied

    async def run(self) -> None:
        """Poll forever, backing off while the source is unreachable."""
        delay = self.interval
        while True:
            try:
                applied = await self.poll_once()
                delay = self.interval
                if applied:
                    continue
            except asyncio.CancelledError:
                raise
            except httpx.HTTPError as exc:
                log.warning("feed %s unreachable: %s", self.name, exc)
                delay = min(delay * 2, 5.0)
            except Exception:
                log.exception("consumer %s failed to apply a batch; will retry", self.name)
                delay = min(delay * 2, 5.0)
            await asyncio.sleep(delay)


@contextlib.asynccontextmanager
async def running(*consumers: FeedConsumer) -> AsyncIterator[None]:
    """Run consumers for the life of the app."""
    tasks = [asyncio.create_task(c.run(), name=f"consumer-{c.name}") for c in consumers]
    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
