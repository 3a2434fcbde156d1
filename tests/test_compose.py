"""docker-compose.yml cannot be run here (no Docker engine), so its promises are checked by
reading it: a database per part, migrations that must finish before anything serves,
healthchecks, and the gateway as the only published port."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
PARTS = ("commitments", "evidence", "ratings", "gateway")


def test_each_part_migrates_before_it_serves() -> None:
    services = COMPOSE["services"]
    for part in PARTS:
        job = services[f"migrate-{part}"]
        assert job["command"] == ["alembic", "upgrade", "head"]
        assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[part]["depends_on"][f"migrate-{part}"]["condition"] == (
            "service_completed_successfully"
        )


def test_each_part_has_its_own_database_and_a_healthcheck() -> None:
    services = COMPOSE["services"]
    urls = {services[p]["environment"][f"{p.upper()}_DATABASE_URL"] for p in PARTS}
    assert {u.rsplit("/", 1)[1] for u in urls} == set(PARTS)
    init = (ROOT / "deploy/postgres-init.sql").read_text()
    for part in PARTS:
        assert f"CREATE DATABASE {part};" in init
        assert "readyz" in str(services[part]["healthcheck"]["test"])
        dockerfile = ROOT / services[part]["build"]["dockerfile"]
        assert dockerfile.exists()


def test_only_the_gateway_is_published() -> None:
    published = {name for name, svc in COMPOSE["services"].items() if svc.get("ports")}
    assert published == {"gateway"}
    gateway = COMPOSE["services"]["gateway"]
    for part in ("commitments", "evidence", "ratings"):
        assert gateway["depends_on"][part]["condition"] == "service_healthy"
        assert gateway["environment"][f"GATEWAY_{part.upper()}_URL"] == f"http://{part}:8000"
