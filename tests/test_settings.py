"""Configuration: safe defaults in development, refusals that say what to fix."""

from pathlib import Path

import pytest

from api.core.db import sqlalchemy_url
from api.core.settings import ConfigurationError, Settings
from storage import storage_path


def test_development_defaults_live_under_var(tmp_path: Path) -> None:
    s = Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path)})
    assert s.env == "development"
    assert s.database_url == f"sqlite:///{tmp_path / 'zhengwu.sqlite3'}"
    assert storage_path(s.storage_url) == tmp_path / "storage"
    assert len(s.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    again = Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path)})
    assert again.secret_key == s.secret_key  # kept, so tokens survive a restart


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ZHENGWU_SECRET_KEY"):
        Settings.from_env({"ZHENGWU_ENV": "production", "ZHENGWU_VAR_DIR": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="32"):
        Settings.from_env({"ZHENGWU_ENV": "production", "ZHENGWU_SECRET_KEY": "short"})
    ok = Settings.from_env({"ZHENGWU_ENV": "production", "ZHENGWU_SECRET_KEY": "k" * 40,
                            "ZHENGWU_VAR_DIR": str(tmp_path)})
    assert ok.production


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ZHENGWU_ENV": "staging"}, "ZHENGWU_ENV"),
        ({"ZHENGWU_DATABASE_URL": "sqlite://relative.db"}, "absolute"),
        ({"ZHENGWU_DATABASE_URL": "mysql://x@y/z"}, "ZHENGWU_DATABASE_URL"),
        ({"ZHENGWU_STORAGE_URL": "s3://Bad_Bucket"}, "ZHENGWU_STORAGE_URL"),
        ({"ZHENGWU_STORAGE_URL": "ftp://x/y"}, "ZHENGWU_STORAGE_URL"),
        ({"ZHENGWU_PUBLIC_URL": "ftp://x"}, "ZHENGWU_PUBLIC_URL"),
        ({"ZHENGWU_MAINTENANCE_INTERVAL": "5"}, "ZHENGWU_MAINTENANCE_INTERVAL"),
        ({"ZHENGWU_MAINTENANCE_INTERVAL": "soon"}, "ZHENGWU_MAINTENANCE_INTERVAL"),
        ({"ZHENGWU_WORKER_IN_SERVER": "maybe"}, "ZHENGWU_WORKER_IN_SERVER"),
        ({"ZHENGWU_TICK_INTERVAL": "0"}, "ZHENGWU_TICK_INTERVAL"),
        ({"ZHENGWU_ALERT_STREAM_SECONDS": "forever"}, "ZHENGWU_ALERT_STREAM_SECONDS"),
    ],
)
def test_bad_configuration_is_refused(env: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path), **env})


def test_relative_storage_url_is_under_the_project() -> None:
    s = Settings(storage_url="file://var/storage", secret_key="x" * 40)
    assert storage_path(s.storage_url).parts[-2:] == ("var", "storage")


def test_sqlalchemy_urls_follow_the_database_url() -> None:
    assert sqlalchemy_url("sqlite:///tmp/a.db") == "sqlite+aiosqlite:////tmp/a.db"
    assert sqlalchemy_url("postgres://u@h:5432/d") == "postgresql+asyncpg://u@h:5432/d"


def test_a_route_without_an_access_rule_stops_the_app_from_building() -> None:
    from litestar import Litestar, get

    from api.core.access import MissingAccessRule, check_access_rules

    @get("/api/v1/forgotten")
    async def forgotten() -> str:
        return "secret"

    @get("/api/v1/open", opt={"public": True})
    async def open_() -> str:
        return "ok"

    check_access_rules(Litestar([open_]))
    with pytest.raises(MissingAccessRule, match="/api/v1/forgotten"):
        check_access_rules(Litestar([open_, forgotten]))


def test_max_upload_size_is_configurable(tmp_path: Path) -> None:
    base = {"ZHENGWU_VAR_DIR": str(tmp_path)}
    assert Settings.from_env(base).max_upload_mb == 50
    s = Settings.from_env({**base, "ZHENGWU_MAX_UPLOAD_MB": " 200 "})
    assert s.max_upload_mb == 200 and s.max_upload_size == 200 * 1024 * 1024
    for bad in ("0", "10241", "-5", "1.5", "lots", ""):
        with pytest.raises(ConfigurationError, match="ZHENGWU_MAX_UPLOAD_MB"):
            Settings.from_env({**base, "ZHENGWU_MAX_UPLOAD_MB": bad})


def test_tus_max_size_follows_the_setting(tmp_path: Path) -> None:
    from litestar.testing import TestClient

    from api.app import create_app

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", storage_url=f"file://{tmp_path}",
                        secret_key="k" * 40, catalog_prewarm=False, max_upload_mb=200)
    with TestClient(create_app(settings, manage_database=False)) as client:
        r = client.options("/api/v1/uploads")
    assert r.status_code == 204 and r.headers["Tus-Max-Size"] == str(200 * 1024 * 1024)


def test_maintenance_interval_can_be_turned_off(tmp_path: Path) -> None:
    assert Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path)}).maintenance_interval == 600
    off = Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path), "ZHENGWU_MAINTENANCE_INTERVAL": "0"})
    assert off.maintenance_interval == 0


def test_the_demo_password_is_configurable(tmp_path: Path) -> None:
    assert Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path)}).demo_password == "zhengwu-demo"
    chosen = Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path), "ZHENGWU_DEMO_PASSWORD": "Try-roles-2026"})
    assert chosen.demo_password == "Try-roles-2026"


def test_logging_settings(tmp_path: Path) -> None:
    default = Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path)})
    assert (default.log_level, default.log_format, default.trust_request_id) == ("info", "text", False)
    chosen = Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path), "ZHENGWU_LOG_LEVEL": "DEBUG",
                                "ZHENGWU_LOG_FORMAT": "json", "ZHENGWU_TRUST_REQUEST_ID": "true"})
    assert (chosen.log_level, chosen.log_format, chosen.trust_request_id) == ("debug", "json", True)
    for name, value in [("ZHENGWU_LOG_LEVEL", "verbose"), ("ZHENGWU_LOG_FORMAT", "xml"),
                        ("ZHENGWU_TRUST_REQUEST_ID", "maybe")]:
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path), name: value})


def test_the_worker_settings(tmp_path: Path) -> None:
    base = {"ZHENGWU_VAR_DIR": str(tmp_path)}
    s = Settings.from_env(base)
    assert (s.worker_in_server, s.tick_interval, s.alert_stream_seconds) == (True, 30.0, 300.0)
    s = Settings.from_env({**base, "ZHENGWU_WORKER_IN_SERVER": "false", "ZHENGWU_TICK_INTERVAL": "5",
                           "ZHENGWU_ALERT_STREAM_SECONDS": "60"})
    assert (s.worker_in_server, s.tick_interval, s.alert_stream_seconds) == (False, 5.0, 60.0)
