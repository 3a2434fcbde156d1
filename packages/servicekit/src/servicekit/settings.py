"""Settings base: every process reads its configuration from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DataDirSettings(BaseSettings):
    """Where the embedded default keeps its SQLite files and blobs."""

    model_config = SettingsConfigDict(env_prefix="SCRUTINY_", extra="ignore")

    data_dir: Path = Path(".data")


def default_sqlite_url(name: str) -> str:
    """The embedded default database of one process: a SQLite file in the data folder."""
    data_dir = DataDirSettings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{(data_dir / f'{name}.db').resolve()}"


class ServiceSettings(BaseSettings):
    """Settings every service shares; subclasses set `env_prefix` (e.g. `COMMITMENTS_`)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = ""
    echo_sql: bool = False
    # Connections each process keeps to PostgreSQL (a fixed pool; see servicekit.db). Replicas
    # multiply it: keep replicas x (pool + overflow + 2 consumer locks) under max_connections.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    page_size_default: int = Field(default=50, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    log_json: bool = True
    # `/metrics` on a port of its own (e.g. 9000), and then not on the app's port, which may be
    # public; 0 (the embedded default, everything on loopback) keeps it on the app's port.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104 - inside a pod or container; policies guard it
    # This service's own OAuth client, for reading other services' internal events.
    client_id: str = ""
    client_secret: str = ""
    # How often the outbox sequencer assigns feed positions to committed events.
    sequencer_interval_s: float = 0.05
    # While no events arrive the sequencer's wait doubles up to this (its own commits wake it).
    sequencer_idle_interval_s: float = 0.5
    # How often consumers of other services' feeds poll while there is work...
    consumer_interval_s: float = Field(default=0.25, gt=0)
    # ...and, while a feed is idle, less and less often, down to this.
    consumer_idle_interval_s: float = Field(default=0.5, gt=0)
    # How long an Idempotency-Key is remembered, and how long an unfinished claim holds it.
    idempotency_ttl_s: float = Field(default=24 * 3600, gt=0)
    idempotency_lease_s: float = Field(default=60, gt=0)
