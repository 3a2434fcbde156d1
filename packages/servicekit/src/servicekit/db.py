"""Database plumbing: declarative bases, engines, and the session as the unit of work."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator, Uuid
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.ids import new_id, utcnow

# Named constraints keep Alembic migrations deterministic on both SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A fresh MetaData per service, so one service's autogenerate never sees another's tables."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class IdMixin:
    """Opaque UUIDv7 id plus the creation time that keyset pagination orders by."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class VersionedMixin:
    """An optimistic-concurrency counter; the ETag of a resource is derived from it."""

    version: Mapped[int] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    @declared_attr.directive
    def __mapper_args__(self) -> dict[str, Any]:
        # SQLAlchemy bumps the counter and adds `WHERE version = :old` to every UPDATE, so two
        # writers racing past the same If-Match cannot both win.
        return {"version_id_col": self.__table__.c.version}  # type: ignore[attr-defined]


def make_base(metadata: MetaData) -> type[DeclarativeBase]:
    """A declarative base bound to a service's own MetaData."""

    class Base(DeclarativeBase):
        pass

    Base.metadata = metadata
    return Base


def is_sqlite(url: str) -> bool:
    """Whether a database URL points at SQLite (the embedded default)."""
    return url.startswith("sqlite")


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = 20, max_overflow: int = 0
) -> AsyncEngine:
    """An async engine with the settings each backend needs to be safe under concurrent writers."""
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            # SQLite has one writer; a long busy timeout turns contention into waiting, not errors.
            connect_args={"timeout": 30},
            poolclass=NullPool if ":memory:" not in url else None,
            **_JSON,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # The driver's own transaction handling would defer BEGIN; we issue it ourselves below.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get("isolation_level") == READ_ONLY:
                # Reads run statement by statement in WAL mode, never holding the write lock.
                return
            # IMMEDIATE takes the write lock up front, so read-then-write transactions never
            # fail half-way with SQLITE_BUSY_SNAPSHOT.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A fixed pool: overflow connections are closed on check-in and reopened under steady load,
    # and each PostgreSQL connection is a forked backend (milliseconds of CPU); requests beyond
    # the pool wait for a connection instead. No pre-ping: it costs a round trip on every
    # checkout, and a connection that died (a database restart) fails only the request that
    # meets it, after which SQLAlchemy invalidates the whole pool.
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        **_JSON,
    )


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (event payloads, snapshots, lead bodies) parsed and written by orjson.
_JSON: dict[str, Any] = {"json_deserializer": orjson.loads, "json_serializer": _json_dumps}


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built from them)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# Safe requests (GET, HEAD) read in autocommit mode: no BEGIN/COMMIT round trips, and on SQLite
# no write lock. Nothing is lost by it: PostgreSQL's READ COMMITTED takes a new snapshot for every
# statement inside a transaction too, so a multi-statement read was never one snapshot.
READ_ONLY = "AUTOCOMMIT"


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe requests: autocommit reads on the same pool."""
    return async_sessionmaker(
        engine.execution_options(isolation_level=READ_ONLY),
        expire_on_commit=False,
        autoflush=False,
    )


@contextlib.asynccontextmanager
async def autocommit(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session of `maker` that reads in autocommit: no transaction, on SQLite no write lock.

    For background loops that look before they write, so an idle pass takes no lock.
    """
    async with maker() as session:
        await session.connection(execution_options={"isolation_level": READ_ONLY})
        yield session


async def session_from_request(request: Request) -> AsyncIterator[AsyncSession]:
    """The unit of work: one transaction per request, committed on success, rolled back on error.

    Services and repositories never commit; use with `Depends(..., scope="function")` so the
    commit happens before the response is sent (a 201 means committed). Safe (GET) routes use
    `read_session_from_request` instead; `tests/test_contract.py` holds every route to that.
    """
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session, session.begin():
        yield session


# Where a request's read sessions wait to be closed: a list put in the ASGI scope by
# ReadSessionMiddleware (a list, so that a router copying the scope still shares it).
_READ_SESSIONS = "servicekit.read_sessions"


async def read_session_from_request(request: Request) -> AsyncSession:
    """An autocommit session for a safe request, closed after the response is sent.

    A plain (not generator) dependency: FastAPI runs a generator dependency's exit inside a
    shielded anyio cancel scope, which measured about a tenth of the CPU of a get-by-id (bench/).
    `ReadSessionMiddleware` closes the session instead, which also keeps it open while a
    streamed response is still reading.
    """
    maker: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
    session = maker()
    opened = request.scope.get(_READ_SESSIONS)
    if opened is None:
        await session.close()
        raise RuntimeError("read_session_from_request needs ReadSessionMiddleware")
    opened.append(session)
    return session


class ReadSessionMiddleware:
    """Closes the read sessions a request opened (returning their connections to the pool)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        opened: list[AsyncSession] = []
        scope[_READ_SESSIONS] = opened
        try:
            await self.app(scope, receive, send)
        finally:
            for session in opened:
                await session.close()
