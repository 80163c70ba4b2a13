"""One Settings object for every part, read from ``HOTLINE_*`` environment variables."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProductionSettingsError(RuntimeError):
    """Settings that must not run in production (see ``Settings.production_problems``)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    # The owner/admin connection used by ``hotline migrate``; the runtime connects
    # as ``database_app_role`` on the same server unless ``database_app_url`` is set.
    database_url: str = "postgres://postgres@127.0.0.1:5432/hotline"
    database_app_url: str | None = None
    database_app_role: str = "hotline_app"
    database_app_password: SecretStr | None = None
    database_pool_min: int = 1
    database_pool_max: int = 10
    # What sits between the runtime and PostgreSQL (docs/operations.md "PgBouncer"):
    # "session" — PostgreSQL itself or a session-mode pooler; the row-level-security scope
    # is set for the session on every acquire. "transaction" — a transaction-mode pooler:
    # every acquire is a transaction carrying its own scope (SET LOCAL), asyncpg's
    # statement cache is off. Session settings through a transaction-mode pooler leak one
    # city's scope to another's statements: never point a "session" runtime at one.
    database_pooling: Literal["session", "transaction"] = "session"
    # The worker's LISTEN connection for committed outbox rows (a session of its own):
    # behind a transaction-mode pooler set it to PostgreSQL itself (or a session-mode
    # pool); unset there, the worker relays on its 2-second cron alone.
    database_listen_url: str | None = None
    # A streaming read replica for statistics, search and list queries (the runtime
    # role's URL on the replica; docs/operations.md "Read replicas"). Reads fall back to
    # the primary while its replay lag exceeds the bound, measured at most once per
    # ``check`` interval per process.
    database_replica_url: str | None = None
    database_replica_max_lag_seconds: float = 2.0
    database_replica_check_seconds: float = 1.0
    # Monthly partitions (docs/operations.md "Partitioning"): made this many months ahead
    # by a nightly worker cron; months older than each table's retention (months, 0
    # keeps all) are detached. A ticket's timeline must stay whole for its chain to
    # verify: detach its months only once its tickets are archived.
    partition_months_ahead: int = 3
    call_records_retention_months: int = 0
    timeline_retention_months: int = 0
    audit_retention_months: int = 0
    # Delivered outbox messages move to the monthly ``outbox_delivered`` archive this long
    # after delivery (a worker cron); a send key is written once as long as its month is
    # attached there. 0: no move (while a release that does not read the archive still
    # serves, e.g. during the rolling upgrade that introduces it: docs/operations.md).
    outbox_archive_after_minutes: int = 60
    outbox_delivered_retention_months: int = 0
    # Users read their notices for as long as they keep them: none are detached unless
    # set (a detached month disappears from every inbox and unread count).
    notices_retention_months: int = 0
    # Worker processes a large registry import prepares its chunks in (validation,
    # encryption); 0: in the job's own process. Worth it only where the job's process has
    # cores of its own (docs/business.md "Import").
    import_workers: int = 0

    redis_url: str = "redis://127.0.0.1:6379/0"
    # Every Redis key (rate limits, caches, the arq queue) starts with this prefix, so
    # several deployments or test runs can share one server.
    redis_prefix: str = "hotline"
    # Every Redis call gives up after this long (connect and each reply): a paused or
    # unreachable Redis degrades the API quickly instead of hanging it.
    redis_timeout_seconds: float = 2.0
    # Redis Sentinel (docs/operations.md "Redis Sentinel"): comma-separated host:port of
    # the sentinels; when set, every client (cache, rate limits, pub/sub, the job queue,
    # the worker) asks them for the primary of ``redis_sentinel_master`` and follows a
    # failover. HOTLINE_REDIS_URL then gives only the database number and credentials.
    redis_sentinels: str = ""
    redis_sentinel_master: str = "hotline"
    redis_sentinel_password: SecretStr | None = None

    s3_endpoint: str = "http://127.0.0.1:9000"
    s3_access_key: str = "hotline"
    s3_secret_key: SecretStr = SecretStr("hotline-secret")
    s3_region: str = "us-east-1"
    # Every object-store call gives up after this long to connect or between two reads,
    # tries a refused connection or a 5xx twice more, a failed read once: a paused or stopped
    # store answers 503 within seconds instead of minio's 5-minute default.
    s3_timeout_seconds: float = 5.0
    s3_bucket: str = "hotline-evidence"

    # development | production. Production turns on the start-up checks of
    # ``production_problems`` and turns GraphiQL, introspection and the demo logins off
    # unless they are enabled explicitly (HOTLINE_GRAPHIQL, _INTROSPECTION).
    env: Literal["development", "production"] = "development"
    graphiql: bool | None = None

    # Browser frontends on other origins (docs/frontend.md): comma-separated origins
    # (cities add theirs in features.cors_origins), cookies allowed?, preflight cache.
    cors_origins: str = ""
    cors_allow_credentials: bool = False
    cors_max_age: int = 600

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    base_domain: str = "hotline.example"
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated IPs
    # or CIDRs; "*" trusts every peer). The client address — and so every per-client
    # rate limit — is the rightmost X-Forwarded-For entry that is not a trusted proxy.
    # Default: loopback only (a proxy on the same host). Behind a Kubernetes ingress set
    # the ingress pods' CIDR. Untrusted peers' forwarding headers are ignored.
    trusted_proxies: str = "127.0.0.1,::1"

    # Production (``env``) normally refuses to start without SMTP (e-mails would only be saved
    # to <home>/mail/); set this to accept that knowingly (e.g. a closed test system).
    allow_log_email: bool = False

    # Where the embedded stack keeps its data; ``hotline run`` uses it when no URLs are set.
    home: Path = Path(".hotline")

    # Auth
    access_token_minutes: int = 15
    refresh_token_days: int = 14
    # Presenting a refresh token again within this many seconds of its rotation returns
    # the same next refresh token (concurrent refreshes of one session); later, a reuse
    # revokes the whole session (docs/auth.md).
    refresh_grace_seconds: int = 10
    jwt_issuer: str = "hotline"
    # Failed logins (docs/auth.md): after login_max_failures consecutive failures for one
    # account name (4× that for one client address) each further failure makes it wait,
    # 1 s doubling up to login_lockout_minutes; the same for names that do not exist.
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_rate_per_minute: int = 20
    # Platform operators, province and city admins must enrol TOTP within this many days
    # of the account's creation or of becoming an admin; after it, login needs TOTP.
    admin_totp_grace_days: int = 7
    # Key for encrypting personal data at rest (Fernet, urlsafe base64, 32 bytes);
    # several keys separated by commas: the first encrypts, all decrypt (rotation).
    data_keys: SecretStr = SecretStr("")
    # Key for keyed lookup hashes (HMAC-SHA256) of phone numbers and API keys.
    hash_key: SecretStr = SecretStr("dev-only-hash-key-change-me")
    session_secret: SecretStr = SecretStr("dev-only-session-secret-change-me")

    # GraphQL
    graphql_introspection: bool | None = None  # default: on in development
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    # Checked right after parsing, before validation (docs/security.md): selections in
    # one selection set, fields in total (fragments expanded), and pairs of same-named
    # fields the overlap rule would compare.
    graphql_max_selections: int = 100
    graphql_max_fields: int = 1000
    graphql_max_overlapping_pairs: int = 200
    # Validation runs in a thread; past this it is refused (QUERY_TOO_COMPLEX).
    graphql_validation_seconds: float = 2.0
    # Static cost budgets per caller class (QUERY_TOO_COSTLY past them).
    graphql_cost_anonymous: int = 500
    graphql_cost_user: int = 5000
    graphql_cost_admin: int = 20000
    # The whole request (execution included) must finish within this (DEADLINE_EXCEEDED).
    request_deadline_seconds: float = 30.0
    # Persisted queries (docs/frontend.md): a JSON file of registered documents, and the
    # caller classes (anonymous, user, admin; comma-separated) limited to them.
    persisted_queries: Path | None = None
    persisted_only: str = ""
    # Larger request bodies are refused with 413 before they are read.
    max_body_bytes: int = 1_048_576
    # PostgreSQL's statement_timeout for the runtime pool (0 = none).
    database_statement_timeout_seconds: float = 15.0

    # How long a relayed outbox message stays claimed without a sign of life from its
    # delivery job (which renews the lease every third of it while it runs).
    outbox_lease_seconds: float = 30.0

    # Live subscriptions re-check their credentials (expiry, logout, membership) before
    # each event and at least this often, and end when they no longer stand.
    subscription_recheck_seconds: float = 30.0

    # Outgoing e-mail: smtp://user:password@host:port (smtps:// for implicit TLS);
    # empty = development: messages are saved to <home>/mail/*.eml, not sent.
    smtp_url: str = ""
    smtp_from: str = "Hotline <no-reply@hotline.example>"

    # Background jobs: transient failures (network, database restarts, S3 5xx, Redis)
    # are tried again after base * 2**(try-1) seconds (capped), up to max_tries in all.
    job_max_tries: int = 5
    # Bulk jobs (evidence, training, statistics) on a queue of their own, run by
    # ``hotline worker --queue bulk`` (production); off: one queue, one kind of worker.
    bulk_queue: bool = False
    job_retry_base_seconds: float = 2.0
    job_retry_max_seconds: float = 300.0

    log_json: bool = False
    log_level: str = "INFO"

    # Prometheus (docs/operations.md, "Metrics"): the API serves /metrics (off with
    # metrics_enabled=false; a bearer token required when metrics_token is set); a
    # worker serves /metrics on worker_metrics_port (0: none, the default locally).
    # SIGTERM (docs/operations.md, "Graceful shutdown"): the API stops accepting and lets
    # in-flight requests finish for up to shutdown_grace_seconds (then closes what is
    # left, subscriptions included); a worker stops taking jobs and lets running ones
    # finish for up to worker_drain_seconds, then cancels them, and arq queues them again.
    shutdown_grace_seconds: float = 30.0
    worker_drain_seconds: int = 25
    # After the start-up warm-up (dictionaries, routing models) the API and the worker
    # move every object alive then out of the garbage collector's sight (gc.freeze): a
    # warmed process holds hundreds of thousands of long-lived objects, and each full
    # collection walked them all — 0.2–0.4 s with the event loop stopped, every request
    # in flight waiting (docs/performance.md "Garbage collection pauses").
    gc_freeze: bool = True

    metrics_enabled: bool = True
    metrics_token: SecretStr | None = None
    worker_metrics_port: int = 0

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def production_problems(self) -> list[str]:
        """What stops these settings from running in production (empty: nothing)."""
        if not self.is_production:
            return []
        problems: list[str] = []
        if not self.smtp_url and not self.allow_log_email:
            problems.append(
                "HOTLINE_SMTP_URL is not set: e-mails (password-reset links included) would"
                " not be sent but saved on this machine; configure SMTP, or set"
                " HOTLINE_ALLOW_LOG_EMAIL=true to accept that"
            )
        if self.metrics_enabled and self.metrics_token is None:
            problems.append(
                "HOTLINE_METRICS_TOKEN is not set: /metrics (every city's open and overdue"
                " counts) would answer anyone who reaches the API; set a scrape token, or"
                " HOTLINE_METRICS_ENABLED=false"
            )
        return problems

    def require_production_ready(self) -> None:
        """Raise with every problem at once; the API and the worker call it at start."""
        problems = self.production_problems()
        if problems:
            raise ProductionSettingsError(
                "refusing to start with production settings: " + "; ".join(problems)
            )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",")):
            if item and item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError as exc:
                    raise ValueError(f"not an IP address or CIDR: {item!r}") from exc
        return value

    def trusted_proxy_list(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.env == "development"

    @property
    def introspection_enabled(self) -> bool:
        if self.graphql_introspection is not None:
            return self.graphql_introspection
        return self.env == "development"

    def app_database_url(self) -> str:
        """The runtime connection: an explicit URL, or the owner URL with the app role."""
        if self.database_app_url:
            return self.database_app_url
        parts = urlsplit(self.database_url)
        password = (
            self.database_app_password.get_secret_value() if self.database_app_password else ""
        )
        auth = quote(self.database_app_role, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{auth}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the dev runner change the environment)."""
    get_settings.cache_clear()
