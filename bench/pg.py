"""PostgreSQL plumbing: fresh databases, migrations, and bulk COPY checked against the live schema.

The generator (`bench.data`) yields rows as dicts. `copy_rows` checks them against the table as
the migrations left it (information_schema), so a schema change shows up as a clear message
("X has required column(s) Y that the generator (bench/data/) does not fill") rather
than as a wrong benchmark. Columns the generator leaves out take their database default or NULL.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import asyncpg
import orjson

ROOT = Path(__file__).resolve().parents[1]
ALEMBIC_INI = {
    "commitments": ROOT / "services/commitments/alembic.ini",
    "evidence": ROOT / "services/evidence/alembic.ini",
    "ratings": ROOT / "services/ratings/alembic.ini",
    "gateway": ROOT / "gateway/alembic.ini",
}
PARTS = tuple(ALEMBIC_INI)
BATCH = 50_000


def dsn(server: str, database: str) -> str:
    """A plain libpq URL for asyncpg."""
    return f"{server.rstrip('/')}/{database}"


def sqlalchemy_url(server: str, database: str) -> str:
    """The same database as the services name it."""
    return dsn(server, database).replace("postgresql://", "postgresql+asyncpg://", 1)


def db_name(prefix: str, part: str) -> str:
    """`bench_commitments` and so on."""
    return f"{prefix}_{part}"


async def recreate_databases(server: str, prefix: str) -> None:
    """Drop (terminating stray sessions) and create one database per part."""
    conn = await asyncpg.connect(dsn(server, "postgres"))
    try:
        for part in PARTS:
            name = db_name(prefix, part)
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_databases(server: str, prefix: str) -> None:
    """Remove the bench databases (`--drop` at the end of a run)."""
    conn = await asyncpg.connect(dsn(server, "postgres"))
    try:
        for part in PARTS:
            name = db_name(prefix, part)
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


def migrate(env: dict[str, str]) -> float:
    """`alembic upgrade head` for every part (the services' own migrations); returns seconds."""
    started = time.monotonic()
    for part, ini in ALEMBIC_INI.items():
        out = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"migrating {part} failed:\n{out.stderr[-3000:]}")
    return time.monotonic() - started


@dataclass(frozen=True)
class Column:
    """A column as the migrations made it."""

    name: str
    data_type: str
    required: bool  # NOT NULL without a default


async def columns(conn: asyncpg.Connection, table: str) -> dict[str, Column]:
    """The live columns of a table."""
    rows = await conn.fetch(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    if not rows:
        raise SystemExit(f"table {table!r} does not exist; update bench/data/ to the new schema")
    return {
        r["column_name"]: Column(
            r["column_name"],
            r["data_type"],
            r["is_nullable"] == "NO" and r["column_default"] is None,
        )
        for r in rows
    }


def _chunks(rows: Iterable[dict[str, Any]], n: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, n)):
        yield chunk


async def copy_rows(conn: asyncpg.Connection, table: str, rows: Iterable[dict[str, Any]]) -> int:
    """COPY dict rows into `table` (binary protocol), checking them against its columns."""
    live = await columns(conn, table)
    total = 0
    names: list[str] | None = None
    json_cols: set[str] = set()
    for chunk in _chunks(rows, BATCH):
        if names is None:
            names = list(chunk[0])
            unknown = [c for c in names if c not in live]
            if unknown:
                raise SystemExit(
                    f"the generator (bench/data/) writes {table}.{', '.join(unknown)}, which the "
                    "schema no longer has: update it"
                )
            missing = [c.name for c in live.values() if c.required and c.name not in names]
            if missing:
                raise SystemExit(
                    f"{table} has required column(s) {', '.join(missing)} that the generator "
                    "(bench/data/) does not fill: add them to it"
                )
            json_cols = {c for c in names if live[c].data_type in ("json", "jsonb")}
        assert names is not None
        records = [
            tuple(
                orjson.dumps(r[c], option=orjson.OPT_UTC_Z).decode() if c in json_cols else r[c]
                for c in names
            )
            for r in chunk
        ]
        await conn.copy_records_to_table(table, records=records, columns=names)
        total += len(records)
    return total


async def secondary_indexes(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """`(name, CREATE INDEX ...)` of the indexes not backing a constraint (safe to rebuild)."""
    rows = await conn.fetch(
        "SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def"
        " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE t.relname = $1 AND t.relnamespace = 'public'::regnamespace"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
        table,
    )
    return [(r["name"], r["def"]) for r in rows]


@contextlib.asynccontextmanager
async def bulk(conn: asyncpg.Connection, tables: Iterable[str]) -> AsyncIterator[None]:
    """Drop the secondary indexes of `tables`, let the caller COPY, then rebuild and ANALYZE.

    Building an index once over loaded rows is far faster than maintaining twenty of them row by
    row; the rebuilt indexes are exactly the migrations' (their definitions are read back from
    the catalogue, not written here).
    """
    saved: list[tuple[str, str]] = []
    tables = list(tables)
    await conn.execute("SET maintenance_work_mem = '256MB'")
    await conn.execute("SET synchronous_commit = off")
    for table in tables:
        for name, ddl in await secondary_indexes(conn, table):
            saved.append((name, ddl))
            await conn.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        for _name, ddl in saved:
            await conn.execute(ddl)
        for table in tables:
            await conn.execute(f'ANALYZE "{table}"')


async def scalar(server: str, database: str, sql: str, *args: Any) -> Any:
    """One value from one query."""
    conn = await asyncpg.connect(dsn(server, database))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def server_version(server: str) -> str:
    """`PostgreSQL 15.x ...`."""
    return str(await scalar(server, "postgres", "SELECT version()"))
