"""docker-compose.yml cannot be run here (no Docker engine), so its promises are checked by
reading it: a database per part owned by a role of its own, migrations that must finish before
anything serves, healthchecks, every secret required (no fallback passwords), Redis for the
gateway replicas' shared limits, two gateway replicas behind a proxy that alone is published and
alone is believed for X-Forwarded-For, and metrics on a port that is never published. The roles
script runs for real on the local PostgreSQL when there is one; tests/deploy/test_topology.py
runs the gateway side of the topology as real processes."""

from __future__ import annotations

import ipaddress
import re
import secrets
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.support.databases import NO_POSTGRES_REASON, ON_POSTGRES, POSTGRES_URL

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
SERVICES = COMPOSE["services"]
PARTS = ("commitments", "evidence", "ratings", "gateway")
INIT_SQL = (ROOT / "deploy/postgres-init.sql").read_text()
NGINX = (ROOT / "deploy/nginx.conf").read_text()
# Variables that may be left unset, and what they then mean: the public address defaults to
# the local one; without feed-reader clients a service reads public events only.
OPTIONAL = {
    "SCRUTINY_PUBLIC_URL",
    "EVIDENCE_CLIENT_ID",
    "EVIDENCE_CLIENT_SECRET",
    "RATINGS_CLIENT_ID",
    "RATINGS_CLIENT_SECRET",
}


def _interpolations() -> list[tuple[str, str, str]]:
    """Every `${NAME<op>rest}` in the file, comments included (they are instructions too)."""
    return re.findall(r"\$\{([A-Z0-9_]+)(:?[?-]?)([^}]*)\}", TEXT)


def test_each_part_migrates_before_it_serves() -> None:
    for part in PARTS:
        job = SERVICES[f"migrate-{part}"]
        assert job["command"] == ["alembic", "upgrade", "head"]
        assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert SERVICES[part]["depends_on"][f"migrate-{part}"]["condition"] == (
            "service_completed_successfully"
        )


def test_each_part_has_its_own_database_and_role_and_a_healthcheck() -> None:
    for part in PARTS:
        upper = part.upper()
        for service in (part, f"migrate-{part}"):
            url = make_url(SERVICES[service]["environment"][f"{upper}_DATABASE_URL"])
            assert (url.username, url.database, url.host) == (part, part, "postgres")
            assert url.password == f"${{{upper}_DB_PASSWORD:?set {upper}_DB_PASSWORD in .env}}"
        assert f"CREATE ROLE {part} LOGIN PASSWORD :'{part}_password';" in INIT_SQL
        assert f"\\getenv {part}_password {upper}_DB_PASSWORD" in INIT_SQL
        assert f"CREATE DATABASE {part} OWNER {part};" in INIT_SQL
        assert f"REVOKE ALL ON DATABASE {part} FROM PUBLIC;" in INIT_SQL
        assert f"{upper}_DB_PASSWORD" in SERVICES["postgres"]["environment"]
        assert "readyz" in str(SERVICES[part]["healthcheck"]["test"])
        assert (ROOT / SERVICES[part]["build"]["dockerfile"]).exists()
    volumes = SERVICES["postgres"]["volumes"]
    assert "./deploy/postgres-init.sql:/docker-entrypoint-initdb.d/10-databases.sql:ro" in volumes


def test_every_secret_is_required_and_none_falls_back() -> None:
    seen = set()
    for name, op, rest in _interpolations():
        seen.add(name)
        if name in OPTIONAL:
            continue
        assert op == ":?", f"${{{name}}} must be required (${{{name}:?message}})"
        assert rest.strip(), f"${{{name}:?}} says what to set"
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "GATEWAY_KEY_ENCRYPTION_KEY"):
        assert secret in seen
    # Optional ones default to nothing, never to a credential.
    for name, op, rest in _interpolations():
        if name.endswith("_SECRET"):
            assert (op, rest) == (":-", "")
    assert ":-scrutiny" not in TEXT
    assert "POSTGRES_USER: scrutiny" not in TEXT


def test_the_env_example_names_every_variable_with_placeholders_only() -> None:
    example = (ROOT / "deploy/compose.env.example").read_text()
    assert example.startswith("# EXAMPLE ONLY")
    pairs = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert set(pairs) == {name for name, _, _ in _interpolations()}
    for name, value in pairs.items():
        if name not in OPTIONAL:
            assert value == "EXAMPLE-ONLY-replace-me", name


def test_two_gateway_replicas_share_limits_in_redis_behind_the_proxy() -> None:
    gateway = SERVICES["gateway"]
    assert gateway["deploy"]["replicas"] >= 2
    assert "ports" not in gateway, "a replicated service cannot publish a fixed port"
    env = gateway["environment"]
    assert env["GATEWAY_RATE_LIMIT_STORAGE"] == (
        "redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}@redis:6379/0"
    )
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    redis = SERVICES["redis"]
    assert redis["command"][:3] == [
        "redis-server",
        "--requirepass",
        "${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}",
    ]
    assert "ports" not in redis
    proxy = SERVICES["proxy"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert re.search(r"upstream gateway \{[^}]*server gateway:8000 resolve;", NGINX)
    assert "proxy_pass http://gateway;" in NGINX
    for part in ("commitments", "evidence", "ratings"):
        assert gateway["depends_on"][part]["condition"] == "service_healthy"
        assert env[f"GATEWAY_{part.upper()}_URL"] == f"http://{part}:8000"


def test_x_forwarded_for_is_believed_from_the_proxy_alone() -> None:
    proxy_ip = SERVICES["proxy"]["networks"]["default"]["ipv4_address"]
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_ip) in ipaddress.ip_network(subnet)
    assert SERVICES["gateway"]["environment"]["FORWARDED_ALLOW_IPS"] == proxy_ip
    # The proxy writes the header from the peer it saw, dropping whatever a client sent.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in NGINX
    assert "$proxy_add_x_forwarded_for" not in NGINX


def test_only_the_proxy_is_published_and_metrics_never_are() -> None:
    published = {name: svc["ports"] for name, svc in SERVICES.items() if svc.get("ports")}
    assert published == {"proxy": ["8000:8080"]}
    assert re.search(r"listen 8080;", NGINX)
    assert re.search(r"location = /metrics \{\s*return 404;", NGINX)
    for part in PARTS:
        port = SERVICES[part]["environment"][f"{part.upper()}_METRICS_PORT"]
        assert port == "9000"
        assert port not in str(published)


@pytest.mark.skipif(not ON_POSTGRES, reason=NO_POSTGRES_REASON)
def test_the_roles_script_gives_each_role_its_own_database_only() -> None:
    # Roles are cluster-wide: the script runs with its names made unique to this test.
    tag = f"t{uuid.uuid4().hex[:8]}_"
    script = re.sub(r"\b(commitments|evidence|ratings|gateway)\b", lambda m: tag + m[1], INIT_SQL)
    server = make_url(POSTGRES_URL.replace("+asyncpg", ""))
    base = [
        "psql",
        "-h",
        server.host or "127.0.0.1",
        "-p",
        str(server.port or 5432),
        "-X",
        "-q",
        "-A",
        "-t",
    ]
    passwords = {f"{p.upper()}_DB_PASSWORD": secrets.token_hex(16) for p in PARTS}

    def psql(user: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1"],
            input=sql,
            env={"PATH": "/usr/bin:/bin", **passwords},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    superuser = server.username or "postgres"
    try:
        done = psql(superuser, "postgres", script)
        assert done.returncode == 0, done.stderr
        own = psql(f"{tag}evidence", f"{tag}evidence", "CREATE TABLE t (x int); SELECT 1;")
        assert own.returncode == 0, own.stderr
        other = psql(f"{tag}evidence", f"{tag}ratings", "SELECT 1;")
        assert other.returncode != 0
        assert "permission denied for database" in other.stderr
        owners = psql(
            superuser,
            "postgres",
            f"SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
            f"WHERE datname LIKE '{tag}%' ORDER BY 1;",
        )
        rows = [line.split("|") for line in owners.stdout.split("\n") if "|" in line]
        assert {(d.strip(), o.strip()) for d, o in rows} == {(tag + p, tag + p) for p in PARTS}
    finally:
        drops = "".join(f"DROP DATABASE IF EXISTS {tag}{p};" for p in PARTS)
        drops += "".join(f"DROP ROLE IF EXISTS {tag}{p};" for p in PARTS)
        for statement in drops.split(";")[:-1]:
            psql(superuser, "postgres", statement + ";")
