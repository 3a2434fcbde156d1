"""Consumers of another service's event feed, applying events into a local read model.

Guarantees, and what gives each:

- **At most once.** The consumer's position (`consumer_positions`, one row per feed) is updated in
  the same transaction as the changes the events cause. An event is applied only if its position
  is above the stored one, read under `SELECT ... FOR UPDATE` on PostgreSQL (on SQLite every
  transaction already holds the write lock), so two replicas that fetched the same batch cannot
  both apply it: the second waits for the first to commit, then sees the new position and skips.
- **At least once.** A batch that fails (the handler raised, the database went away, the process
  was killed) rolls back with its position, so it is fetched and applied again.
- **One active consumer per feed.** With several replicas, each consumer's polling loop first
  takes a PostgreSQL session advisory lock (`pg_try_advisory_lock`) on a dedicated connection and
  holds it while it polls; the other replicas stand by and retry every `standby_interval`
  seconds. If the holder dies its connection closes and PostgreSQL releases the lock, so a
  standby takes over within that interval. The lock saves duplicate work; correctness never
  depends on it (the row lock above is the guard).
- **Survives restarts.** The position is in the database, so a restarted consumer continues
  from the last committed batch.

A consumer with credentials never reads anonymously: its `headers` hook raises while no token can
be had (the service starts before the gateway can issue one), and the loop backs off and retries.
Reading anonymously would skip private events for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import BigInteger, String, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.background import finish, pause
from servicekit.http import make_client
from servicekit.logs import describe_error
from servicekit.service_auth import consumer_headers
from servicekit.settings import ServiceSettings

log = logging.getLogger("servicekit.consumer")

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
# Applies a whole batch at once (e.g. one query to de-duplicate, one multi-row insert).
BatchHandler = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]


class ConsumerPositionMixin:
    """Columns of a service's `consumer_positions` table: one row per consumed feed."""

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


def lock_key(name: str) -> int:
    """The advisory-lock key of a named singleton task (a signed 64-bit integer)."""
    return zlib.crc32(f"scrutiny-consumer:{name}".encode())


class SingleActive:
    """A PostgreSQL session advisory lock held on a dedicated connection.

    `acquire()` is non-blocking (`pg_try_advisory_lock`); `held()` checks the connection is still
    alive (a lost connection means a lost lock). On SQLite there is nothing to take: every caller
    is active, and the database write lock serialises them.
    """

    def __init__(self, engine: AsyncEngine | None, name: str) -> None:
        self.engine = engine
        self.key = lock_key(name)
        self._conn: AsyncConnection | None = None

    @property
    def needed(self) -> bool:
        """Whether this backend has advisory locks."""
        return self.engine is not None and self.engine.dialect.name == "postgresql"

    async def acquire(self) -> bool:
        """Take the lock if free; True if this instance now holds it."""
        if not self.needed:
            return True
        if self._conn is not None:
            return True
        assert self.engine is not None
        conn = await self.engine.connect()
        try:
            # Autocommit: the lock outlives transactions, and the connection must not sit
            # "idle in transaction" holding a snapshot for hours.
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}))
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def held(self) -> bool:
        """Whether the lock is still ours (its connection answers)."""
        if not self.needed:
            return True
        if self._conn is None:
            return False
        try:
            await self._conn.scalar(text("SELECT 1"))
            return True
        except Exception:
            await self.release()
            return False

    async def release(self) -> None:
        """Give the lock up (closing the connection releases it even if the unlock fails)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        with contextlib.suppress(Exception):
            await conn.close()


def _engine_of(maker: async_sessionmaker[AsyncSession]) -> AsyncEngine | None:
    bind = maker.kw.get("bind")
    return bind if isinstance(bind, AsyncEngine) else None


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
        max_backoff: float = 5.0,
        standby_interval: float = 2.0,
        liveness_interval: float = 5.0,
        batch_handler: BatchHandler | None = None,
        idle_interval: float | None = None,
    ) -> None:
        self.name = name
        self.client = client
        self.maker = maker
        self.position_model = position_model
        self.handler = handler
        self.batch_handler = batch_handler
        self.interval = interval
        # While the feed has nothing new, the wait between polls doubles up to this.
        self.idle_interval = max(idle_interval or interval, interval)
        self.batch = batch
        self.headers = headers
        self.max_backoff = max_backoff
        self.standby_interval = standby_interval
        self.liveness_interval = liveness_interval
        self.lock = SingleActive(_engine_of(maker), f"{position_model.__tablename__}:{name}")
        # Observability (and tests): whether this instance is the active one, and its work.
        self.active = False
        self.applied_total = 0
        self.polls = 0

    async def position(self) -> int:
        """The last position applied."""
        async with self.maker() as session:
            row = await session.get(self.position_model, self.name)
            return row.position if row else 0

    async def poll_once(self) -> int:
        """Fetch and apply one batch; returns how many events were applied."""
        self.polls += 1
        after = await self.position()
        headers = await self.headers() if self.headers else {}
        resp = await self.client.get(
            "/v1/events", params={"after": after, "limit": self.batch}, headers=headers
        )
        resp.raise_for_status()
        page = resp.json()
        events: list[dict[str, Any]] = page["items"]
        # A reader that is not shown private events still moves past them (else a run of more
        # than `batch` private events would hold it at the same position for ever).
        next_after = int(page.get("next_after", events[-1]["position"] if events else after))
        if not events and next_after <= after:
            return 0
        async with self.maker() as session, session.begin():
            stmt = select(self.position_model).where(self.position_model.name == self.name)
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            row = (await session.scalars(stmt)).one_or_none()
            if row is None:
                row = self.position_model(name=self.name, position=0)
                session.add(row)
            # Another replica may have applied part of this batch while we fetched it.
            fresh = [e for e in events if e["position"] > row.position]
            if self.batch_handler is not None:
                if fresh:
                    await self.batch_handler(session, fresh)
            else:
                for event in fresh:
                    await self.handler(session, event)
            if fresh:
                row.position = fresh[-1]["position"]
            applied = len(fresh)
            if next_after > row.position:
                row.position = next_after
        self.applied_total += applied
        return applied

    async def _poll_while_active(self, stop: asyncio.Event) -> None:
        """Poll until the lock is lost or `stop` is set (returns), or the task is cancelled."""
        delay = idle_delay = self.interval
        checked = asyncio.get_running_loop().time()
        while not stop.is_set():
            now = asyncio.get_running_loop().time()
            if now - checked >= self.liveness_interval:
                checked = now
                if not await self.lock.held():
                    log.warning("consumer %s lost its lock; standing by", self.name)
                    return
            try:
                applied = await self.poll_once()
                if applied >= self.batch:
                    # A backlog (a restart, a burst): drain it without pausing.
                    continue
                if applied:
                    # Caught up: wait one interval so that the next poll brings the events of
                    # that interval together. Polling again at once would cost a round trip and
                    # a transaction on both sides for every single event under steady load.
                    delay = idle_delay = self.interval
                else:
                    # An idle feed is polled less and less often (down to once per
                    # idle_interval): an idle suite should not spend its CPU asking for nothing.
                    delay, idle_delay = idle_delay, min(idle_delay * 2, self.idle_interval)
            except asyncio.CancelledError:
                raise
            except httpx.HTTPError as exc:
                log.warning("feed %s unreachable: %s", self.name, describe_error(exc))
                delay = min(delay * 2, self.max_backoff)
            except Exception:
                log.exception("consumer %s failed to apply a batch; will retry", self.name)
                delay = min(delay * 2, self.max_backoff)
                # The database may be what failed; make sure the lock is still ours.
                checked = 0.0
            await pause(delay, stop)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll while holding the feed's lock, until `stop` is set (or the task is cancelled);
        stand by while another replica holds the lock."""
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                try:
                    got = await self.lock.acquire()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning(
                        "consumer %s cannot reach its database: %s", self.name, describe_error(exc)
                    )
                    got = False
                if not got:
                    self.active = False
                    await pause(self.standby_interval, stop)
                    continue
                self.active = True
                try:
                    await self._poll_while_active(stop)
                finally:
                    self.active = False
                    await self.lock.release()
        finally:
            await self.lock.release()


@contextlib.asynccontextmanager
async def running(*consumers: FeedConsumer, grace: float = 10.0) -> AsyncIterator[None]:
    """Run consumers for the life of the app; at the end each finishes the batch it is on."""
    stops = [asyncio.Event() for _ in consumers]
    tasks = [
        asyncio.create_task(c.run(stop), name=f"consumer-{c.name}")
        for c, stop in zip(consumers, stops, strict=True)
    ]
    try:
        yield
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*(finish(t, t.get_name(), grace) for t in tasks))


@dataclass(frozen=True)
class Feed:
    """Another service's feed that this service keeps a read model of."""

    name: str
    url: str
    handler: Handler
    # Tests serve the feed in-process; None reads it over the network.
    transport: httpx.AsyncBaseTransport | None = None


def consuming(
    settings: ServiceSettings, position_model: type[Any], *feeds: Feed
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A lifespan hook consuming `feeds` for the life of the app (`app.state.consumers[name]`).

    Consumers read with the service's own token (`events:internal`) when it has credentials, so
    private events (unpublished evidence, drafts) reach the read model too.
    """

    @contextlib.asynccontextmanager
    async def hook(app: Any) -> AsyncIterator[None]:
        headers = consumer_headers(settings.client_id, settings.client_secret)
        async with contextlib.AsyncExitStack() as stack:
            consumers: dict[str, FeedConsumer] = {}
            for feed in feeds:
                client = await stack.enter_async_context(
                    make_client(feed.url, transport=feed.transport)
                )
                consumers[feed.name] = FeedConsumer(
                    feed.name,
                    client,
                    app.state.sessionmaker,
                    position_model,
                    feed.handler,
                    interval=settings.consumer_interval_s,
                    idle_interval=settings.consumer_idle_interval_s,
                    headers=headers,
                )
            app.state.consumers = consumers
            async with running(*consumers.values()):
                yield

    return hook
