"""Commitments service settings (environment variables prefixed `COMMITMENTS_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings, default_sqlite_url

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


class Settings(ServiceSettings):
    """`COMMITMENTS_DATABASE_URL` selects PostgreSQL; unset, a SQLite file in the data folder."""

    model_config = SettingsConfigDict(env_prefix="COMMITMENTS_", extra="ignore")

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = default_sqlite_url("commitments")
        return self
