"""Evidence service settings (environment variables prefixed `EVIDENCE_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings, default_sqlite_url

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


class Settings(ServiceSettings):
    """`EVIDENCE_DATABASE_URL` selects PostgreSQL; unset, a SQLite file in the data folder."""

    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    # Where the commitments service's event feed is read from (the read model's source).
    commitments_url: str = "http://127.0.0.1:8001"
    consumer_interval_s: float = Field(default=0.25, gt=0)
    # How long an Idempotency-Key is remembered, and how long an unfinished claim holds it.
    idempotency_ttl_s: float = Field(default=24 * 3600, gt=0)
    idempotency_lease_s: float = Field(default=60, gt=0)

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = default_sqlite_url("evidence")
        return self
