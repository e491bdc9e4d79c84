"""Logging (issue #18): records keep their shape, personal numbers never reach a log line (message,
arguments, tracebacks, stack), JSON is one object per line, writes leave the event loop and none
is lost at shutdown; every response names its request id."""

from __future__ import annotations

import io
import json
import logging
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from uvicorn.logging import AccessFormatter

from api.app import create_app
from api.core import logs
from api.core.request_context import accepted_request_id, new_request_id
from tests.conftest import make_settings
from tests.processes import running_server, sqlite_env, zhengwu

PHONE, ID_NUMBER = "13800138000", "511902199001011232"
PHONE_MASKED, ID_MASKED = "138****8000", "511902********1232"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logs.BackgroundHandler]]:
    """A logger writing through a BackgroundHandler into a buffer; read the buffer after close()."""
    buffer = io.StringIO()
    handler = logs.BackgroundHandler(buffer)
    logger = logging.getLogger(f"zhengwu.test.{random.randrange(1 << 30)}")
    logger.propagate, logger.level = False, logging.DEBUG
    logger.addHandler(handler)
    try:
        yield logger, buffer, handler
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_the_pre_check_never_lets_a_number_through() -> None:
    """redact() skips the masking regexes for text without 11 digits in a row; on random text
    full of digit runs (ASCII and full-width) it must agree with masking unconditionally."""
    full = [(logs._ID_NUMBER, r"\1********\2"), (logs._MOBILE, r"\1****\2")]
    rng = random.Random(18)
    alphabet = "0123456789" * 6 + "１３８０" + "Xx-/ =?a:"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(8, 40)))
        expected = text
        for pattern, replacement in full:
            expected = pattern.sub(replacement, expected)
        assert logs.redact(text) == expected, text
    assert logs.redact(f"tel {PHONE} id {ID_NUMBER}") == f"tel {PHONE_MASKED} id {ID_MASKED}"
    assert logs.redact("１３８００１３８０００") == "１３８****８０００"  # full-width digits are digits too


def test_uvicorns_access_formatter_keeps_working_and_the_record_its_shape(captured) -> None:  # type: ignore[no-untyped-def]
    logger, buffer, handler = captured
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    args = ("127.0.0.1:5000", "GET", f"/api/v1/items/{ID_NUMBER}?x={PHONE}", "1.1", 404)
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)
    logger.handle(record)
    handler.close()
    assert record.args == args and record.msg == '%s - "%s %s HTTP/%s" %d'  # untouched for other handlers
    line = f'127.0.0.1:5000 - "GET /api/v1/items/{ID_MASKED}?x={PHONE_MASKED} HTTP/1.1" 404 Not Found\n'
    assert buffer.getvalue() == line


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_tracebacks_and_stacks_are_masked(captured, log_format: str) -> None:  # type: ignore[no-untyped-def]
    logger, buffer, handler = captured
    handler.setFormatter(logs.formatter(log_format))
    try:
        raise LookupError(f"no citizen with phone {PHONE} or id {ID_NUMBER}")
    except LookupError:
        logger.exception("lookup failed for %s", PHONE, stack_info=True)
    handler.close()
    out = buffer.getvalue()
    assert PHONE not in out and ID_NUMBER not in out
    if log_format == "json":
        (line,) = out.splitlines()  # the traceback and the stack stay on the one line
        event = json.loads(line)
        assert event["message"] == f"lookup failed for {PHONE_MASKED}" and event["level"] == "ERROR"
        assert f"LookupError: no citizen with phone {PHONE_MASKED} or id {ID_MASKED}" in event["exception"]
        assert "Stack (most recent call last)" in event["stack"]
    else:
        assert f"lookup failed for {PHONE_MASKED}" in out and f"or id {ID_MASKED}" in out
        assert "Traceback (most recent call last)" in out and "Stack (most recent call last)" in out


def test_json_lines_carry_the_request_fields(captured) -> None:  # type: ignore[no-untyped-def]
    logger, buffer, handler = captured
    handler.setFormatter(logs.JsonFormatter())
    token = logs.request_id.set("rid-1")
    try:
        logger.info("two\nlines and %s", PHONE)
        logger.info("a request", extra={"route": "/api/v1/items/{code}", "status": 200, "duration_ms": 1.234})
    finally:
        logs.request_id.reset(token)
    logger.warning("outside a request")
    handler.close()
    first, second, third = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert first["message"] == f"two\nlines and {PHONE_MASKED}" and first["request_id"] == "rid-1"
    assert set(first) == {"time", "level", "logger", "message", "request_id"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"]) and first["logger"] == logger.name
    assert second["route"] == "/api/v1/items/{code}" and second["status"] == 200 and second["duration_ms"] == 1.234
    assert third["request_id"] is None and third["level"] == "WARNING"


def test_closing_writes_every_queued_line(captured) -> None:  # type: ignore[no-untyped-def]
    logger, buffer, handler = captured
    for i in range(5000):
        logger.info("line %d of a burst", i)
    handler.close()
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 5000 and lines[-1].endswith("line 4999 of a burst")
    logger.info("after close")  # logging reconfigured under a live logger: written at once, not lost
    assert buffer.getvalue().endswith("after close\n")


def test_logging_error_reports_are_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    # Made here, not in a fixture: pytest attaches its own (raising) capture handler to every
    # non-propagating logger that exists when the test starts.
    handler = logs.BackgroundHandler(io.StringIO())
    logger = logging.getLogger("zhengwu.test.broken")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.error("%d items", PHONE)  # a broken record: logging reports it on stderr, with its arguments
    finally:
        logger.removeHandler(handler)
        handler.close()
    report = capsys.readouterr().err
    assert "--- Logging error ---" in report and PHONE_MASKED in report and PHONE not in report


def test_handlers_installed_before_the_app_are_masked() -> None:
    buffer = io.StringIO()
    host = logging.StreamHandler(buffer)  # as uvicorn's or gunicorn's own configuration would add
    logger = logging.getLogger("zhengwu.test.host")
    logger.addHandler(host)
    try:
        logs.install_redaction()
        logs.install_redaction()  # idempotent: masked once, not wrapped twice
        logger.warning("sms to %s", PHONE)
    finally:
        logger.removeHandler(host)
    assert buffer.getvalue() == f"sms to {PHONE_MASKED}\n"


def test_request_ids_are_safe_to_log_and_echo() -> None:
    ids = {new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000 and all(SAFE_ID.fullmatch(i) and not logs.holds_personal_number(i) for i in ids)
    assert accepted_request_id("edge-7f3a.2_b") == "edge-7f3a.2_b"
    for bad in ["", "a b", "x" * 65, "<script>", "id\r\nSet-Cookie: x", PHONE, f"req-{ID_NUMBER}"]:
        assert accepted_request_id(bad) is None, bad


def test_forked_workers_draw_their_own_request_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()  # as a server forking workers from a master that imported the app
    if pid == 0:
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert SAFE_ID.fullmatch(child) and child.split("-")[0] != new_request_id().split("-")[0]


async def test_every_response_names_its_request_id(client: httpx.AsyncClient) -> None:
    ok = await client.get("/api/v1/health", headers={"X-Request-ID": "chosen-by-client"})
    assert SAFE_ID.fullmatch(ok.headers["x-request-id"]) and ok.headers["x-request-id"] != "chosen-by-client"
    for path in ["/api/v1/items/NO-SUCH-ITEM", "/api/v1/no-such-route", "/api/v1/items?limit=0"]:
        r = await client.get(path)
        assert r.status_code in {400, 404}, path
        assert r.json()["request_id"] == r.headers["x-request-id"], path
    first, second = (await client.get("/api/v1/regions")), (await client.get("/api/v1/regions"))
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_the_access_record_is_masked_where_it_is_made(app: Litestar, caplog: pytest.LogCaptureFixture) -> None:
    """The access line's free-form parts (path, query, a forwarded client address) are masked once,
    when the record is made, so the formatters need not scan the finished line."""
    transport = httpx.ASGITransport(app=app, client=(PHONE, 5000))  # as a misconfigured proxy could forward
    caplog.set_level(logging.INFO, "zhengwu.access")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        r = await c.get(f"/api/v1/items/{ID_NUMBER}", params={"tel": PHONE, "x": "a\nforged line"})
    (record,) = [rec for rec in caplog.records if rec.name == "zhengwu.access"]
    assert record.path == f"/api/v1/items/{ID_MASKED}?tel={PHONE_MASKED}&x=a\\x0aforged+line"
    assert record.client == f"{PHONE_MASKED}:5000" and record.status == 404 and record.redacted
    assert record.route == "/api/v1/items/{code}" and record.request_id == r.headers["x-request-id"]
    line = logs.TextFormatter().format(record)
    assert "\n" not in line and PHONE not in line and ID_NUMBER not in line and line.endswith(f"[{record.request_id}]")


async def test_a_trusted_proxys_request_id_is_kept_when_safe(app: Litestar, tmp_path: Path) -> None:
    settings = make_settings(app.state.settings.database_url, tmp_path, trust_request_id=True)
    transport = httpx.ASGITransport(app=create_app(settings, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        r = await c.get("/api/v1/items/NO-SUCH-ITEM", headers={"X-Request-ID": "nginx-0af3.1_x"})
        assert r.headers["x-request-id"] == "nginx-0af3.1_x" and r.json()["request_id"] == "nginx-0af3.1_x"
        for bad in ["a b", "x" * 65, PHONE]:
            r = await c.get("/api/v1/health", headers={"X-Request-ID": bad})
            assert r.headers["x-request-id"] != bad and SAFE_ID.fullmatch(r.headers["x-request-id"])


# ------------------------------------------------------------------- the real `zhengwu serve`


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var = tmp_path_factory.mktemp("serve-logs")
    env = sqlite_env(var)
    for args in (["migrate"], ["seed", "--demo"]):
        done = zhengwu(*args, env=env)
        assert done.returncode == 0, done.stderr
    return var


def _requests(base: str, phone: str) -> list[httpx.Response]:
    """Numbers in a path, percent-encoded in a path, in query parameters of any name, in bodies
    that fail validation, in error texts (the missing-parameter 400 quotes the URL), and stored
    by sign-in with ``phone`` (the database driver's debug log shows its parameters; each test
    signs in with its own phone, as the database remembers when a code was last sent)."""
    encoded = "".join(f"%{ord(c):02X}" for c in ID_NUMBER)
    with httpx.Client(base_url=base, timeout=30) as c:
        code = c.get("/api/v1/items", params={"limit": 1}).json()["items"][0]["code"]
        sent = [
            c.get(f"/api/v1/items/{PHONE}"),
            c.get(f"/api/v1/items/{ID_NUMBER}"),
            c.get(f"/api/v1/items/{encoded}"),
            c.get(f"/api/v1/no-such-route/{ID_NUMBER}"),
            c.get("/api/v1/items", params={"q": PHONE}),
            c.get("/api/v1/items", params={"anything": ID_NUMBER, "q": "营业"}),
            c.get(f"/api/v1/dev/sms?x={PHONE}"),
            c.get(f"/api/v1/items/{code}?%70hone={PHONE}"),
            c.post(f"/api/v1/items/{code}/material-list", json={"answers": PHONE, "id_number": ID_NUMBER}),
            c.post("/api/v1/auth/otp", json={"phone": f"{phone}x"}),
            c.post("/api/v1/auth/otp", json={"phone": phone}),
        ]
        sms = c.get("/api/v1/dev/sms", params={"phone": phone})
        sent.append(sms)
        sent.append(c.post("/api/v1/auth/token", json={"phone": phone, "code": sms.json()["codes"][0]}))
    statuses = [r.status_code for r in sent]
    assert statuses == [404, 404, 404, 404, 200, 200, 400, 200, 400, 400, 202, 200, 200], statuses
    return sent


def test_serve_logs_every_request_and_never_a_personal_number(seeded: Path, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"  # the server's stdout and stderr
    with running_server(sqlite_env(seeded, ZHENGWU_LOG_LEVEL="debug"), log) as base:
        sent = _requests(base, PHONE)
    # running_server stopped it with SIGTERM and waited: every line must be there now.
    out = log.read_text()
    assert "Logging error" not in out
    assert PHONE not in out and ID_NUMBER not in out
    access = [line for line in out.splitlines() if " zhengwu.access " in line]
    for r in sent:
        rid = r.headers["x-request-id"]
        (line,) = [a for a in access if a.endswith(f"[{rid}]")]
        assert f'"{r.request.method} ' in line and f'" {r.status_code} ' in line
    assert f"GET /api/v1/items/{ID_MASKED} HTTP/1.1" in out and f"/api/v1/items?q={PHONE_MASKED}" in out
    driver = [line for line in out.splitlines() if " tortoise.db_client " in line]
    assert any(PHONE_MASKED in line for line in driver)  # the driver's debug lines show the phone masked
    assert "Finished server process" in out  # the last line before the SIGTERM'd process died


def test_serve_writes_json_lines(seeded: Path, tmp_path: Path) -> None:
    pwa = tmp_path / "pwa"
    pwa.mkdir()
    (pwa / "index.html").write_text("<!doctype html><title>zw</title>")
    log = tmp_path / "serve.log"
    env = sqlite_env(seeded, ZHENGWU_LOG_FORMAT="json", ZHENGWU_PWA_DIST=str(pwa))
    with running_server(env, log) as base:
        sent = _requests(base, "13900139000")
    events = [json.loads(line) for line in log.read_text().splitlines()]  # every line is one object
    assert all({"time", "level", "logger", "message", "request_id"} <= set(e) for e in events)
    access = {e["request_id"]: e for e in events if e["logger"] == "zhengwu.access"}
    for r in sent:
        event = access[r.headers["x-request-id"]]
        assert event["status"] == r.status_code and event["method"] == r.request.method
        assert isinstance(event["duration_ms"], float) and event["level"] == "INFO"
        if r.status_code >= 400:
            assert r.json()["request_id"] == r.headers["x-request-id"]
    guide = access[sent[7].headers["x-request-id"]]
    assert guide["route"] == "/api/v1/items/{code}" and guide["path"].endswith(f"?phone={PHONE_MASKED}")
    out = log.read_text()
    assert PHONE not in out and "13900139000" not in out and ID_NUMBER not in out
