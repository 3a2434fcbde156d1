"""Ratings service settings (environment variables prefixed `RATINGS_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings, default_sqlite_url

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


class Settings(ServiceSettings):
    """`RATINGS_DATABASE_URL` selects PostgreSQL; unset, a SQLite file in the data folder."""

    model_config = SettingsConfigDict(env_prefix="RATINGS_", extra="ignore")

    # Where the commitments service's event feed is read from (its read model here).
    commitments_url: str = "http://127.0.0.1:8001"
    # Where the evidence service's event feed is read from (what ratings may cite).
    evidence_url: str = "http://127.0.0.1:8002"
    # A response falls due this many calendar months after publication (the select committee
    # convention is two).
    response_due_months: int = Field(default=2, ge=0, le=60)
    # How often the sweep looks for responses gone overdue (it emits `response.overdue` once).
    overdue_sweep_interval_s: float = Field(default=86_400.0, gt=0)
    # The factual-accuracy window a chair gives the rated body unless they say otherwise.
    factual_accuracy_working_days: int = Field(default=10, ge=1, le=60)

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = default_sqlite_url("ratings")
        return self
