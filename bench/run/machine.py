"""What the figures were measured on: the machine, the package versions, the commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import pg


async def describe(server: str) -> dict[str, Any]:
    """What the figures were measured on."""
    import psutil

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():  # noqa: ASYNC240
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str] = {}
    for mod in (
        "uvicorn",
        "fastapi",
        "starlette",
        "sqlalchemy",
        "asyncpg",
        "pydantic",
        "httpx",
        "uvloop",
        "httptools",
        "orjson",
    ):
        try:
            versions[mod] = version(mod)
        except Exception:
            versions[mod] = "?"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: ASYNC221
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "postgres": await pg.server_version(server),
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "?",
        "packages": versions,
    }


def git_state() -> dict[str, Any]:
    """The commit measured, and whether the tree had uncommitted changes (read-only git calls)."""

    def git(*a: str) -> str:
        out = subprocess.run(["git", *a], cwd=pg.ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
