"""Gateway settings (environment variables prefixed `GATEWAY_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.auth import AuthSettings
from servicekit.settings import ServiceSettings, default_sqlite_url

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

SERVICES = ("commitments", "evidence", "ratings")


class Settings(ServiceSettings):
    """`GATEWAY_DATABASE_URL` selects PostgreSQL; unset, a SQLite file in the data folder."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    commitments_url: str = "http://127.0.0.1:8001"
    evidence_url: str = "http://127.0.0.1:8002"
    ratings_url: str = "http://127.0.0.1:8003"
    # Per-service budget for one call; evidence is larger because attachments stream through.
    commitments_timeout_s: float = Field(default=10.0, gt=0)
    evidence_timeout_s: float = Field(default=60.0, gt=0)
    ratings_timeout_s: float = Field(default=10.0, gt=0)
    # Proxied bodies are capped by the service that owns the route; this is only a backstop.
    proxy_max_body_bytes: int = Field(default=128 * 1024 * 1024, ge=1)
    retry_after_s: int = Field(default=5, ge=1)

    openapi_cache_s: float = Field(default=30.0, ge=0)
    openapi_timeout_s: float = Field(default=3.0, gt=0)

    # The gateway's public address; the token issuer (`iss`) unless SCRUTINY_TOKEN_ISSUER is set.
    public_url: str = "http://localhost:8000"
    token_ttl_s: int = Field(default=300, ge=10, le=3600)
    # A new signing key is published this long before tokens are signed with it, so every
    # service's cached JWKS (refreshed at most every few seconds) knows it before it is used.
    key_publish_delay_s: float = Field(default=10.0, ge=0)

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = default_sqlite_url("gateway")
        return self

    def service_url(self, name: str) -> str:
        """Base URL of a backend service."""
        return str(getattr(self, f"{name}_url"))

    def service_timeout(self, name: str) -> float:
        """Timeout of one call to a backend service."""
        return float(getattr(self, f"{name}_timeout_s"))

    def auth_settings(self) -> AuthSettings:
        """Issuer and audience shared with the services (`SCRUTINY_TOKEN_*`)."""
        auth = AuthSettings()
        if "token_issuer" in auth.model_fields_set:
            return auth
        return auth.model_copy(update={"token_issuer": self.public_url})
