"""The suite (and the floor) as real processes on PostgreSQL, pinned to the server core.

Each part runs exactly as `scrutiny up` runs it (`uvicorn <app> --factory`, one worker, no
access log), plus `--loop uvloop --http httptools` spelled out so that a missing extra fails
loudly instead of silently falling back to the slower asyncio loop / h11 parser.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import pg
from scrutiny_cli import suite as cli_suite

UVICORN_FLAGS = [
    "--host",
    "127.0.0.1",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--timeout-graceful-shutdown",
    "5",
]
FLOOR = "floor"


def check_uvicorn_extras() -> None:
    """uvloop and httptools are what `uvicorn[standard]` brings; the bench needs both."""
    missing = []
    for module in ("uvloop", "httptools"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)}: "
            "install with `.venv/bin/pip install 'uvicorn[standard]'`"
        )


@dataclass(frozen=True)
class Endpoints:
    """Where each process listens."""

    port_base: int

    def url(self, name: str) -> str:
        """`http://127.0.0.1:<port>` of a part (or of the floor)."""
        if name == FLOOR:
            return f"http://127.0.0.1:{self.port_base + 9}"
        part = next(p for p in cli_suite.PARTS if p.name == name)
        return cli_suite.url(self.port_base, part)


def environment(server: str, prefix: str, port_base: int, data_dir: Path) -> dict[str, str]:
    """The suite's environment (as `scrutiny up` builds it) on the bench's PostgreSQL databases."""
    env = cli_suite.environment(data_dir, port_base)
    for part in pg.PARTS:
        env[f"{part.upper()}_DATABASE_URL"] = pg.sqlalchemy_url(server, pg.db_name(prefix, part))
    env["FLOOR_DATABASE_URL"] = pg.dsn(server, pg.db_name(prefix, "commitments"))
    # The bench measures throughput, not quotas: anonymous readers (wrk) get a limit no run can
    # reach; the bench's own API client gets one too (gateway.identity.manage --rate-limit).
    env["GATEWAY_ANONYMOUS_RATE_LIMIT_PER_MINUTE"] = str(10**9)
    env["GATEWAY_RATE_LIMIT_PER_MINUTE"] = str(10**9)
    # One token lasts the whole run.
    env["GATEWAY_TOKEN_TTL_S"] = "3600"
    env["PYTHONPATH"] = str(pg.ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Processes:
    """The running processes, by name."""

    def __init__(self, env: dict[str, str], endpoints: Endpoints, log_dir: Path, cpus: str) -> None:
        self.env = env
        self.endpoints = endpoints
        self.log_dir = log_dir
        self.cpus = cpus
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _start(self, name: str, app: list[str], port: int) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        cmd = [sys.executable, "-m", "uvicorn", *app, "--port", str(port), *UVICORN_FLAGS]
        if self.cpus:
            cmd = ["taskset", "-c", self.cpus, *cmd]
        self.procs[name] = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=str(pg.ROOT),
        )  # fmt: skip

    def _check_free(self, ports: list[int]) -> None:
        import socket

        for port in ports:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    raise SystemExit(
                        f"port {port} is in use (a previous run still shutting down?); "
                        "wait, or pass --port-base"
                    )

    def start_suite(self) -> None:
        """The gateway and the three services."""
        self._check_free([self.endpoints.port_base + p.offset for p in cli_suite.PARTS])
        for part in cli_suite.PARTS:
            self._start(part.name, [part.app, "--factory"], self.endpoints.port_base + part.offset)

    def start_floor(self) -> None:
        """The bare ASGI + asyncpg app."""
        self._check_free([self.endpoints.port_base + 9])
        self._start(FLOOR, ["bench.floor:app"], self.endpoints.port_base + 9)

    def wait_ready(self, timeout: float = 90) -> None:
        """Until every process answers `/readyz`."""
        deadline = time.monotonic() + timeout
        pending = set(self.procs)
        with httpx.Client(timeout=2) as client:
            while pending:
                for name in list(pending):
                    if self.procs[name].poll() is not None:
                        tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                        self.stop()
                        raise SystemExit(f"{name} exited during start-up:\n{tail}")
                    try:
                        if client.get(f"{self.endpoints.url(name)}/readyz").status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
                time.sleep(0.2)

    def pids(self) -> dict[str, int]:
        """Name → pid of the uvicorn process (taskset execs it, so the pid is the server's)."""
        return {name: p.pid for name, p in self.procs.items() if p.poll() is None}

    def stop_one(self, name: str) -> None:
        """Stop one process (the floor and the prototype, once measured, so that their
        connection pools do not count against PostgreSQL's `max_connections`)."""
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def error_lines(self) -> int:
        """ERROR lines logged so far by every process (JSON logs): a scenario's server errors."""
        total = 0
        for name in self.procs:
            path = self.log_dir / f"{name}.log"
            if path.exists():
                with path.open("rb") as f:
                    total += sum(1 for line in f if b'"level": "ERROR"' in line)
        return total

    def stop(self) -> None:
        """SIGTERM everything we started, then wait (SIGKILL after a grace period)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def create_client(env: dict[str, str], name: str, scopes: list[str]) -> dict[str, str]:
    """An API client in the gateway's database (the gateway's own management command)."""
    cmd = [sys.executable, "-m", "gateway.identity.manage", "clients", "create", "--name", name]
    cmd += ["--org", "Scrutiny benchmark", "--rate-limit", str(1_000_000), "--json"]
    for scope in scopes:
        cmd += ["--scope", scope]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"creating client {name!r} failed:\n{out.stderr}")
    import json

    created: dict[str, str] = json.loads(out.stdout)
    return created


def token(gateway: str, creds: dict[str, str], attempts: int = 40) -> str:
    """A client-credentials access token (retried while the gateway's first key is published)."""
    last = ""
    for _ in range(attempts):
        resp = httpx.post(
            f"{gateway}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            timeout=10,
        )
        if resp.status_code == 200:
            return str(resp.json()["access_token"])
        last = resp.text
        time.sleep(0.5)
    raise SystemExit(f"no token from the gateway: {last}")
