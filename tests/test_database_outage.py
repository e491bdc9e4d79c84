"""While the database is unavailable the API answers 503 with Retry-After (never 500), logs the
outage in a few lines (never a traceback per request), and serves again as soon as it is back
(issue #18.2).

The real thing: ``zhengwu serve`` in a child process on a PostgreSQL server of the test's own,
which the test stops (``pg_ctl stop -m fast``: sessions are terminated, then connections are
refused) and starts again, while a signed-in citizen keeps reading and writing a case; the log
bound is measured on the server's own output. Likewise a SQLite database another process keeps
locked, and a database host that never answers. What the outage logs, and when, is checked on
``DatabaseOutage`` itself with a clock of the test's.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from tortoise.exceptions import OperationalError

from api.core.errors import DatabaseOutage
from tests.private_postgres import PrivatePostgres, private_postgres
from tests.processes import ROOT, free_port, http_status, sqlite_env, zhengwu, zhengwu_exe

LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领 (city)
#: uvicorn's access log: one line per request, whatever happens (not what this is about).
ACCESS_LINE = re.compile(r'"[A-Z]+ \S+ HTTP/1\.[01]" \d{3}')

# --------------------------------------------------------------------------- what is logged


class Probe:
    """The database as the outage's probe sees it: down until the test says it is back."""

    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    async def __call__(self) -> bool:
        self.calls += 1
        return self.up


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)  # polling for the probe task's outcome


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "zhengwu.errors"]


async def test_an_outage_is_one_warning_a_count_every_10_s_and_one_end_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zhengwu.errors")
    now = [1000.0]
    probe = Probe()
    outage = DatabaseOutage(probe, clock=lambda: now[0], hold=0.05, first_probe=0.01, max_probe=0.01)
    refused = asyncpg.CannotConnectNowError("the database system is starting up")
    for _ in range(1000):  # 1000 refused requests over 31.25 s (1/32 s apart: exact in binary)
        now[0] += 1 / 32
        outage.refuse(refused)
    await _until(lambda: probe.calls > 0)  # the probe found it still down
    assert outage.active
    probe.up = True
    await _until(lambda: not outage.active)
    await outage.close()
    assert _lines(caplog) == [
        "database unavailable (CannotConnectNowError: the database system is starting up): answering 503 until it "
        "is back",
        "database still unavailable after 10 s: 321 requests answered 503 (320 since the last report)",
        "database still unavailable after 20 s: 641 requests answered 503 (320 since the last report)",
        "database still unavailable after 30 s: 961 requests answered 503 (320 since the last report)",
        "database available again after 31.2 s; 1000 requests were answered 503",
    ]
    assert not any(r.exc_info for r in caplog.records)


async def test_refusals_that_come_and_go_are_one_outage(caplog: pytest.LogCaptureFixture) -> None:
    """SQLite's "database is locked": a probe succeeds between refusals; the end is logged only
    once no request has been refused for ``hold`` seconds."""
    caplog.set_level(logging.INFO, logger="zhengwu.errors")
    probe = Probe()
    probe.up = True
    outage = DatabaseOutage(probe, hold=0.3, first_probe=0.01, max_probe=0.01)
    locked = OperationalError(sqlite3.OperationalError("database is locked"))
    for _ in range(5):
        outage.refuse(locked)
        calls = probe.calls
        await _until(lambda calls=calls: probe.calls > calls)  # the probe saw the database answer …
        assert outage.active  # … but a refusal follows within the hold: still the same outage
    await _until(lambda: not outage.active)
    await outage.close()
    lines = _lines(caplog)
    assert len(lines) == 2 and lines[0].startswith("database unavailable (OperationalError: database is locked)")
    assert lines[1].startswith("database available again") and lines[1].endswith("5 requests were answered 503")


# --------------------------------------------------------------------------- the outage


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@contextmanager
def serving(env: dict[str, str], log: Path, healthy: bool = True) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``zhengwu serve`` on a free port, and its process (the test checks it is the same one);
    ready when its health check answers 200 (or, ``healthy=False``, when it accepts connections).

    ``healthy=False`` starts the app under uvicorn itself: ``zhengwu serve`` refuses to start
    without its database (tests/test_cli.py), and these tests are about an app that is serving
    when the database goes away."""
    port = free_port()
    command = [zhengwu_exe(), "serve", "--host", "127.0.0.1", "--port", str(port)] if healthy else [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:app_factory", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log"]
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not (http_status(f"{base}/api/v1/health") == 200 if healthy else _accepts(port)):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server not ready:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)  # polling a process that is binding its port, not synchronising a test
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def database() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


def _sign_in(client: httpx.Client, log: Path) -> dict[str, str]:
    phone = "13912345678"
    assert client.post("/api/v1/auth/otp", json={"phone": phone}).status_code == 202
    # The development sender logs the code. (Not GET /dev/sms?phone=…: uvicorn's access line of a
    # URL holding a phone number fails to format once redacted, and that writes a traceback.)
    # The server logs through a queue (another thread): the line may follow the answer.
    deadline = time.monotonic() + 10
    while not (codes := re.findall(r"验证码是 (\d{6})", log.read_text())):
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.02)  # polling a file another process writes
    code = codes[-1]
    r = client.post("/api/v1/auth/token", json={"phone": phone, "code": code})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _calls(client: httpx.Client, auth: dict[str, str], case_id: int, n: int) -> list[httpx.Response]:
    """Two reads and a write of the citizen's case (every one needs the database: the guard
    reads the citizen, the handler the case)."""
    return [
        client.get(f"/api/v1/cases/{case_id}", headers=auth),
        client.get("/api/v1/cases", headers=auth),
        client.patch(f"/api/v1/cases/{case_id}", json={"form_data": {"note": str(n)}}, headers=auth),
    ]


def test_an_outage_answers_503_and_is_logged_in_a_few_lines(database: PrivatePostgres, tmp_path: Path) -> None:
    # The request path alone: the worker logs its own outage once (tests/test_worker_process.py).
    env = sqlite_env(tmp_path, ZHENGWU_DATABASE_URL=database.url, ZHENGWU_MAINTENANCE_INTERVAL="0",
                     ZHENGWU_WORKER_IN_SERVER="false")
    for command in ("migrate", "seed"):
        done = zhengwu(command, *(["--demo"] if command == "seed" else []), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path / "serve.log"
    with serving(env, log) as (base, proc), httpx.Client(base_url=base, timeout=30) as client:
        auth = _sign_in(client, log)
        r = client.post("/api/v1/cases", json={"item_code": LICENCE, "answers": {"reason": "lost", "agent": "no"}},
                        headers=auth)
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
        assert all(r.status_code == 200 for r in _calls(client, auth, case_id, 0))
        before = len(log.read_text().splitlines())

        database.stop()
        refused: list[httpx.Response] = []
        until = time.monotonic() + 3  # a 3-second outage, as in the issue
        while time.monotonic() < until:
            refused += _calls(client, auth, case_id, len(refused))
        database.start()  # returns once the server accepts connections
        back = time.monotonic()

        wrong = [f"{r.request.method} {r.request.url.path} → {r.status_code} {r.text[:200]}" for r in refused
                 if r.status_code != 503 or r.headers.get("Retry-After") != "5"
                 or r.json() != {"status_code": 503, "message": "服务暂时不可用，请稍后再试",
                                 "detail": "database unavailable", "request_id": r.headers["X-Request-ID"]}]
        assert wrong == [] and len(refused) >= 30, (wrong[:5], len(refused))

        # Served again within a second of the database being back (polled: the outcome counts).
        answers: list[int] = []
        while not answers or answers[-1] != 200:
            if time.monotonic() > back + 1.0:
                pytest.fail(f"not served again within 1 s of the database being back: {answers}")
            answers.append(client.get(f"/api/v1/cases/{case_id}", headers=auth).status_code)
        assert all(r.status_code == 200 for r in _calls(client, auth, case_id, -1))

        # The end is logged once the database has answered again and no request was refused for
        # 10 s (DatabaseOutage.hold).
        deadline = time.monotonic() + 30
        while "database available again" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)  # polling a file another process writes
        assert proc.poll() is None  # the same server process throughout
        lines = log.read_text().splitlines()

    during = [line for line in lines[before:] if not ACCESS_LINE.search(line)]
    assert not any("Traceback" in line for line in lines), "\n".join(lines[-80:])
    assert sum("database unavailable" in line for line in during) == 1, during
    assert sum("database available again" in line for line in during) == 1, during
    assert len(during) <= 4, during
    assert sum("Started server process" in line for line in lines) == 1


def test_a_locked_sqlite_database_answers_503_and_serves_again(tmp_path: Path) -> None:
    """Another process holding SQLite's write lock past the busy timeout (5 s): the write answers
    503 with Retry-After; reads go on (WAL); once the lock is gone the write succeeds."""
    env = sqlite_env(tmp_path, ZHENGWU_MAINTENANCE_INTERVAL="0")
    for command in ("migrate", "seed"):
        done = zhengwu(command, *(["--demo"] if command == "seed" else []), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path / "serve.log"
    with serving(env, log) as (base, proc), httpx.Client(base_url=base, timeout=30) as client:
        auth = _sign_in(client, log)
        r = client.post("/api/v1/cases", json={"item_code": LICENCE, "answers": {"reason": "lost", "agent": "no"}},
                        headers=auth)
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
        other = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            r = client.patch(f"/api/v1/cases/{case_id}", json={"form_data": {"n": 1}}, headers=auth)
            assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
            assert r.json()["detail"] == "database unavailable"
            assert client.get(f"/api/v1/cases/{case_id}", headers=auth).status_code == 200
        finally:
            other.rollback()
            other.close()
        r = client.patch(f"/api/v1/cases/{case_id}", json={"form_data": {"n": 2}}, headers=auth)
        assert r.status_code == 200 and r.json()["form_data"] == {"n": 2}, r.text
        assert proc.poll() is None
    text = log.read_text()
    assert "Traceback" not in text
    assert text.count("database unavailable (OperationalError: database is locked)") == 1, text[-2000:]


def test_a_black_holed_database_answers_503_instead_of_hanging(tmp_path: Path) -> None:
    """A database host that takes the TCP connection and never answers (a firewall dropping
    packets behaves alike): the connection attempt gives up after core.db.CONNECT_TIMEOUT (5 s;
    asyncpg would wait 60) and the request answers 503 well inside the client's patience."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
        port = silent.getsockname()[1]
        env = sqlite_env(tmp_path, ZHENGWU_DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/zw",
                         ZHENGWU_MAINTENANCE_INTERVAL="0")
        log = tmp_path / "serve.log"
        with serving(env, log, healthy=False) as (base, _), httpx.Client(base_url=base, timeout=20) as client:
            r = client.post("/api/v1/auth/otp", json={"phone": "13912345678"})  # stores the code's hash
            assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
        text = log.read_text()
    assert "Traceback" not in text and "database unavailable (TimeoutError" in text, text[-2000:]
