"""The compose topology's gateway side as real processes, without containers: two gateway
processes on one database sharing their rate-limit counts in the local Redis, each believing
X-Forwarded-For only from the proxy's address, and serving /metrics only on a port of its own;
then deploy/nginx.conf itself (Debian's nginx) in front of them, as compose runs it."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
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
def _gateways(
    tmp_path: Path, trusted: str
) -> Iterator[tuple[list[str], list[str], list[subprocess.Popen[bytes]]]]:
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
        yield apps, metrics, procs
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
    with _gateways(tmp_path, trusted="127.0.0.1") as (apps, metrics, _):
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
    with _gateways(tmp_path, trusted="192.0.2.1") as (apps, _, _):
        codes = [
            httpx.get(
                f"{apps[n % 2]}/.well-known/jwks.json", headers={"X-Forwarded-For": _address()}
            ).status_code
            for n in range(6)
        ]
        assert codes[4:] == [429, 429]


# --- deploy/nginx.conf in front of them ---------------------------------------------------------

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _nginx_conf(tmp: Path, listen: int, upstreams: list[str]) -> str:
    """deploy/nginx.conf with only what containers provide changed: Docker's DNS name for the
    replicas becomes their loopback addresses, the port and the temporary paths are the
    test's. Each change asserts the line it replaces, so the test follows the file."""
    conf = (ROOT / "deploy/nginx.conf").read_text()
    changes = {
        "    resolver 127.0.0.11 valid=10s ipv6=off;\n": "",
        "        server gateway:8000 resolve;\n": "".join(
            f"        server {u.removeprefix('http://')};\n" for u in upstreams
        ),
        "        listen 8080;\n": f"        listen 127.0.0.1:{listen};\n",
        "pid /tmp/nginx.pid;": f"pid {tmp}/nginx.pid;",
        "error_log /dev/stderr warn;": f"error_log {tmp}/error.log warn;",
    }
    for old, new in changes.items():
        assert old in conf, f"deploy/nginx.conf no longer has {old.strip()!r}"
        conf = conf.replace(old, new)
    conf = conf.replace("_temp_path /tmp/", f"_temp_path {tmp}/")
    if os.geteuid() == 0:
        # As root nginx's workers would run as `nobody`, who cannot enter pytest's 0700 folders.
        conf = "user root;\n" + conf
    return conf


def _from(address: str) -> httpx.Client:
    """A client whose connections come from `address` (any of 127/8 is loopback on Linux)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def _loopback() -> str:
    # A fresh source address per run: no earlier count in Redis belongs to it.
    a, b, c = (secrets.randbelow(250) + 2 for _ in range(3))
    return f"127.{a}.{b}.{c}"


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
@pytest.mark.skipif(
    NGINX is None,
    reason="no nginx: Debian's (apt-get install nginx-light) runs deploy/nginx.conf here; "
    ".ci/run installs it",
)
def test_deploy_nginx_conf_spreads_over_the_replicas_sets_the_address_and_hides_metrics(
    tmp_path: Path,
) -> None:
    assert NGINX is not None
    with _gateways(tmp_path, trusted="127.0.0.1") as (apps, _, procs):
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        listen = free_port_base()
        (nginx_dir / "nginx.conf").write_text(_nginx_conf(nginx_dir, listen, apps))
        checked = subprocess.run(
            [NGINX, "-t", "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr
        proxy = subprocess.Popen(
            [NGINX, "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf"), "-g", "daemon off;"]
        )
        edge = f"http://127.0.0.1:{listen}"
        try:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{edge}/healthz", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, (nginx_dir / "error.log").read_text()
                time.sleep(0.1)

            # A caller's own X-Forwarded-For is replaced by its real address: rotating it buys
            # nothing, and the four a minute are counted once across both replicas.
            caller = _loopback()
            with _from(caller) as client:
                codes = [
                    client.get(
                        f"{edge}/.well-known/jwks.json",
                        headers={"X-Forwarded-For": f"203.0.113.{n}", "X-Request-ID": f"edge-{n}"},
                    ).status_code
                    for n in range(6)
                ]
            assert codes == [200, 200, 200, 200, 429, 429]
            # ...and the address the gateways count is the caller's, not nginx's own.
            with _from(_loopback()) as other:
                assert other.get(f"{edge}/.well-known/jwks.json").status_code == 200

            # Both replicas served (nginx spreads over its upstreams).
            served = [
                sum(f"edge-{n}" in (tmp_path / f"gateway-{i}.log").read_text() for n in range(6))
                for i in range(2)
            ]
            assert sum(served) == 6, served
            assert min(served) > 0, served
            # Metrics are never on the public port.
            assert httpx.get(f"{edge}/metrics").status_code == 404

            # A replica goes: the proxy fails over, no request is lost.
            procs[0].terminate()
            procs[0].wait(timeout=20)
            with _from(_loopback()) as client:
                assert [client.get(f"{edge}/healthz").status_code for _ in range(4)] == [200] * 4
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
