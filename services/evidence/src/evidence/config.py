"""Evidence service settings (environment variables prefixed `EVIDENCE_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import DataDirSettings, ServiceSettings, default_sqlite_url

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"
MIB = 1024 * 1024


class Settings(ServiceSettings):
    """`EVIDENCE_DATABASE_URL` selects PostgreSQL; unset, a SQLite file in the data folder."""

    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    # Where the commitments service's event feed is read from (the read model's source).
    commitments_url: str = "http://127.0.0.1:8001"
    # The local blob store's folder; unset, `$SCRUTINY_DATA_DIR/blobs`.
    blob_dir: Path | None = None
    # No call may allow attachments larger than this; the upload route's body cap follows it.
    max_attachment_bytes_ceiling: int = Field(default=100 * MIB, ge=1)
    # Publication references of evidence that answers no call: `EV0001`, `EV0002`, ...
    standalone_reference_prefix: str = Field(default="EV", pattern=r"^[A-Z]{2,8}$")

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = default_sqlite_url("evidence")
        if self.blob_dir is None:
            self.blob_dir = DataDirSettings().data_dir / "blobs"
        return self
