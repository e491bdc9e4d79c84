"""Limits shared across processes: three real ``zhengwu serve`` processes on one PostgreSQL database
allow exactly the limit between them (sign-in codes per address and per phone, tracking per
address), not three times it. Requests are sent to the three at once, round-robin.

The client address is the one the servers are told by ``X-Forwarded-For`` (uvicorn trusts it from
127.0.0.1, as behind the deployment's proxy), so every test uses addresses of its own."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import ExitStack

import httpx
import pytest

from api.identity.services import OTP_PER_HOUR
from tests.databases import POSTGRES_URL, fresh_database
from tests.processes import running_server, sqlite_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="ZHENGWU_TEST_POSTGRES_URL is not set"),
]
TRACK_LIMIT = 30  # api/cases/controllers.py


@pytest.fixture(scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> object:
    directory = tmp_path_factory.mktemp("shared-limits")
    async with fresh_database("postgres", directory) as url:
        env = sqlite_env(directory / "var", ZHENGWU_DATABASE_URL=url, ZHENGWU_MAINTENANCE_INTERVAL="0")
        with ExitStack() as stack:
            yield [stack.enter_context(running_server(env, directory / f"serve-{i}.log")) for i in range(3)]


def _address() -> str:
    return f"2001:db8:{uuid.uuid4().hex[:4]}::{uuid.uuid4().hex[:4]}"


async def _spread(bases: list[str], count: int, method: str, path: str, address: str | None = None,
                  bodies: list[dict] | None = None, params: dict | None = None) -> list[httpx.Response]:
    """``count`` requests at once, the i-th to server i mod 3."""
    async with httpx.AsyncClient(timeout=30) as client:
        def one(i: int) -> object:
            headers = {"X-Forwarded-For": address or _address()}
            return client.request(method, bases[i % len(bases)] + path, headers=headers, params=params,
                                  json=bodies[i] if bodies else None)
        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def test_three_processes_allow_exactly_the_tracking_limit(servers: list[str]) -> None:
    address = _address()
    answers = await _spread(servers, 45, "GET", "/api/v1/track", address,
                            params={"number": "51190020000101000001", "code": "000000"})
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [404] * TRACK_LIMIT + [429] * 15  # per-process counting would allow 90
    refused = next(r for r in answers if r.status_code == 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 and refused.json()["message"] == "查询太频繁，请稍后再试"
    # Another address has its own count, on every process.
    assert {r.status_code for r in await _spread(servers, 3, "GET", "/api/v1/track", _address(),
                                                 params={"number": "x", "code": "y"})} == {404}


async def test_three_processes_send_exactly_the_hourly_codes_per_address(servers: list[str]) -> None:
    address = _address()
    phones = [f"139{uuid.uuid4().int % 10**8:08d}" for _ in range(15)]
    answers = await _spread(servers, 15, "POST", "/api/v1/auth/otp", address,
                            bodies=[{"phone": phone} for phone in phones])
    assert sorted(r.status_code for r in answers) == [202] * OTP_PER_HOUR + [429] * (15 - OTP_PER_HOUR)
    assert {r.json()["detail"] for r in answers if r.status_code == 429} == {"too many codes from this address"}


async def test_three_processes_send_one_code_per_phone_within_the_resend_gap(servers: list[str]) -> None:
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    answers = await _spread(servers, 9, "POST", "/api/v1/auth/otp", bodies=[{"phone": phone}] * 9)
    assert sorted(r.status_code for r in answers) == [202] + [429] * 8
    assert {r.json()["detail"] for r in answers if r.status_code == 429} == {"wait before requesting another code"}
