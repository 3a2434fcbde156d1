"""The four processes of the embedded default: where they listen, how they are configured,
migrated, started and stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx
from sqlalchemy.engine import URL, make_url

from scrutiny_cli import credentials
from scrutiny_cli.lifeline import dies_with_parent

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Part:
    """One deployable: the gateway or a service."""

    name: str
    offset: int
    app: str
    alembic_ini: Path

    @property
    def env_prefix(self) -> str:
        """Its environment variable prefix, e.g. `COMMITMENTS_`."""
        return f"{self.name.upper()}_"


PARTS = (
    Part("gateway", 0, "gateway.main:create_app", ROOT / "gateway/alembic.ini"),
    Part(
        "commitments", 1, "commitments.main:create_app", ROOT / "services/commitments/alembic.ini"
    ),
    Part("evidence", 2, "evidence.main:create_app", ROOT / "services/evidence/alembic.ini"),
    Part("ratings", 3, "ratings.main:create_app", ROOT / "services/ratings/alembic.ini"),
)


def url(port_base: int, part: Part) -> str:
    """Where a part listens."""
    return f"http://127.0.0.1:{port_base + part.offset}"


def environment(data_dir: Path, port_base: int) -> dict[str, str]:
    """The environment every process of the suite runs with."""
    by_name = {p.name: url(port_base, p) for p in PARTS}
    env = {
        **os.environ,
        "SCRUTINY_DATA_DIR": str(data_dir.resolve()),
        "SCRUTINY_TOKEN_ISSUER": f"http://localhost:{port_base}",
        "SCRUTINY_JWKS_URL": f"{by_name['gateway']}/.well-known/jwks.json",
        # Where feed-reading services get their own tokens.
        "SCRUTINY_TOKEN_URL": f"{by_name['gateway']}/oauth/token",
        "GATEWAY_PUBLIC_URL": f"http://localhost:{port_base}",
        # Log lines reach the files as they are written, for an operator tailing or grepping them.
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("commitments", "evidence", "ratings"):
        env[f"GATEWAY_{name.upper()}_URL"] = by_name[name]
    env["EVIDENCE_COMMITMENTS_URL"] = by_name["commitments"]
    env["RATINGS_COMMITMENTS_URL"] = by_name["commitments"]
    env["RATINGS_EVIDENCE_URL"] = by_name["evidence"]
    # The gateway's stored signing keys and secrets are encrypted with it; an operator's own
    # (from the environment or a secret store) wins over the one kept in the data folder.
    if not env.get("GATEWAY_KEY_ENCRYPTION_KEY"):
        env["GATEWAY_KEY_ENCRYPTION_KEY"] = credentials.key_encryption_key(data_dir.resolve())
    return env


def database_url(part: Part, data_dir: Path, env: dict[str, str]) -> URL:
    """The database a part uses, as its settings find it: `<PART>_DATABASE_URL`, else its SQLite
    file in the data folder."""
    configured = env.get(f"{part.env_prefix}DATABASE_URL")
    return make_url(configured or f"sqlite+aiosqlite:///{(data_dir / f'{part.name}.db').resolve()}")


def database_label(env: dict[str, str], part: Part) -> str:
    """Which database a part really uses, for the banner: its backend and where (no password)."""
    found = database_url(part, Path(env["SCRUTINY_DATA_DIR"]), env)
    backend = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(
        found.get_backend_name(), found.get_backend_name()
    )
    if backend == "SQLite":
        return f"SQLite  {found.database}"
    where = f"{found.host or 'localhost'}{f':{found.port}' if found.port else ''}"
    return f"{backend}  {where}/{found.database}"


def migrate(env: dict[str, str], progress: TextIO | None = None) -> None:
    """`alembic upgrade head` for every part, on whichever database its settings name; with
    `progress`, a line per part as it starts and finishes (a first migration takes a while)."""
    for n, part in enumerate(PARTS, 1):
        started = time.monotonic()
        if progress is not None:
            print(f"  [{n}/{len(PARTS)}] {part.name}…", end="", file=progress, flush=True)
        result = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(part.alembic_ini), "upgrade", "head"],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"migrating {part.name} failed:\n{result.stderr}")
        if progress is not None:
            print(f" at head ({time.monotonic() - started:.1f} s)", file=progress, flush=True)


def with_service_clients(env: dict[str, str]) -> dict[str, str]:
    """`env` plus each feed-reading service's own client credentials (made if need be).

    The services start before the gateway answers; until it does, their consumers cannot get a
    token and back off (they never fall back to reading anonymously).
    """
    path = Path(env["SCRUTINY_DATA_DIR"]) / "service-credentials.json"
    return credentials.with_service_clients(env, path)


def proxy_arguments(env: dict[str, str]) -> list[str]:
    """uvicorn's proxy-header options: trusted only from `SCRUTINY_TRUSTED_PROXIES` (addresses
    or networks, comma-separated), and from no one when it is unset."""
    trusted = env.get("SCRUTINY_TRUSTED_PROXIES", "").strip()
    if not trusted:
        return ["--no-proxy-headers"]
    return ["--proxy-headers", "--forwarded-allow-ips", trusted]


def start_part(
    part: Part, env: dict[str, str], port_base: int, log_dir: Path
) -> subprocess.Popen[bytes]:
    """Start one part under uvicorn, logging (JSON lines) to its own file."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"{part.name}.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            part.app,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port_base + part.offset),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "10",
            # Nothing stands in front of the local suite: X-Forwarded-For from a client is not
            # its address (uvicorn would trust it from any local peer by default).
            *proxy_arguments(env),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Own session: Ctrl-C reaches only us, and we stop the children in order. Should we be
        # killed without that chance, the kernel stops them (lifeline).
        start_new_session=True,
        preexec_fn=dies_with_parent(),
    )


def ports_in_use(port_base: int) -> list[int]:
    """Ports of the suite that something already listens on."""
    taken = []
    for part in PARTS:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port_base + part.offset)) == 0:
                taken.append(port_base + part.offset)
    return taken


def start(env: dict[str, str], port_base: int, log_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    """Start every part under uvicorn; each logs (JSON lines) to its own file."""
    # Another server on our ports would answer our readiness checks and be mistaken for ours.
    taken = ports_in_use(port_base)
    if taken:
        raise SystemExit(
            f"ports {', '.join(map(str, taken))} are in use; stop what runs there or pass "
            "--port-base N"
        )
    env = with_service_clients(env)
    return {part.name: start_part(part, env, port_base, log_dir) for part in PARTS}


def wait_ready(
    procs: dict[str, subprocess.Popen[bytes]], port_base: int, log_dir: Path, timeout: float = 60
) -> None:
    """Block until every part answers `/readyz`; fail fast if one exits."""
    deadline = time.monotonic() + timeout
    pending = {p.name: p for p in PARTS}
    with httpx.Client(timeout=2) as client:
        while pending:
            for name, part in list(pending.items()):
                if procs[name].poll() is not None:
                    tail = (log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                    stop(procs)
                    raise SystemExit(f"{name} exited during start-up:\n{tail}")
                try:
                    if client.get(f"{url(port_base, part)}/readyz").status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                stop(procs)
                raise SystemExit(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
            time.sleep(0.2)


def stop(procs: dict[str, subprocess.Popen[bytes]], grace: float = 15) -> None:
    """SIGTERM every part (gateway first, so no new work reaches the services), then wait."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
