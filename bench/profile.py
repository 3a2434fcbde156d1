"""py-spy profiles of a server process under load, summarised as the functions that cost most."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:]+):\d+\)$")
# Frames on every stack (the interpreter, uvicorn's loop, the ASGI middleware chain): they say
# nothing about where the time goes, so the inclusive list leaves them out.
GENERIC = (
    "click/",
    "runpy",
    "<frozen runpy>",
    "uvicorn/main.py",
    "uvicorn/__main__.py",
    "uvicorn/server.py",
    "uvicorn/_compat.py",
    "asyncio/runners.py",
    "asyncio/events.py",
    "proxy_headers.py",
    "httptools_impl.py",
    "fastapi/applications.py",
    "starlette/applications.py",
    "starlette/middleware/errors.py",
    "starlette/middleware/exceptions.py",
    "starlette/_exception_handler.py",
    "fastapi/middleware/asyncexitstack.py",
    "fastapi/telemetry/",
    "fastapi/_body_limit.py",
    "starlette/routing.py",
    "contextlib.py",
    "threading.py",
)


def py_spy() -> str | None:
    """py-spy next to the interpreter (pip install py-spy), or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    """Begin sampling `pid` for `seconds` (collapsed stacks to `out`); None without py-spy."""
    exe = py_spy()
    if exe is None:
        return None
    cmd = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "200",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _short(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "/src/", "/bench/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m['func']} ({path})"


def summarise(path: Path, top: int = 25) -> dict[str, Any]:
    """Where the samples went: by module group, and the top functions (self and inclusive)."""
    if not path.exists():
        return {"error": "no profile written"}
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    total = 0
    idle_threads = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if f.strip()]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        if frames and frames[0].startswith("thread "):
            frames = frames[1:]
        if not frames:
            continue
        # Thread-pool workers blocked on their queue look busy to py-spy; they are idle.
        if frames[-1].startswith(("Condition.wait", "_worker (concurrent", "Queue.get")):
            idle_threads += n
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            if not any(g in f for g in GENERIC):
                inclusive[f] += n
        groups[_group(stack.split(";")[-1])] += n

    def pct(c: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in c.most_common(top)] if total else []

    return {
        "samples": total,
        "idle_thread_pool_samples": idle_threads,
        "self_pct": pct(own),
        "inclusive_pct": pct(inclusive),
        "leaf_by_library_pct": pct(groups),
    }


def _group(frame: str) -> str:
    m = FRAME.match(frame.strip())
    path = m["file"] if m else frame
    for name in (
        "sqlalchemy",
        "asyncpg",
        "pydantic",
        "fastapi",
        "starlette",
        "uvicorn",
        "httpx",
        "httpcore",
        "anyio",
        "orjson",
        "prometheus",
        "asgi_correlation_id",
        "limits",
        "jwt",
        "servicekit",
        "commitments",
        "evidence",
        "ratings",
        "gateway",
        "uvloop",
        "logging",
        "asyncio",
    ):
        if f"/{name}/" in path or f"/{name}." in path or path.startswith(name):
            return name
    return "other"


def render(summary: dict[str, Any]) -> str:
    """A short text block for RESULTS.md."""
    if "error" in summary:
        return f"(profile unavailable: {summary['error']})"
    lines = [
        f"samples: {summary['samples']} (py-spy, 200 Hz, idle excluded)",
        "",
        "leaf time by library:",
    ]
    lines += [f"  {pct:5.1f}%  {name}" for name, pct in summary["leaf_by_library_pct"]]
    lines += ["", "inclusive (the frame is on the stack; the server/middleware chain left out):"]
    lines += [f"  {pct:5.1f}%  {name}" for name, pct in summary["inclusive_pct"]]
    lines += ["", "self (the frame is running):"]
    lines += [f"  {pct:5.1f}%  {name}" for name, pct in summary["self_pct"]]
    return "\n".join(lines)
