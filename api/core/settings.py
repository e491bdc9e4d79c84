"""Configuration from ``ZHENGWU_*`` environment variables, with safe development defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAX_UPLOAD_MB = 50
LOG_LEVELS = ("debug", "info", "warning", "error")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


class ConfigurationError(RuntimeError):
    """Raised when the environment describes an unusable configuration."""


def _var_dir(environ: dict[str, str] | None = None) -> Path:
    """Where development state lives (database, blobs, secret); ZHENGWU_VAR_DIR moves it."""
    env = os.environ if environ is None else environ
    return Path(env.get("ZHENGWU_VAR_DIR") or PROJECT_ROOT / "var").resolve()


def _default_database_url(environ: dict[str, str] | None = None) -> str:
    return f"sqlite:///{_var_dir(environ) / 'zhengwu.sqlite3'}"


def _default_storage_url(environ: dict[str, str] | None = None) -> str:
    return f"file://{_var_dir(environ) / 'storage'}"


@dataclass(frozen=True, slots=True)
class Settings:
    env: str = "development"
    database_url: str = field(default_factory=_default_database_url)
    storage_url: str = field(default_factory=_default_storage_url)
    secret_key: str = ""
    previous_secret_keys: tuple[str, ...] = ()  # still verify tokens signed before a key rotation
    public_url: str = "http://127.0.0.1:8000"
    pwa_dist: Path = PROJECT_ROOT / "pwa" / "dist"
    # How often (seconds) a process re-reads the catalog version to notice publishes made by
    # other processes; a publish in this process invalidates at once.
    catalog_version_check_interval: float = 1.0
    # Pre-serialise every guide in the background after the catalog (re)loads.
    catalog_prewarm: bool = True
    draft_ttl_days: int = 30  # an untouched application draft (and its blobs) is removed after this
    # Largest upload accepted at all (Tus-Max-Size, Upload-Length); each material has its own,
    # usually lower, max_size_mb in the catalog.
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    # Seconds between maintenance rounds (draft and upload expiry, orphan sweep; api/worker.py)
    # in each server process; 0 = none (run `zhengwu maintenance` from cron or a worker instead).
    maintenance_interval: float = 600.0
    # The background worker (api/worker.py): every server process runs one in its lifespan unless this
    # is False (then run `zhengwu worker`, as many as wanted on PostgreSQL; SQLite has one worker).
    worker_in_server: bool = True
    # Seconds between supervision ticks (warnings, alarms, irregularities) of each worker.
    tick_interval: float = 30.0
    # Seconds one Server-Sent Events stream of new alerts stays open before the browser reconnects.
    alert_stream_seconds: float = 300.0
    # The password of the accounts `zhengwu seed --demo` creates in development (none in production).
    demo_password: str = "zhengwu-demo"
    # Logging (api/core/logs.py): the level of app, server and library loggers (the access log is
    # always at info); "text" lines for people or "json", one object per line, for log collectors.
    log_level: str = "info"
    log_format: str = "text"
    # Take a request's id from its X-Request-ID header (when it is [A-Za-z0-9._-]{1,64}) instead of
    # generating one. Only for deployments where every request passes a proxy that sets the header
    # itself, replacing a client's: otherwise clients could choose the ids in the logs.
    trust_request_id: bool = False

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def max_upload_size(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("ZHENGWU_ENV", "development").strip().lower()
        if mode not in {"development", "production"}:
            raise ConfigurationError(f"ZHENGWU_ENV must be 'development' or 'production', not {mode!r}")
        database_url = env.get("ZHENGWU_DATABASE_URL") or _default_database_url(env)
        validate_database_url(database_url)
        storage_url = env.get("ZHENGWU_STORAGE_URL") or _default_storage_url(env)
        if not storage_url.startswith("file://"):
            raise ConfigurationError("ZHENGWU_STORAGE_URL must be a file:// URL (other backends: later)")
        secret = env.get("ZHENGWU_SECRET_KEY", "")
        if not secret:
            if mode == "production":
                raise ConfigurationError("ZHENGWU_SECRET_KEY is required when ZHENGWU_ENV=production")
            secret = _development_secret(_var_dir(env))
        elif len(secret) < 32:
            raise ConfigurationError("ZHENGWU_SECRET_KEY must be at least 32 characters")
        previous = tuple(k for k in env.get("ZHENGWU_PREVIOUS_SECRET_KEYS", "").split(",") if k.strip())
        public_url = (env.get("ZHENGWU_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
        if urlparse(public_url).scheme not in {"http", "https"}:
            raise ConfigurationError("ZHENGWU_PUBLIC_URL must start with http:// or https://")
        pwa_dist = Path(env.get("ZHENGWU_PWA_DIST") or PROJECT_ROOT / "pwa" / "dist")
        raw_ttl = env.get("ZHENGWU_DRAFT_TTL_DAYS", "30").strip()
        if not raw_ttl.isdigit() or not 1 <= int(raw_ttl) <= 3650:
            raise ConfigurationError("ZHENGWU_DRAFT_TTL_DAYS must be a whole number of days from 1 to 3650")
        raw_upload = env.get("ZHENGWU_MAX_UPLOAD_MB", str(DEFAULT_MAX_UPLOAD_MB)).strip()
        if not raw_upload.isdigit() or not 1 <= int(raw_upload) <= 10240:
            raise ConfigurationError("ZHENGWU_MAX_UPLOAD_MB must be a whole number of MB from 1 to 10240")
        raw_interval = env.get("ZHENGWU_MAINTENANCE_INTERVAL", "600").strip()
        if not raw_interval.isdigit() or int(raw_interval) > 86400 or 0 < int(raw_interval) < 10:
            raise ConfigurationError("ZHENGWU_MAINTENANCE_INTERVAL must be 0 (off) or whole seconds from 10 to 86400")
        raw_worker = env.get("ZHENGWU_WORKER_IN_SERVER", "true").strip().lower()
        if raw_worker not in _TRUE | _FALSE:
            raise ConfigurationError("ZHENGWU_WORKER_IN_SERVER must be true or false")
        raw_tick = env.get("ZHENGWU_TICK_INTERVAL", "30").strip()
        if not raw_tick.isdigit() or not 1 <= int(raw_tick) <= 3600:
            raise ConfigurationError("ZHENGWU_TICK_INTERVAL must be whole seconds from 1 to 3600")
        raw_stream = env.get("ZHENGWU_ALERT_STREAM_SECONDS", "300").strip()
        if not raw_stream.isdigit() or not 1 <= int(raw_stream) <= 3600:
            raise ConfigurationError("ZHENGWU_ALERT_STREAM_SECONDS must be whole seconds from 1 to 3600")
        log_level = env.get("ZHENGWU_LOG_LEVEL", "info").strip().lower()
        if log_level not in LOG_LEVELS:
            raise ConfigurationError("ZHENGWU_LOG_LEVEL must be one of " + ", ".join(LOG_LEVELS))
        log_format = env.get("ZHENGWU_LOG_FORMAT", "text").strip().lower()
        if log_format not in {"text", "json"}:
            raise ConfigurationError("ZHENGWU_LOG_FORMAT must be 'text' or 'json'")
        raw_trust = env.get("ZHENGWU_TRUST_REQUEST_ID", "").strip().lower()
        if raw_trust not in _TRUE | _FALSE:
            raise ConfigurationError("ZHENGWU_TRUST_REQUEST_ID must be true or false")
        return cls(
            env=mode,
            database_url=database_url,
            storage_url=storage_url,
            secret_key=secret,
            previous_secret_keys=previous,
            public_url=public_url,
            pwa_dist=pwa_dist,
            draft_ttl_days=int(raw_ttl),
            max_upload_mb=int(raw_upload),
            maintenance_interval=float(raw_interval),
            worker_in_server=raw_worker in _TRUE or raw_worker == "",
            tick_interval=float(raw_tick),
            alert_stream_seconds=float(raw_stream),
            demo_password=env.get("ZHENGWU_DEMO_PASSWORD") or "zhengwu-demo",
            log_level=log_level,
            log_format=log_format,
            trust_request_id=raw_trust in _TRUE,
        )


def validate_database_url(url: str) -> None:
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") and url != "sqlite://:memory:":
            raise ConfigurationError(
                "SQLite URLs are absolute: sqlite:///absolute/path.sqlite3 (got a relative path)"
            )
    elif scheme not in {"postgres", "postgresql", "asyncpg"}:
        raise ConfigurationError("ZHENGWU_DATABASE_URL must be sqlite:///… or postgres://…")


def _development_secret(var_dir: Path) -> str:
    """A per-checkout random key kept under var/, so tokens survive restarts in development."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
