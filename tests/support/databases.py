"""Databases for tests: SQLite files by default, fresh PostgreSQL databases when configured.

Set SCRUTINY_TEST_POSTGRES_URL (e.g. `postgresql+asyncpg://postgres@127.0.0.1:5432`) to run the
suite on PostgreSQL; `.ci/run` does, once on each backend.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = {
    "commitments": ROOT / "services/commitments/alembic.ini",
    "evidence": ROOT / "services/evidence/alembic.ini",
    "ratings": ROOT / "services/ratings/alembic.ini",
    "gateway": ROOT / "gateway/alembic.ini",
}
POSTGRES_URL = os.environ.get("SCRUTINY_TEST_POSTGRES_URL", "").rstrip("/")
ON_POSTGRES = bool(POSTGRES_URL)
NO_POSTGRES_REASON = (
    "needs PostgreSQL: set SCRUTINY_TEST_POSTGRES_URL=postgresql+asyncpg://user@host:5432 "
    "(row locks and concurrent writers cannot be shown on SQLite)"
)


CREATED: list[str] = []


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def drop_created() -> None:
    """Drop every database this test session created (FORCE: stray pooled connections too)."""
    while CREATED:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{CREATED.pop()}" WITH (FORCE)'))


def fresh_database_url(service: str, tmp_dir: Path) -> str:
    """A new, empty database for `service` on the configured backend."""
    if ON_POSTGRES:
        name = f"test_{service}_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        CREATED.append(name)
        return f"{POSTGRES_URL}/{name}"
    return f"sqlite+aiosqlite:///{tmp_dir / f'{service}.db'}"


def migrate(service: str, url: str) -> None:
    """`alembic upgrade head` for a service, the way operators run it."""
    env = {**os.environ, f"{service.upper()}_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI[service]), "upgrade", "head"],
        check=True,
        env=env,
        capture_output=True,
    )


def migrated_database(service: str, tmp_dir: Path) -> str:
    """A fresh database for `service`, migrated to head."""
    url = fresh_database_url(service, tmp_dir)
    migrate(service, url)
    return url
