"""CI helper: `pg.py ping URL` / `pg.py recreate URL NAME` against a PostgreSQL server."""

import asyncio
import sys

import asyncpg


async def main(action: str, url: str, name: str = "") -> None:
    conn = await asyncpg.connect(url.replace("+asyncpg", "") + "/postgres", timeout=5)
    try:
        if action == "recreate":
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        elif action == "drop":
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
