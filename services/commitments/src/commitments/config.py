"""Commitments service settings (environment variables prefixed `COMMITMENTS_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings, default_sqlite_url

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


class Settings(ServiceSettings):
    """`COMMITMENTS_DATABASE_URL` selects PostgreSQL; unset, a SQLite file in the data folder."""

    model_config = SettingsConfigDict(env_prefix="COMMITMENTS_", extra="ignore")

    # A target whose latest reading is older than this is `stale`, not on or off track.
    stale_reading_days: int = Field(default=365, ge=1, le=36_500)
    # How far short of the trajectory a reading may be and still be on track, as a share of the
    # distance from baseline to target (progress.ON_TRACK_TOLERANCE says why 5%).
    on_track_tolerance: float = Field(default=0.05, ge=0, le=0.5)
    # How often the sweep looks for commitments gone overdue (it emits `commitment.overdue` once).
    overdue_sweep_interval_s: float = Field(default=86_400.0, gt=0)

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = default_sqlite_url("commitments")
        return self
