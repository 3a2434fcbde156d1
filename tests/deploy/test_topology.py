"""The compose topology's gateway side as real processes, without containers: two gateway
processes on one database sharing their rate-limit counts in the local Redis, each believing
X-Forwarded-For only from the proxy's address (here the test, on loopback, stands where nginx
does), and serving /metrics only on a port of its own."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.support.processes import free_port_base

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _gateways(tmp_path: Path, trusted: str) -> Iterator[tuple[list[str], list[str]]]:
    base = free_port_base()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env |= {
        "SCRUTINY_DATA_DIR": str(tmp_path),
        "GATEWAY_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "GATEWAY_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0",
        "GATEWAY_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "4",
        # Nothing behind these gateways: their event readers and webhooks stay off.
        "GATEWAY_EVENTS_CONSUME": "false",
        "GATEWAY_WEBHOOKS_DELIVER": "false",
        "GATEWAY_METRICS_HOST": "127.0.0.1",
    }
    subprocess.run(
        [sys.executable, "-m", "gateway.identity.manage", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    apps, metrics, procs = [], [], []
    try:
        for n in range(2):
            port, metrics_port = base + n, base + 2 + n
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "gateway.main:create_app",
                        "--factory",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--no-access-log",
                        "--proxy-headers",
                        "--forwarded-allow-ips",
                        trusted,
                    ],
                    env={**env, "GATEWAY_METRICS_PORT": str(metrics_port)},
                    stdout=(tmp_path / f"gateway-{n}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
            apps.append(f"http://127.0.0.1:{port}")
            metrics.append(f"http://127.0.0.1:{metrics_port}")
        deadline = time.monotonic() + 90
        for app, proc in zip(apps, procs, strict=True):
            while True:
                assert proc.poll() is None, (tmp_path / "gateway-0.log").read_text()[-2000:]
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{app}/readyz", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, "gateway not ready"
                time.sleep(0.2)
        yield apps, metrics
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _address() -> str:
    # A fresh documentation address per run: no earlier count in Redis belongs to it.
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_two_gateway_processes_share_limits_and_keep_metrics_off_the_public_port(
    tmp_path: Path,
) -> None:
    with _gateways(tmp_path, trusted="127.0.0.1") as (apps, metrics):
        caller = {"X-Forwarded-For": _address()}
        codes = [
            httpx.get(f"{apps[n % 2]}/.well-known/jwks.json", headers=caller).status_code
            for n in range(6)
        ]
        # Four a minute for this caller across both processes: one count, in Redis.
        assert codes == [200, 200, 200, 200, 429, 429]
        # Another caller behind the same proxy has its own count (the header is believed).
        other = {"X-Forwarded-For": _address()}
        assert httpx.get(f"{apps[1]}/.well-known/jwks.json", headers=other).status_code == 200
        for app, scrape in zip(apps, metrics, strict=True):
            assert httpx.get(f"{app}/metrics").status_code == 404
            r = httpx.get(f"{scrape}/metrics")
            assert r.status_code == 200
            assert 'route="/.well-known/jwks.json"' in r.text


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_x_forwarded_for_from_an_untrusted_peer_buys_nothing(tmp_path: Path) -> None:
    # The proxy is elsewhere: a caller on loopback cannot pick a new address per request.
    with _gateways(tmp_path, trusted="192.0.2.1") as (apps, _):
        codes = [
            httpx.get(
                f"{apps[n % 2]}/.well-known/jwks.json", headers={"X-Forwarded-For": _address()}
            ).status_code
            for n in range(6)
        ]
        assert codes[4:] == [429, 429]
