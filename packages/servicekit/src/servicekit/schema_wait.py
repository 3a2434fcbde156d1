"""`python -m servicekit.schema_wait`: block until a database's schema is at the head of the
migrations this image carries. Run as an initContainer, it keeps every replica of a part from
starting until its migration Job has finished, with no access to the Kubernetes API."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from servicekit.db import create_engine
from servicekit.health import alembic_heads, database_revisions


async def at_head(database_url: str, alembic_ini: Path) -> bool:
    """Whether the database answers and its revisions are exactly the scripts' heads."""
    engine = create_engine(database_url)
    try:
        return await database_revisions(engine) == alembic_heads(alembic_ini)
    except Exception:  # not reachable yet, or no alembic_version table yet: keep waiting
        return False
    finally:
        await engine.dispose()


def wait(database_url: str, alembic_ini: Path, timeout_s: float, interval_s: float) -> bool:
    """Poll until the database is at head; False if `timeout_s` passes first."""
    deadline = time.monotonic() + timeout_s
    while True:
        if asyncio.run(at_head(database_url, alembic_ini)):
            return True
        if time.monotonic() + interval_s > deadline:
            return False
        time.sleep(interval_s)


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 once at head, 1 on timeout (the pod then restarts and waits again)."""
    p = argparse.ArgumentParser(prog="python -m servicekit.schema_wait", description=__doc__)
    p.add_argument("--alembic-ini", type=Path, default=Path("alembic.ini"))
    p.add_argument(
        "--database-url-env",
        required=True,
        help="the environment variable holding the database URL, e.g. COMMITMENTS_DATABASE_URL",
    )
    p.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between checks")
    args = p.parse_args(argv)
    url = os.environ.get(args.database_url_env, "")
    if not url:
        print(f"{args.database_url_env} is not set", file=sys.stderr)
        return 2
    if wait(url, args.alembic_ini, args.timeout, args.interval):
        print("database at the migration head", flush=True)
        return 0
    print(f"database not at the migration head after {args.timeout:g}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
