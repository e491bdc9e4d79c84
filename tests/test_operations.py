"""Operations: secrets from files, ``zhengwu check-deploy``, the security headers the server sends,
and the Prometheus metrics (behind a token on the app, or on a port of their own)."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from api.app import create_app
from api.core.metrics import CSP, HSTS, PWA_CSP
from api.core.settings import ConfigurationError, Settings
from tests.conftest import make_settings
from tests.processes import ROOT, free_port, running_server, sqlite_env, zhengwu

# ------------------------------------------------------------------------------------- secrets


def test_every_secret_can_come_from_a_file(tmp_path: Path) -> None:
    files = {}
    for name, value in {"key": "k" * 40, "old": "o" * 40 + ",p" + "p" * 40, "db": "postgres://zw:pw@db:5432/zw",
                        "demo": "Demo-pass-2026", "metrics": "m" * 24, "id": "AKIDEXAMPLE", "secret": "s3cr3t"}.items():
        files[name] = tmp_path / name
        files[name].write_text(value + "\n")  # as `echo` and most secret stores write it
    settings = Settings.from_env({
        "ZHENGWU_ENV": "production", "ZHENGWU_VAR_DIR": str(tmp_path),
        "ZHENGWU_SECRET_KEY_FILE": str(files["key"]), "ZHENGWU_PREVIOUS_SECRET_KEYS_FILE": str(files["old"]),
        "ZHENGWU_DATABASE_URL_FILE": str(files["db"]), "ZHENGWU_DEMO_PASSWORD_FILE": str(files["demo"]),
        "ZHENGWU_METRICS_TOKEN_FILE": str(files["metrics"]),
        "AWS_ACCESS_KEY_ID_FILE": str(files["id"]), "AWS_SECRET_ACCESS_KEY_FILE": str(files["secret"]),
    })
    assert settings.secret_key == "k" * 40
    assert settings.previous_secret_keys == ("o" * 40, "p" * 41)
    assert settings.database_url == "postgres://zw:pw@db:5432/zw"
    assert settings.demo_password == "Demo-pass-2026" and settings.metrics_token == "m" * 24
    assert settings.storage_credentials == {"access_key": "AKIDEXAMPLE", "secret_key": "s3cr3t"}


@pytest.mark.parametrize(("env", "message"), [
    ({"ZHENGWU_SECRET_KEY": "k" * 40, "ZHENGWU_SECRET_KEY_FILE": "/run/secrets/key"}, "not both"),
    ({"ZHENGWU_SECRET_KEY_FILE": "/nonexistent/key"}, "ZHENGWU_SECRET_KEY_FILE: cannot read /nonexistent/key"),
    ({"ZHENGWU_METRICS_TOKEN": "short"}, "ZHENGWU_METRICS_TOKEN"),
    ({"ZHENGWU_METRICS_PORT": "http"}, "ZHENGWU_METRICS_PORT"),
    ({"ZHENGWU_WORK_DIR": "relative/dir"}, "ZHENGWU_WORK_DIR"),
])
def test_bad_secret_files_and_settings_are_refused_in_one_line(env: dict[str, str], message: str,
                                                               tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=message) as refused:
        Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path), **env})
    assert "\n" not in str(refused.value)


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("\n")
    with pytest.raises(ConfigurationError, match="is empty"):
        Settings.from_env({"ZHENGWU_VAR_DIR": str(tmp_path), "ZHENGWU_SECRET_KEY_FILE": str(tmp_path / "key")})


# -------------------------------------------------------------------------------- check-deploy


def test_check_deploy_lists_every_unsafe_setting_and_fails(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path, ZHENGWU_STORAGE_URL="file:///tmp/zhengwu-blobs", ZHENGWU_METRICS_PORT="9400",
                     ZHENGWU_METRICS_HOST="0.0.0.0")
    done = zhengwu("check-deploy", "--workers", "4", env=env)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    for expected in ("ZHENGWU_ENV is not 'production'", "ZHENGWU_SECRET_KEY (or ZHENGWU_SECRET_KEY_FILE) is not set",
                     "SQLite with 4 workers", "keeps the materials in a temporary directory (/tmp/zhengwu-blobs)",
                     "the work directory (/tmp/zhengwu-blobs) is temporary",
                     "ZHENGWU_PUBLIC_URL is http://127.0.0.1:8000", "metrics port 9400 listens on 0.0.0.0"):
        assert sum(expected in line for line in lines) == 1, (expected, lines)
    assert all(line.startswith("✗ ") for line in lines) and len(lines) == 7
    assert "7 unsafe production setting(s)" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "secret_key").exists()  # checking wrote no development key


def test_check_deploy_names_a_setting_it_cannot_even_read(tmp_path: Path) -> None:
    done = zhengwu("check-deploy", env=sqlite_env(tmp_path, ZHENGWU_ENV="production",
                                                  ZHENGWU_SECRET_KEY_FILE="/nonexistent/key"))
    assert done.returncode == 1 and "configuration refused: ZHENGWU_SECRET_KEY_FILE: cannot read" in done.stdout


def test_check_deploy_passes_a_production_setup(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("k" * 48)
    (tmp_path / "aws").write_text("s3cr3t")
    env = sqlite_env(tmp_path, ZHENGWU_ENV="production", ZHENGWU_SECRET_KEY_FILE=str(tmp_path / "key"),
                     ZHENGWU_DATABASE_URL="postgres://zw@db.internal:5432/zw", ZHENGWU_PUBLIC_URL="https://zw.example.cn",
                     ZHENGWU_STORAGE_URL="s3://zhengwu-materials/prod?endpoint=http://seaweedfs:8333",
                     ZHENGWU_WORK_DIR="/srv/zhengwu/work", AWS_ACCESS_KEY_ID="AKID",
                     AWS_SECRET_ACCESS_KEY_FILE=str(tmp_path / "aws"), ZHENGWU_WORKERS="4")
    done = zhengwu("check-deploy", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no unsafe production settings found" in done.stdout


# ----------------------------------------------------------------------------- security headers


def test_the_server_csp_is_the_pwas() -> None:
    source = (ROOT / "pwa" / "vite.config.js").read_text()
    block = re.search(r"export const CSP = \[(.*?)\]\.join", source, re.S)
    assert block is not None
    assert tuple(re.findall(r'^\s*"([^"]+)"', block.group(1), re.M)) == PWA_CSP
    assert "; ".join(PWA_CSP) + "; frame-ancestors 'none'" == CSP


async def _headers(app: Litestar, path: str, method: str = "GET") -> httpx.Headers:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as c:
        return (await c.request(method, path)).headers


async def test_security_headers_and_hsts_in_production_only(app: Litestar, database_url: str,
                                                            tmp_path: Path) -> None:
    development = await _headers(app, "/api/v1/uploads", "OPTIONS")
    assert development["content-security-policy"] == CSP and "strict-transport-security" not in development
    assert development["x-content-type-options"] == "nosniff" and development["x-frame-options"] == "DENY"
    missing = await _headers(app, "/api/v1/no-such-route")  # unmatched paths get them too
    assert missing["content-security-policy"] == CSP
    production = create_app(make_settings(database_url, tmp_path, env="production"), manage_database=False)
    headers = await _headers(production, "/api/v1/uploads", "OPTIONS")
    assert headers["strict-transport-security"] == HSTS and headers["content-security-policy"] == CSP
    # The API documentation's renderer loads its own scripts: no page CSP there.
    assert "content-security-policy" not in await _headers(production, "/schema")


# ------------------------------------------------------------------------------------- metrics


def _count(text: str, method: str, route: str, status: int) -> int:
    pattern = (r"zhengwu_http_request_duration_seconds_count\{"
               f'method="{method}",route="{re.escape(route)}",status="{status}"' + r"\} ([0-9.]+)")
    found = re.search(pattern, text)
    return int(float(found.group(1))) if found else 0


async def test_metrics_need_the_token_and_count_requests_by_route_template(app: Litestar, database_url: str,
                                                                           tmp_path: Path) -> None:
    token = "metrics-token-" + "x" * 20
    with_metrics = create_app(make_settings(database_url, tmp_path, metrics_token=token), manage_database=False)
    transport = httpx.ASGITransport(app=with_metrics)
    scraper = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        before = (await c.get("/metrics", headers=scraper)).text
        for _ in range(3):
            assert (await c.get("/api/v1/items/no-such-item")).status_code == 404
        assert (await c.get("/metrics")).status_code == 404
        assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 404
        r = await c.get("/metrics", headers=scraper)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    # The route's template, never the path that was asked (no citizen data in label values).
    route = "/api/v1/items/{code}"
    assert _count(text, "GET", route, 404) - _count(before, "GET", route, 404) == 3, text[:3000]
    assert "no-such-item" not in text
    assert "zhengwu_uploads_in_flight" in text
    # Without a token there is no such route at all (the authorization matrix's app has none).
    assert "/metrics" not in {route.path for route in app.routes}


def test_metrics_on_their_own_port_sum_the_server_processes(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = sqlite_env(var, ZHENGWU_METRICS_PORT=str(free_port()), ZHENGWU_MAINTENANCE_INTERVAL="0")
    assert zhengwu("migrate", env=env).returncode == 0
    with running_server(env, tmp_path / "serve.log") as base:
        for _ in range(5):
            urllib.request.urlopen(f"{base}/api/v1/regions", timeout=10).close()
        with urllib.request.urlopen(f"http://127.0.0.1:{env['ZHENGWU_METRICS_PORT']}/metrics", timeout=10) as r:
            text = r.read().decode()
    assert _count(text, "GET", "/api/v1/regions", 200) == 5, text[:3000]
