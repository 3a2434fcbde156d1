"""wrk, the load generator: one thread pinned to the load core, Lua scripts for each scenario."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA_DIR = Path(__file__).resolve().parent / "lua"


def check_wrk() -> str:
    """wrk's path, or stop with how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(
            "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or "
            "`brew install wrk` (macOS); see https://github.com/wg/wrk"
        )
    return path


@dataclass(frozen=True)
class Load:
    """How hard and how long."""

    connections: int
    warmup_s: int
    measure_s: int
    cpus: str  # taskset list for wrk ("" = not pinned)


def run_wrk(
    url: str, script: str, args: list[str], connections: int, seconds: int, cpus: str
) -> dict[str, Any]:
    """One wrk run; returns throughput, latency percentiles (ms) and errors."""
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_DIR / script),
        url,
        "--",
        *args,
    ]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    out = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
        env={"BENCH_LUA_DIR": str(LUA_DIR), "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    secs = raw["duration_us"] / 1e6
    lat = raw["latency_us"]
    errors = raw["errors"]
    return {
        "requests": raw["requests"],
        "seconds": round(secs, 2),
        "rps": round(raw["requests"] / secs, 1) if secs else 0.0,
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p90_ms": round(lat["p90"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "non_2xx": errors["status"],
        "socket_errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        "connections": connections,
        "kb_per_request": round(raw["bytes"] / max(1, raw["requests"]) / 1024, 2),
    }
