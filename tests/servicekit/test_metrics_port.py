"""`<PREFIX>_METRICS_PORT`: metrics leave the app's (possibly public) port for one of their own,
and count the app's requests there; unset, they stay on the app's port (the embedded default)."""

from __future__ import annotations

import socket

import httpx

from commitments.config import Settings
from commitments.main import create_app
from servicekit.auth import TokenVerifier
from tests.conftest import serve
from tests.support.tokens import TestIssuer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_a_metrics_port_takes_metrics_off_the_app_port(
    commitments_db: str, issuer: TestIssuer
):
    port = _free_port()
    settings = Settings(
        database_url=commitments_db, log_json=False, metrics_port=port, metrics_host="127.0.0.1"
    )
    app = create_app(settings, token_verifier=TokenVerifier(issuer.settings()))
    async for client in serve(app):
        assert (await client.get("/v1/sources")).status_code == 200
        assert (await client.get("/metrics")).status_code == 404
        async with httpx.AsyncClient() as scraper:
            r = await scraper.get(f"http://127.0.0.1:{port}/metrics")
        assert r.status_code == 200
        assert 'route="/v1/sources"' in r.text
    # Gone with the app: nothing listens there any more.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


async def test_without_one_metrics_stay_on_the_app_port(commitments_db: str, issuer: TestIssuer):
    app = create_app(
        Settings(database_url=commitments_db, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )
    async for client in serve(app):
        r = await client.get("/metrics")
        assert r.status_code == 200
        assert "http_requests_total" in r.text
