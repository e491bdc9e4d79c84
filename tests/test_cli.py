"""The `zhengwu` command as an operator uses it, in child processes on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import openpyxl
import pytest
from argon2 import PasswordHasher

from api.certificates import demo as demo_certificates
from api.identity.services import demo_accounts
from tests.processes import running_server, sqlite_env, zhengwu


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    var = tmp_path_factory.mktemp("cli")
    env = sqlite_env(var)
    assert zhengwu("migrate", env=env).returncode == 0
    done = zhengwu("seed", "--demo", env=env)
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stderr
    assert "13800138000" in done.stderr and "issued business_license" in done.stderr  # demo certificates
    return env


def test_seed_if_empty_leaves_a_loaded_catalog_alone(seeded: dict[str, str]) -> None:
    done = zhengwu("seed", "--demo", "--if-empty", env=seeded)
    assert done.returncode == 0
    assert "nothing to do" in done.stderr


def test_seed_needs_exactly_one_source(seeded: dict[str, str]) -> None:
    assert zhengwu("seed", env=seeded).returncode != 0
    assert zhengwu("seed", "--demo", "--synthetic", "10", env=seeded).returncode != 0


def test_maintenance_runs_one_round_and_reports_it(seeded: dict[str, str]) -> None:
    done = zhengwu("maintenance", env=seeded)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "0 drafts expired" in out and "orphaned blobs swept" in out


def test_export_then_import_round_trips(seeded: dict[str, str], tmp_path: Path) -> None:
    xlsx, again = tmp_path / "catalog.xlsx", tmp_path / "again.json"
    first = tmp_path / "first.json"
    assert zhengwu("export-catalog", str(first), env=seeded).returncode == 0
    done = zhengwu("export-catalog", str(xlsx), env=seeded)
    assert done.returncode == 0, done.stderr
    imported = zhengwu("import-catalog", str(xlsx), env=seeded)
    assert imported.returncode == 0, imported.stderr
    assert "0 versions published" in imported.stderr  # nothing changed: no new versions
    assert zhengwu("export-catalog", str(again), env=seeded).returncode == 0
    assert json.loads(first.read_bytes()) == json.loads(again.read_bytes())


def test_a_bad_workbook_imports_nothing_and_says_why_in_chinese(seeded: dict[str, str], tmp_path: Path) -> None:
    xlsx = tmp_path / "catalog.xlsx"
    assert zhengwu("export-catalog", str(xlsx), env=seeded).returncode == 0
    book = openpyxl.load_workbook(xlsx)
    sheet = book["事项"]
    headers = [c.value for c in sheet[1]]
    kind_col = next(i for i, h in enumerate(headers, start=1) if str(h).endswith(" kind"))
    name_col = next(i for i, h in enumerate(headers, start=1) if str(h).endswith(" name"))
    sheet.cell(row=2, column=kind_col, value="77")
    sheet.cell(row=3, column=name_col, value="改过名字的事项")  # a valid change in the same file
    book.save(xlsx)
    before = tmp_path / "before.json"
    assert zhengwu("export-catalog", str(before), env=seeded).returncode == 0

    done = zhengwu("import-catalog", str(xlsx), env=seeded)
    assert done.returncode != 0
    assert "未导入任何内容" in done.stderr
    assert "第 2 行" in done.stdout + done.stderr

    after = tmp_path / "after.json"
    assert zhengwu("export-catalog", str(after), env=seeded).returncode == 0
    assert json.loads(before.read_bytes()) == json.loads(after.read_bytes())  # the valid row too: all or nothing


def test_import_refuses_other_file_types(seeded: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "catalog.csv"
    csv.write_text("code,name\n")
    done = zhengwu("import-catalog", str(csv), env=seeded)
    assert done.returncode != 0 and ".xlsx" in done.stderr


def test_serve_answers_and_refuses_several_workers_on_sqlite(seeded: dict[str, str], tmp_path: Path) -> None:
    done = zhengwu("serve", "--workers", "2", env=seeded)
    assert done.returncode != 0 and "SQLite" in done.stderr
    with running_server(seeded, tmp_path / "serve.log") as base:
        with urllib.request.urlopen(f"{base}/api/v1/items?q=jhdj") as r:
            found = json.load(r)["items"]
        assert any("结婚登记" in i["name"] for i in found)


def test_serve_refuses_to_start_without_its_database_in_one_line(tmp_path: Path) -> None:
    # At start-up only: once serving, an outage answers 503 and the process waits for the
    # database to come back (tests/test_database_outage.py).
    env = sqlite_env(tmp_path, ZHENGWU_DATABASE_URL="postgres://nobody:secret@127.0.0.1:9/none")
    done = zhengwu("serve", "--port", "9", env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line
    assert "database 127.0.0.1:9/none unreachable" in done.stderr and "Traceback" not in done.stderr
    assert "secret" not in done.stderr  # the URL's password is never printed
    done = zhengwu("migrate", env=env, timeout=60)  # any command: one line, never a traceback
    assert done.returncode == 1 and "Traceback" not in done.stderr and "database unavailable" in done.stderr


@pytest.mark.parametrize(("storage", "says"), [
    ("s3://Not_A_Bucket/x", "ZHENGWU_STORAGE_URL: s3:// bucket name"),
    ("s3://zhengwu-test/x?endpoint=http://127.0.0.1:9", "blob storage unavailable: object storage unavailable"),
    ("ftp://example.cn/blobs", "ZHENGWU_STORAGE_URL: unsupported storage URL scheme"),
])
def test_serve_refuses_a_bad_or_unreachable_blob_store_in_one_line(seeded: dict[str, str], storage: str,
                                                                    says: str) -> None:
    env = {**seeded, "ZHENGWU_STORAGE_URL": storage, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    done = zhengwu("serve", "--port", "9", env=env, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr


def test_production_without_a_secret_is_refused(tmp_path: Path) -> None:
    done = zhengwu("migrate", env=sqlite_env(tmp_path, ZHENGWU_ENV="production"))
    assert done.returncode != 0
    assert "ZHENGWU_SECRET_KEY" in done.stderr


# --------------------------------------------------------------------------- demo accounts


def _db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(env["ZHENGWU_DATABASE_URL"].removeprefix("sqlite://"))


def _staff(env: dict[str, str]) -> list[tuple]:
    with _db(env) as db:
        return db.execute('SELECT id, username, password_hash, role, department, "window", name, active '
                          "FROM staff ORDER BY id").fetchall()


def _expected_demo_accounts(env: dict[str, str]) -> list:
    with _db(env) as db:
        windows = [r[0] for r in db.execute('SELECT code FROM "window" ORDER BY code')]
        city = [r[0] for r in db.execute("SELECT code FROM department WHERE level = 'city' ORDER BY code")]
    return demo_accounts(windows, city)


def _sign_in(base: str, username: str, password: str) -> tuple[int, dict]:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(f"{base}/api/v1/auth/staff/token", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {}


def test_demo_seed_creates_an_account_for_every_role_that_signs_in(seeded: dict[str, str], tmp_path: Path) -> None:
    expected = _expected_demo_accounts(seeded)
    assert {a.role for a in expected} == {"clerk", "officer", "approver", "supervisor", "admin"}
    usernames = {row[1]: row for row in _staff(seeded)}
    assert {"clerk-W01", "supervisor", "admin"} <= usernames.keys()
    for a in expected:
        assert usernames[a.username][3:6] == (a.role, a.department, a.window)
    with running_server(seeded, tmp_path / "serve.log") as base:
        for a in expected:
            status, tokens = _sign_in(base, a.username, "zhengwu-demo")
            assert status == 200, a.username
            claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
            assert claims["role"] == a.role
    done = zhengwu("audit-verify", env=seeded)  # each creation is an audit entry of the system's
    certificates = len(demo_certificates.CERTIFICATES)  # the demo certificates' issues are audited too
    assert done.returncode == 0 and f"{len(expected) + certificates} entries" in " ".join(done.stderr.split())


def test_seeding_again_leaves_the_demo_accounts_as_they_are(seeded: dict[str, str]) -> None:
    changed = PasswordHasher().hash("Changed-pass-2026")  # someone changed the admin's password
    with _db(seeded) as db:
        db.execute("UPDATE staff SET password_hash = ? WHERE username = 'admin'", (changed,))
    before = _staff(seeded)
    for args in (("seed", "--demo"), ("seed", "--demo", "--if-empty")):
        done = zhengwu(*args, env=seeded)
        assert done.returncode == 0, done.stderr
        assert "0 created" in done.stderr
    assert _staff(seeded) == before
    assert [row[2] for row in before if row[1] == "admin"] == [changed]


def test_production_creates_no_demo_accounts(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path, ZHENGWU_ENV="production", ZHENGWU_SECRET_KEY="p" * 48)
    assert zhengwu("migrate", env=env).returncode == 0
    done = zhengwu("seed", "--demo", env=env)
    assert done.returncode == 0, done.stderr
    assert "no demo accounts" in done.stderr and "imported" in done.stderr
    assert _staff(env) == []
