"""All configuration, read once from ``BIZZLY_*`` environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bizzly.files import private_file

_MIN_SECRET_LEN = 32


class SettingsError(RuntimeError):
    """Raised when the configuration cannot be used (for example production without secrets)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BIZZLY_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".bizzly")

    # Three database roles (docs/design.md section 3). On SQLite all three default to the same file.
    database_url: str = ""
    database_owner_url: str = ""
    maintenance_database_url: str = ""
    database_pool_size: int = 10

    broker_url: str = "memory://"
    # Prefix of the broker's keys and queue names, so several deployments (or test runs) share a broker.
    broker_namespace: str = Field(default="bizzly", pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,60}$")
    # On memory:// `bizzly serve` runs the relay, the scheduler and a worker inside itself; off in tests.
    embedded_workers: bool = True
    # Key ring: the first key encrypts, every key decrypts. Comma-separated.
    secret_keys: str = ""

    public_url: str = "http://127.0.0.1:8000"
    dashboard_url: str = "http://127.0.0.1:3000"
    smtp_url: str = ""
    mail_from: str = "Bizzly <no-reply@bizzly.local>"

    host: str = "127.0.0.1"
    port: int = 8000
    # Web server processes of `bizzly serve` (each with its own database pool). Unset: one per core with a
    # shared broker (redis://, amqp://); always 1 on memory://, whose broker lives inside the one process.
    web_workers: int | None = Field(default=None, ge=1, le=256)
    log_level: str = "INFO"
    # /readyz: how long each check (database, broker) may take before the process is reported unready.
    health_timeout_seconds: float = Field(default=2.0, gt=0)
    graphiql: bool | None = None
    # Schema introspection (__schema, __type): on by default except in production.
    graphql_introspection: bool | None = None

    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_days: int = Field(default=30, ge=1)
    invitation_ttl_hours: int = Field(default=72, ge=1)
    password_reset_ttl_minutes: int = Field(default=60, ge=5)
    # Failed log-ins one client address may make for one account in the window before it is refused (for
    # all accounts together: four times as many). Other clients are not affected.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # Failures of one account from every address in the window after which each attempt on it waits
    # login_account_delay_seconds (slowed, never locked: its owner's right password still works).
    login_account_slow_after: int = Field(default=20, ge=1)
    login_account_delay_seconds: float = Field(default=1.0, ge=0, le=10)
    # WhatsApp verification codes issued per phone, and per tenant, in any rolling hour.
    otp_per_phone_per_hour: int = Field(default=5, ge=1)
    otp_per_tenant_per_hour: int = Field(default=500, ge=1)
    # Website contact forms accepted per client address, and per tenant, in a sliding window.
    contact_form_per_ip: int = Field(default=5, ge=1)
    contact_form_per_tenant: int = Field(default=200, ge=1)
    contact_form_window_minutes: int = Field(default=10, ge=1)

    max_body_bytes: int = 1024 * 1024
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000

    outbox_lease_seconds: int = Field(default=300, ge=5)
    outbox_max_attempts: int = Field(default=12, ge=1)
    relay_interval_seconds: float = Field(default=1.0, gt=0)
    # Fair sharing of the workers between tenants: rows of one tenant running (dispatched) at once. A tenant
    # with a flood of messages gets this many; the rest wait stored, in order, while others' rows go ahead.
    worker_tenant_share: int = Field(default=2, ge=1, le=1000)
    # Inbound messages of one tenant waiting (stored, not yet dispatched) past which its owner is alerted
    # (by email, at most once an hour).
    inbox_backlog_alert: int = Field(default=500, ge=1)
    scheduler_tick_seconds: float = Field(default=30.0, gt=0)
    # Retention (docs/design.md section 7; run hourly per tenant by the scheduler): WhatsApp messages and
    # stored webhooks older than this are deleted, auth events after their own period, in batches of this
    # many rows.
    message_retention_days: int = Field(default=30, ge=1)
    auth_event_retention_days: int = Field(default=90, ge=1)
    retention_batch_size: int = Field(default=5000, ge=1, le=50_000)
    # Pause between two full batches: retention is never urgent, the webhooks and the dashboard are.
    retention_pause_ms: int = Field(default=50, ge=0, le=10_000)

    # WhatsApp Cloud API (the platform's own Meta app; a tenant may bring its own secret and verify token).
    whatsapp_graph_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = Field(default="v23.0", pattern=r"^v\d+\.\d+$")
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    # Meta sends webhook payloads of up to about 3 MB: the webhook routes accept more than max_body_bytes.
    whatsapp_max_body_bytes: int = Field(default=3 * 1024 * 1024, ge=1024)

    # HubSpot (the platform's public OAuth app). Every base URL is a setting so tests point them at the fake.
    hubspot_client_id: str = ""
    hubspot_client_secret: str = ""
    hubspot_auth_url: str = "https://app.hubspot.com/oauth/authorize"
    hubspot_api_url: str = "https://api.hubapi.com"
    hubspot_forms_url: str = "https://api.hsforms.com"
    # A portal's request budget, shared by every worker: under HubSpot's 110 per 10 s for OAuth apps.
    hubspot_rate_limit: int = Field(default=100, ge=1)
    hubspot_rate_window_seconds: float = Field(default=10.0, gt=0)
    # The CRM search API's own budget (HubSpot: 5 per second per portal).
    hubspot_search_rate_per_second: int = Field(default=5, ge=1)
    # HubSpot -> Bizzly sync: how often each portal's incremental sync runs, how far behind "now" a window
    # ends (HubSpot's search index lags its writes by seconds), contacts per page (HubSpot lists <= 100).
    hubspot_sync_interval_seconds: int = Field(default=900, ge=60)
    hubspot_sync_lag_seconds: float = Field(default=30.0, ge=0)
    hubspot_sync_page_size: int = Field(default=100, ge=1, le=100)

    # The GA4 Measurement Protocol host (/mp/collect, /debug/mp/collect); tests point it at the fake.
    ga_url: str = "https://www.google-analytics.com"
    # How long the "Connect HubSpot" link stays valid.
    hubspot_state_ttl_seconds: int = Field(default=600, ge=60)
    # How long the assistant waits for a tenant's language model before answering deterministically.
    assistant_model_timeout_seconds: float = Field(default=10.0, gt=0)
    # A tenant's model calls in flight at once, per worker process: keep it below the worker threads so a
    # slow or dead model holds up only its own tenant's replies.
    assistant_model_concurrency: int = Field(default=1, ge=1)
    # Hosts (names or addresses, comma-separated) that URLs a tenant sets (a model's base URL) may reach
    # although they are not on the public internet: a model on the office network; the fakes in tests.
    outbound_allowed_hosts: str = ""

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'bizzly.db'}"
        if not self.database_owner_url:
            self.database_owner_url = self.database_url
        if not self.maintenance_database_url:
            self.maintenance_database_url = self.database_url
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def introspection_enabled(self) -> bool:
        chosen = self.graphql_introspection
        return chosen if chosen is not None else self.env != "production"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.env != "production"

    def key_ring(self) -> list[str]:
        """The secret keys, generating and persisting one under DATA_DIR when none is configured."""
        keys = [k.strip() for k in self.secret_keys.split(",") if k.strip()]
        if keys:
            short = [k for k in keys if len(k) < _MIN_SECRET_LEN]
            if short:
                raise SettingsError(
                    f"BIZZLY_SECRET_KEYS: every key needs at least {_MIN_SECRET_LEN} characters"
                )
            return keys
        if self.env == "production":
            raise SettingsError("BIZZLY_SECRET_KEYS is required in production")
        path = self.data_dir / "secret_key"
        if not path.exists():
            private_file(path).write_text(secrets.token_urlsafe(48))
        return [path.read_text().strip()]

    def check_production(self) -> None:
        """Refuse to run production on development defaults."""
        if self.env != "production":
            return
        self.key_ring()
        if self.is_sqlite:
            raise SettingsError("production needs PostgreSQL: set BIZZLY_DATABASE_URL")
        if self.broker_url.startswith("memory"):
            raise SettingsError("production needs a real broker: set BIZZLY_BROKER_URL (redis:// or amqp://)")
        if not self.smtp_url:
            raise SettingsError("production needs BIZZLY_SMTP_URL for invitations and password resets")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
