"""The suite as an integrator meets it: all four apps running, the gateway's event log fed, an
admin API client to start from, and the OpenAPI document the gateway serves."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.identity import clients as identity
from gateway.identity.schemas import ClientCreate
from tests.gateway.conftest import auth_settings, gateway_settings
from tests.support.databases import migrated_database
from tests.support.stack import running_apps

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools" / "openapi"
SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")
# Where the gateway answers in these tests; the served document's `servers` names it.
BASE_URL = "http://gateway.test"


@dataclass
class Suite:
    """The running suite, an admin's credentials and the served document."""

    gateway_app: FastAPI
    gateway: httpx.AsyncClient
    admin_id: str
    admin_secret: str
    doc: dict[str, Any]
    doc_path: Path

    def transport(self) -> httpx.AsyncBaseTransport:
        """A transport into the gateway, for a generated client's own httpx client."""
        return httpx.ASGITransport(app=self.gateway_app)


@pytest.fixture(scope="package")
async def suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    # Databases of its own: the gateway here imports every feed into its log, which the other
    # packages' tests (sharing the session's databases) must not see.
    data = tmp_path_factory.mktemp("clients-data")
    db = {
        part: await asyncio.to_thread(migrated_database, part, data)
        for part in ("commitments", "evidence", "ratings", "gateway")
    }
    settings = gateway_settings(
        db["gateway"],
        webhooks_allow_private=True,
        webhooks_allow_http=True,
        consumer_interval_s=0.02,
        consumer_idle_interval_s=0.02,
    )
    async with running_apps(
        auth_settings(),
        commitments_db=db["commitments"],
        evidence_db=db["evidence"],
        ratings_db=db["ratings"],
        gateway=settings,
        gateway_reads_feeds=True,
    ) as apps:
        # The one thing an operator does first (`scrutiny clients create --scopes admin`).
        maker = apps.gateway_app.state.sessionmaker
        async with maker() as session, session.begin():
            admin, secret = await identity.create_client(
                session,
                ClientCreate(name="integrator's admin", organisation="Test Org", scopes=["admin"]),
            )
        r = await apps.gateway.get("/openapi.json")
        assert r.status_code == 200, r.text
        doc = r.json()
        path = tmp_path_factory.mktemp("openapi") / "openapi.json"
        path.write_text(json.dumps(doc, indent=1))
        yield Suite(apps.gateway_app, apps.gateway, admin.client_id, secret, doc, path)


def tool_env() -> dict[str, str]:
    """The environment for the generators: the project's own tools first on PATH."""
    venv_bin = str(REPO / ".venv" / "bin")
    return {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
