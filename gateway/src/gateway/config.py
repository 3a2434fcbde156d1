"""Gateway settings (environment variables prefixed `GATEWAY_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from gateway.identity.keycrypt import KeyCipher, parse_cipher
from servicekit.auth import AuthSettings
from servicekit.settings import ServiceSettings, default_sqlite_url

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

SERVICES = ("commitments", "evidence", "ratings")
FEEDBACK_PLACEHOLDER = "mailto:feedback@scrutiny.invalid"


class Settings(ServiceSettings):
    """`GATEWAY_DATABASE_URL` selects PostgreSQL; unset, a SQLite file in the data folder."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    # The gateway's replayable creates (API clients, webhook subscriptions) store their answer,
    # secret included, so a retry can learn the secret it missed; keep that window short (a
    # retry comes within minutes) rather than the services' 24 hours.
    idempotency_ttl_s: float = Field(default=600, gt=0)

    commitments_url: str = "http://127.0.0.1:8001"
    evidence_url: str = "http://127.0.0.1:8002"
    ratings_url: str = "http://127.0.0.1:8003"
    # Per-service budget for one call; evidence is larger because attachments stream through.
    commitments_timeout_s: float = Field(default=10.0, gt=0)
    evidence_timeout_s: float = Field(default=60.0, gt=0)
    ratings_timeout_s: float = Field(default=10.0, gt=0)
    # Proxied bodies are capped again by the service that owns the route; these are the edge's
    # own caps: JSON routes get a backstop a little above the services' (imports are larger),
    # attachment uploads (`/v1/submissions/{id}/attachments`) a much larger one.
    proxy_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1)
    attachment_max_body_bytes: int = Field(default=128 * 1024 * 1024, ge=1)
    # Bulk commitment imports (the commitments service allows 50 MiB).
    import_max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    retry_after_s: int = Field(default=5, ge=1)

    # Retries of idempotent calls that failed to connect (stamina: exponential, jittered).
    retry_attempts: int = Field(default=3, ge=1, le=10)
    retry_wait_initial_s: float = Field(default=0.05, ge=0)
    retry_wait_max_s: float = Field(default=0.5, ge=0)
    retry_timeout_s: float = Field(default=2.0, gt=0)
    # Circuit breaker per backend: open after this many consecutive transport failures, answer
    # 503 at once for the cool-down, then let one probe through.
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_cooldown_s: float = Field(default=10.0, gt=0)
    # A composed read waits this long for each part before reporting it missing.
    compose_timeout_s: float = Field(default=5.0, gt=0)
    # A published evaluation's report, as anonymous readers get it, is kept this long per
    # replica and sent with `Cache-Control: public, max-age=` the same (0 turns it off).
    report_cache_s: float = Field(default=30.0, ge=0)
    # Rendered public pages (complete 200s only), kept per replica for this long, keyed by path
    # and query, up to `page_cache_max_bytes` of HTML in all (0 s turns it off). Browsers and
    # proxies are told `max-age=page_max_age_s`, then may serve it stale while they revalidate
    # (`If-None-Match` against the page's ETag, answered 304).
    # Where the phase banner's feedback link goes; the placeholder is labelled as one on the
    # pages until an operator sets a real address (a mailto: or the issue tracker's URL).
    feedback_url: str = FEEDBACK_PLACEHOLDER
    page_cache_s: float = Field(default=30.0, ge=0)
    page_cache_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    page_max_age_s: int = Field(default=60, ge=0)
    page_stale_while_revalidate_s: int = Field(default=300, ge=0)

    # Rate limits per minute: per API client (overridable per client), and per IP for callers
    # without a valid token. Counts in memory, or shared by every replica in Redis when set
    # (`redis://host:6379/0`).
    rate_limit_per_minute: int = Field(default=600, ge=1)
    anonymous_rate_limit_per_minute: int = Field(default=120, ge=1)
    # Failed client authentications at POST /oauth/token a minute, per client id and per address:
    # past either the endpoint answers 429 before it spends a password-hash check.
    token_failures_per_client_per_minute: int = Field(default=10, ge=1)
    token_failures_per_address_per_minute: int = Field(default=30, ge=1)
    # The public pages are limited per address on their own count, generously: one office behind
    # a NAT reads many pages, and most are answered from the page cache below.
    page_rate_limit_per_minute: int = Field(default=3000, ge=1)
    rate_limit_storage: str = "memory://"
    # How long a client's active flag and rate limit are cached per replica: the bound on how
    # long a disabled client's unexpired tokens still pass the gateway.
    client_cache_ttl_s: float = Field(default=2.0, ge=0, le=30)

    # Browser origins allowed to call the API (CORS); none by default. JSON list in the env.
    cors_allow_origins: list[str] = Field(default_factory=list)

    openapi_cache_s: float = Field(default=30.0, ge=0)
    openapi_timeout_s: float = Field(default=3.0, gt=0)

    # The gateway's public address; the token issuer (`iss`) unless SCRUTINY_TOKEN_ISSUER is set.
    public_url: str = "http://localhost:8000"
    token_ttl_s: int = Field(default=300, ge=10, le=3600)
    # A new signing key is published this long before tokens are signed with it, so every
    # service's cached JWKS (refreshed at most every few seconds) knows it before it is used.
    key_publish_delay_s: float = Field(default=10.0, ge=0)
    # Encrypts the token-signing private keys and the replayable answers that hold a secret, at
    # rest (gateway.identity.keycrypt): Fernet keys, comma-separated, the first encrypting.
    # `./scrutiny up` generates one into the data folder; without one they are stored plain.
    key_encryption_key: SecretStr = SecretStr("")

    # Pooled connections the gateway keeps to each service (per replica).
    backend_max_connections: int = Field(default=64, ge=1, le=1000)

    # --- fair share at the edge (gateway.edge.fairness) ----------------------------------------
    # A proxied request's body is read whole at the edge before a backend connection is taken for
    # it: once the grace has passed it must keep arriving at this average rate, and be complete
    # within the deadline, or the answer is 408. Up to `edge_body_memory_bytes` of it is held in
    # memory, the rest spooled to a temporary file (in `edge_spool_dir`, else the system's).
    edge_body_min_rate_bytes_per_s: int = Field(default=4096, ge=1)
    edge_body_grace_s: float = Field(default=5.0, ge=0)
    edge_body_deadline_s: float = Field(default=300.0, gt=0)
    edge_body_memory_bytes: int = Field(default=256 * 1024, ge=0)
    edge_spool_dir: str = ""
    # All bodies being staged at once, memory and spool files together, hold at most this much
    # (per replica): past it a new upload is a 503 with `Retry-After`, so a crowd of large slow
    # uploads cannot fill the disk (or the memory) the gateway shares with everything else.
    edge_staged_budget_bytes: int = Field(default=2 * 1024**3, ge=1)
    # Each client (a token's client id, else its address) has at most this fraction of
    # `backend_max_connections` in flight to each service; past it a request waits up to
    # `backend_share_wait_s` for one of its own to finish, then gets a 429.
    backend_client_share: float = Field(default=0.25, gt=0, le=1)
    backend_share_wait_s: float = Field(default=2.0, ge=0, le=60)

    # --- the written-evidence form (gateway.pages.evidence_form) ------------------------------
    # Signs the form's CSRF tokens and its confirmation links; every replica needs the same one.
    # Unset, each process draws its own at start: fine for one replica, and a form left open
    # across a restart is refused (nothing stored) and simply started again.
    form_secret: SecretStr = SecretStr("")
    # A form must be sent within this long of being opened (its CSRF token expires).
    form_token_max_age_s: int = Field(default=4 * 3600, ge=60)
    # Form posts a minute per address and per call, counted by the edge's rate limiter.
    form_posts_per_address_per_minute: int = Field(default=10, ge=1)
    form_posts_per_call_per_minute: int = Field(default=120, ge=1)
    # The API client the form's submissions are made as: never a generated client id (those are
    # 32 hex digits), so moderators can tell them from programmatic ones.
    form_client_id: str = Field(default="evidence-form", min_length=1, max_length=200)

    # --- the event log and webhooks (gateway.events, gateway.webhooks) -------------------------
    # Read each service's feed into the gateway's log (as an internal reader, with a token the
    # gateway mints for itself); poll this often when idle.
    events_consume: bool = True
    events_poll_interval_s: float = Field(default=0.1, gt=0)
    # Fan the log out to webhook subscriptions and deliver them.
    webhooks_deliver: bool = True
    webhooks_poll_interval_s: float = Field(default=0.1, gt=0)
    # While the log has nothing new to fan out, its wait doubles up to this.
    webhooks_idle_interval_s: float = Field(default=0.5, gt=0)
    # Deliveries in flight per replica, and per subscription, at once.
    webhooks_concurrency: int = Field(default=32, ge=1, le=1000)
    webhooks_per_subscription: int = Field(default=8, ge=1, le=100)
    # One attempt's budget (connect + send + answer); a slower receiver counts as failed.
    webhooks_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # A claimed delivery is retried by any replica if its attempt is not recorded within the
    # timeout plus this margin (the replica died mid-attempt).
    webhooks_lease_margin_s: float = Field(default=30.0, gt=0)
    # Seconds to wait before each retry after a failed attempt (then the delivery has failed):
    # 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h; each wait is jittered by ±20 %.
    webhooks_retry_schedule_s: list[float] = Field(
        default_factory=lambda: [
            5.0,
            30.0,
            120.0,
            600.0,
            1800.0,
            3600.0,
            10800.0,
            21600.0,
            43200.0,
        ],
        min_length=1,
        max_length=30,
    )
    webhooks_retry_jitter: float = Field(default=0.2, ge=0, le=1)
    # A `Retry-After` longer than this is capped to it.
    webhooks_max_retry_after_s: float = Field(default=43200, gt=0)
    # A subscription is disabled after this many failed attempts in a row, or once every attempt
    # has failed for this many hours; a 410 Gone disables it at once.
    webhooks_disable_after_failures: int = Field(default=100, ge=1)
    webhooks_disable_after_hours: float = Field(default=24, gt=0)
    # After a secret rotation the old secret also signs for this long (receivers roll over).
    webhooks_secret_grace_s: float = Field(default=24 * 3600, ge=0)
    # Development only: allow http:// targets, and targets on loopback/private/link-local ranges.
    webhooks_allow_http: bool = False
    webhooks_allow_private: bool = False

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

    def key_cipher(self) -> KeyCipher:
        """What encrypts the gateway's stored secrets (`GATEWAY_KEY_ENCRYPTION_KEY`)."""
        return parse_cipher(self.key_encryption_key.get_secret_value())

    def auth_settings(self) -> AuthSettings:
        """Issuer and audience shared with the services (`SCRUTINY_TOKEN_*`)."""
        auth = AuthSettings()
        if "token_issuer" in auth.model_fields_set:
            return auth
        return auth.model_copy(update={"token_issuer": self.public_url})
