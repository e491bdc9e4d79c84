"""Database wiring: Tortoise for queries, Alembic for the schema (see alembic/)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from api.core.settings import PROJECT_ROOT

# Every domain package that owns models is listed here (the only place core names them).
MODEL_MODULES: list[str] = [
    "api.catalog.models", "api.identity.models", "api.audit.models", "api.cases.models", "api.uploads.models",
]


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
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


