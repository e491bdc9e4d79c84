"""What an operator is told before production traffic: ``zhengwu check-deploy`` (every unsafe
setting, at once) and the start-up check of ``zhengwu serve`` (the database and the blob store
answer, else one line and a non-zero exit instead of a server answering 503 to everything)."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from api.core.settings import ConfigurationError, Settings
from storage import storage_path

# botocore finds credentials through any of these besides AWS_ACCESS_KEY_ID.
_AWS_CHAIN = ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE",
              "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
              "AWS_CONTAINER_CREDENTIALS_FULL_URI")


def _temporary(path: Path) -> bool:
    roots = {Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path(tempfile.gettempdir())}
    resolved = path.resolve()
    return any(resolved == root or resolved.is_relative_to(root.resolve()) for root in roots)


def deployment_problems(environ: dict[str, str] | None = None, *, workers: int = 1) -> list[str]:
    """Every unsafe production setting in ``environ`` (default: this process's), one line each."""
    env = dict(os.environ if environ is None else environ)
    problems: list[str] = []
    if env.get("ZHENGWU_ENV", "development").strip().lower() != "production":
        problems.append("ZHENGWU_ENV is not 'production': development helpers are on "
                        "(/api/v1/dev/sms shows sign-in codes; demo accounts are created)")
    secret_given = bool(env.get("ZHENGWU_SECRET_KEY") or env.get("ZHENGWU_SECRET_KEY_FILE"))
    try:
        # Without a key, read the rest as if one were set: the missing key is reported below, and
        # development's fallback would write a key file under the var directory.
        settings = Settings.from_env(env if secret_given else {**env, "ZHENGWU_SECRET_KEY": "x" * 32})
    except ConfigurationError as exc:
        return [*problems, f"configuration refused: {exc}"]
    if not secret_given:
        problems.append("ZHENGWU_SECRET_KEY (or ZHENGWU_SECRET_KEY_FILE) is not set: tokens are signed with a "
                        "key generated under the var directory, different on every machine")
    elif settings.secret_key in settings.previous_secret_keys:
        problems.append("ZHENGWU_SECRET_KEY is also listed in ZHENGWU_PREVIOUS_SECRET_KEYS")
    if settings.is_sqlite and workers > 1:
        problems.append(f"SQLite with {workers} workers: SQLite takes one process only; use PostgreSQL "
                        "(ZHENGWU_DATABASE_URL=postgres://…) for several")
    if settings.storage_url.startswith("file://"):
        root = storage_path(settings.storage_url)
        if _temporary(root):
            problems.append(f"ZHENGWU_STORAGE_URL keeps the materials in a temporary directory ({root}): "
                            "it may be emptied at any reboot")
    elif not any(env.get(name) for name in _AWS_CHAIN):
        problems.append("object storage without credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                        "(or their _FILE, or AWS_SHARED_CREDENTIALS_FILE / AWS_PROFILE)")
    if _temporary(settings.work_root):
        problems.append(f"the work directory ({settings.work_root}) is temporary: acknowledged upload chunks "
                        "live there until their upload completes (set ZHENGWU_WORK_DIR)")
    if urlparse(settings.public_url).scheme != "https":
        problems.append(f"ZHENGWU_PUBLIC_URL is {settings.public_url}: QR codes and links should use https://")
    if settings.metrics_port and settings.metrics_host not in {"127.0.0.1", "::1", "localhost"}:
        problems.append(f"metrics port {settings.metrics_port} listens on {settings.metrics_host} without a "
                        "token: keep it on a private address or use ZHENGWU_METRICS_TOKEN instead")
    return problems


async def _database_problem(url: str) -> str | None:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite://")
        if path == ":memory:":
            return None
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            sqlite3.connect(path, timeout=5).close()
        except (OSError, sqlite3.Error) as exc:
            return f"database {path} cannot be opened: {exc}"
        return None
    import asyncpg

    from api.core.db import CONNECT_TIMEOUT

    parts = urlparse(url)
    where = f"{parts.hostname}:{parts.port or 5432}{parts.path}"  # never the password
    try:
        # Our own options (?timeout=, ?min_size=) are not the driver's: the bare URL is enough here.
        connection = await asyncpg.connect(url.split("?", 1)[0], timeout=CONNECT_TIMEOUT)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = str(exc) or type(exc).__name__
        return f"database {where} unreachable: {reason[:200]}"
    await connection.close()
    return None


async def startup_problem(settings: Settings) -> str | None:
    """None when the database and the blob store answer; else what is wrong, in one line."""
    from api.core.blobs import blob_store
    from storage import StorageUnavailable

    problem = await _database_problem(settings.database_url)
    if problem:
        return problem
    store = blob_store(settings)
    try:
        await store.check()
    except StorageUnavailable as exc:
        return f"blob storage unavailable: {exc}"
    finally:
        await store.close()
    return None
