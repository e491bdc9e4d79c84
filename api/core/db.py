"""Database wiring: Tortoise for queries, Alembic for the schema (see alembic/)."""

from __future__ import annotations

import errno
import socket
import sqlite3
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.exceptions import DBConnectionError

from api.core.settings import PROJECT_ROOT

# Every domain package that owns models is listed here (the only place core names them).
MODEL_MODULES: list[str] = [
    "api.catalog.models", "api.identity.models", "api.audit.models", "api.cases.models", "api.uploads.models",
    "api.workflow.models", "api.notifications.models",
    "api.certificates.models", "api.core.ratelimit", "api.ratings.models", "api.supervision.models",
    "api.core.jobs",
]


#: Seconds to wait for a new PostgreSQL connection (asyncpg's default is 60): with the database
#: host black-holed a request answers 503 after this, instead of hanging for a minute.
CONNECT_TIMEOUT = 5
#: Seconds one statement may take before asyncpg cancels it (it has no default): a connection the
#: pool holds to a host that went silent would otherwise wait for TCP to give up (many minutes).
COMMAND_TIMEOUT = 30.0
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "asyncpg"})


def _connection(database_url: str) -> str | dict[str, Any]:
    """The URL as Tortoise's connection dict, with our defaults unless the URL sets its own
    (``?timeout=`` seconds to connect, ``?command_timeout=`` seconds a statement, ``?min_size=``)."""
    if database_url.split(":", 1)[0] not in POSTGRES_SCHEMES:
        return database_url
    config = expand_db_url(database_url)
    credentials = config["credentials"]
    credentials.setdefault("timeout", CONNECT_TIMEOUT)
    if "min_size" not in credentials:
        # No connection floor (Tortoise's default is 1): asyncpg (>= 0.32) restores a floor in the
        # background, and while the database is down logs every failed try with a traceback.
        # Without one, the next request reconnects (and an outage is logged once, core/errors.py).
        credentials["minsize"] = 0
    # Tortoise passes parameters it does not know as text; asyncpg wants a number.
    credentials["command_timeout"] = float(credentials.get("command_timeout", COMMAND_TIMEOUT))
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_orm(database_url: str) -> None:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    # Tortoise caches insert/delete SQL per connection *name*, not per dialect, and never clears
    # it: a process that re-initialises on another database (tests: SQLite, then PostgreSQL)
    # would send SQLite placeholders to PostgreSQL.
    EXECUTOR_CACHE.clear()
    # Litestar runs its lifespan in another task than the handlers: without the global
    # fallback every handler would fail with "No TortoiseContext is currently active".
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_orm() -> None:
    await Tortoise.close_connections()


@asynccontextmanager
async def orm_session(database_url: str) -> AsyncIterator[None]:
    """Tortoise initialised for the duration of a CLI command or script."""
    await init_orm(database_url)
    try:
        yield
    finally:
        await close_orm()


def sqlalchemy_url(database_url: str) -> str:
    """Translate our (Tortoise-style) URL into the SQLAlchemy async URL Alembic uses."""
    scheme, rest = database_url.split("://", 1)
    if scheme == "sqlite":
        # Tortoise: sqlite:///abs/path (three slashes + absolute path); SQLAlchemy: four slashes.
        if rest == ":memory:":
            return "sqlite+aiosqlite://"
        return f"sqlite+aiosqlite:///{rest.lstrip('/') and '/' + rest.lstrip('/')}"
    if scheme in {"postgres", "postgresql", "asyncpg"}:
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"unsupported database URL scheme: {scheme}")


def alembic_config(database_url: str):  # -> alembic.config.Config
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def migrate(database_url: str, revision: str = "head") -> None:
    """``alembic upgrade head``. Synchronous: call it outside a running event loop (or in a thread)."""
    from alembic import command

    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


async def database_ok() -> bool:
    try:
        conn = Tortoise.get_connection("default")
        await conn.execute_query("SELECT 1")
    except Exception:
        return False
    return True




# --------------------------------------------------------------------------- unavailability

#: PostgreSQL refusing or ending connections: shutting down, starting up ("the database system is
#: starting up", "cannot connect now"), out of connection slots, connection-class (08) failures.
_POSTGRES_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError, asyncpg.PostgresConnectionError,
)
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file")
_NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT, errno.EHOSTUNREACH,
    errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN,
})
#: Modules a database client's own frames come from.
_DRIVERS = ("asyncpg", "aiosqlite", "sqlite3", "tortoise.backends")


def _raised_by_driver(exc: BaseException) -> bool:
    # A network error or time-out is the database's only when a driver raised it: the blob store
    # raises OSError too, and a full disk is no database outage.
    return any(frame.f_globals.get("__name__", "").startswith(_DRIVERS)
               for frame, _ in traceback.walk_tb(exc.__traceback__))


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (*_POSTGRES_UNAVAILABLE, DBConnectionError)):
        return True
    if isinstance(exc, asyncpg.InterfaceError):  # also raised for misuse; only a lost connection counts
        return "connection is closed" in str(exc) or "pool is closing" in str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).lower() in _SQLITE_UNAVAILABLE
    if isinstance(exc, (TimeoutError, ConnectionError, socket.gaierror)) or (
        isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS
    ):
        return _raised_by_driver(exc)
    return False


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it wraps, says the database cannot be reached right now
    (as opposed to refusing a query): the caller should try again later, and nothing is wrong
    with the request or with our code. Pure: looks only at the exception and its chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _unavailable(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
