"""Configuration from ``ZHENGWU_*`` environment variables, with safe development defaults.

Every secret may instead be read from a file named by the same variable with ``_FILE`` appended
(``ZHENGWU_SECRET_KEY_FILE=/run/secrets/zhengwu_key``: Docker and Kubernetes secrets), so it never
sits in the process environment; setting both is refused.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from storage import UnsupportedStorageURL, check_storage_url, storage_path

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


#: Variables that may come from a file instead (``NAME_FILE``): what a secret is, or holds one.
SECRET_VARIABLES = (
    "ZHENGWU_SECRET_KEY", "ZHENGWU_PREVIOUS_SECRET_KEYS", "ZHENGWU_DATABASE_URL", "ZHENGWU_DEMO_PASSWORD",
    "ZHENGWU_METRICS_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
)


def secret_from(env: dict[str, str], name: str) -> str:
    """``name``'s value, or the content of the file ``name_FILE`` names (one trailing newline dropped)."""
    path = env.get(f"{name}_FILE", "").strip()
    if not path:
        return env.get(name, "")
    if env.get(name):
        raise ConfigurationError(f"set {name} or {name}_FILE, not both")
    try:
        value = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigurationError(f"{name}_FILE: cannot read {path}: {reason}") from None
    value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ConfigurationError(f"{name}_FILE: {path} is empty")
    return value


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
    # A local directory for what must stay on this host's disk: partial uploads (tus), the
    # normaliser's output and an object store's spool. None: the storage directory itself for
    # file:// storage (so finished uploads are hard-linked into it), <var>/work for s3://.
    work_dir: Path | None = None
    # Object-store credentials read from AWS_* (or their _FILE); empty: botocore's own chain
    # (shared credentials file, profile, instance role).
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_session_token: str = ""
    # Prometheus metrics (api/core/metrics.py): on GET /metrics with "Authorization: Bearer <token>"
    # when a token is set, and/or on a port of their own (no token there: bind it to a private
    # address). Neither: no /metrics at all.
    metrics_token: str = ""
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    # Seconds `zhengwu serve` gives in-flight requests (a tus chunk being received) after SIGTERM
    # before it cancels them; the worker in the server stops its loops after that.
    shutdown_timeout: float = 30.0

    @property
    def work_root(self) -> Path:
        if self.work_dir is not None:
            return self.work_dir
        if self.storage_url.startswith("file://"):
            return storage_path(self.storage_url)
        return _var_dir() / "work"

    @property
    def storage_credentials(self) -> dict[str, str]:
        keys = {"access_key": self.s3_access_key, "secret_key": self.s3_secret_key,
                "session_token": self.s3_session_token}
        return {name: value for name, value in keys.items() if value}
    # Notifications (api/notifications, issue #13). The VAPID key signs Web Push requests (RFC 8292):
    # raw base64url P-256 private key from `zhengwu vapid-keys`; "" = no Web Push (in-app and SMS only).
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:zhengwu@localhost"  # RFC 8292 `sub`: a mailto: or https: contact
    # Push services allowed although not https on a public address (a test service, a private relay):
    # origins such as "http://127.0.0.1:8790". Every other endpoint must be https on a public address.
    push_allow_origins: tuple[str, ...] = ()
    # Seconds between the dispatcher's looks at the outbox when nothing woke it (SQLite has no
    # LISTEN/NOTIFY; on PostgreSQL this is only the fallback).
    notify_poll_interval: float = 1.0
    # 好差评 (api/ratings): days a rater has for one follow-up rating (追评); working days a department
    # has to verify (核实) and to rectify (整改) a bad rating.
    rating_followup_days: int = 15
    rectify_verify_days: int = 3
    rectify_days: int = 15

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
        database_url = secret_from(env, "ZHENGWU_DATABASE_URL") or _default_database_url(env)
        validate_database_url(database_url)
        storage_url = env.get("ZHENGWU_STORAGE_URL") or _default_storage_url(env)
        try:
            check_storage_url(storage_url)
        except UnsupportedStorageURL as exc:
            raise ConfigurationError(f"ZHENGWU_STORAGE_URL: {exc}") from None
        raw_work = env.get("ZHENGWU_WORK_DIR", "").strip()
        if raw_work and not Path(raw_work).is_absolute():
            raise ConfigurationError("ZHENGWU_WORK_DIR must be an absolute path")
        work_dir = Path(raw_work) if raw_work else (
            None if storage_url.startswith("file://") else _var_dir(env) / "work")
        metrics_token = secret_from(env, "ZHENGWU_METRICS_TOKEN")
        if metrics_token and len(metrics_token) < 16:
            raise ConfigurationError("ZHENGWU_METRICS_TOKEN must be at least 16 characters")
        raw_metrics_port = env.get("ZHENGWU_METRICS_PORT", "0").strip() or "0"
        if not raw_metrics_port.isdigit() or int(raw_metrics_port) > 65535:
            raise ConfigurationError("ZHENGWU_METRICS_PORT must be a port number (0: none)")
        secret = secret_from(env, "ZHENGWU_SECRET_KEY")
        if not secret:
            if mode == "production":
                raise ConfigurationError("ZHENGWU_SECRET_KEY is required when ZHENGWU_ENV=production")
            secret = _development_secret(_var_dir(env))
        elif len(secret) < 32:
            raise ConfigurationError("ZHENGWU_SECRET_KEY must be at least 32 characters")
        previous = tuple(k for k in secret_from(env, "ZHENGWU_PREVIOUS_SECRET_KEYS").split(",") if k.strip())
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
        vapid = env.get("ZHENGWU_VAPID_PRIVATE_KEY", "").strip()
        if vapid:
            _check_vapid_key(vapid)
        elif mode != "production":
            vapid = _development_vapid_key(_var_dir(env))
        subject = env.get("ZHENGWU_VAPID_SUBJECT", "").strip() or (
            public_url if public_url.startswith("https://") else "mailto:zhengwu@localhost")
        if not (subject.startswith("mailto:") and "@" in subject) and not subject.startswith("https://"):
            raise ConfigurationError("ZHENGWU_VAPID_SUBJECT must be a mailto: address or an https:// URL")
        origins = tuple(o.strip().rstrip("/") for o in env.get("ZHENGWU_PUSH_ALLOW_ORIGINS", "").split(",")
                        if o.strip())
        for origin in origins:
            parts = urlparse(origin)
            if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path:
                raise ConfigurationError("ZHENGWU_PUSH_ALLOW_ORIGINS lists origins like http://127.0.0.1:8790")
        poll = _number(env, "ZHENGWU_NOTIFY_POLL_INTERVAL", "1", 0.05, 60.0)
        followup = int(_number(env, "ZHENGWU_RATING_FOLLOWUP_DAYS", "15", 1, 365, whole=True))
        verify_days = int(_number(env, "ZHENGWU_RECTIFY_VERIFY_DAYS", "3", 1, 60, whole=True))
        rectify_days = int(_number(env, "ZHENGWU_RECTIFY_DAYS", "15", 1, 120, whole=True))
        shutdown_timeout = _number(env, "ZHENGWU_SHUTDOWN_TIMEOUT", "30", 1, 3600)
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
            demo_password=secret_from(env, "ZHENGWU_DEMO_PASSWORD") or "zhengwu-demo",
            log_level=log_level,
            log_format=log_format,
            trust_request_id=raw_trust in _TRUE,
            work_dir=work_dir,
            s3_access_key=secret_from(env, "AWS_ACCESS_KEY_ID"),
            s3_secret_key=secret_from(env, "AWS_SECRET_ACCESS_KEY"),
            s3_session_token=secret_from(env, "AWS_SESSION_TOKEN"),
            metrics_token=metrics_token,
            metrics_port=int(raw_metrics_port),
            metrics_host=env.get("ZHENGWU_METRICS_HOST", "").strip() or "127.0.0.1",
            vapid_private_key=vapid,
            vapid_subject=subject,
            push_allow_origins=origins,
            notify_poll_interval=poll,
            rating_followup_days=followup,
            rectify_verify_days=verify_days,
            rectify_days=rectify_days,
            shutdown_timeout=shutdown_timeout,
        )


def _number(env: dict[str, str], name: str, default: str, low: float, high: float, *, whole: bool = False) -> float:
    raw = env.get(name, default).strip()
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise ConfigurationError(f"{name} must be {kind} from {low:g} to {high:g}")
    return value


def _check_vapid_key(key: str) -> None:
    import base64

    try:
        raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError("ZHENGWU_VAPID_PRIVATE_KEY must be the raw base64url key `zhengwu vapid-keys` prints")


def new_vapid_private_key() -> str:
    """A new P-256 private key as the raw base64url 32 bytes that ZHENGWU_VAPID_PRIVATE_KEY holds."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec

    value = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).decode().rstrip("=")


def _development_vapid_key(var_dir: Path) -> str:
    """A per-checkout VAPID key under var/ (browsers' subscriptions are bound to it: it must persist)."""
    path = var_dir / "vapid_private_key"
    if path.exists():
        return path.read_text().strip()
    private = new_vapid_private_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(private)
    return private


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
