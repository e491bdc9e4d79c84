"""Signing in through the real endpoints, for tests."""

from __future__ import annotations

import itertools

import httpx
from litestar import Litestar

from api.identity.models import Staff
from api.identity.services import create_staff

_phones = itertools.count(13800000000 + 1000)
STAFF_PASSWORD = "Staff-pass-2026"


def new_phone() -> str:
    return str(next(_phones))


async def citizen_tokens(client: httpx.AsyncClient, app: Litestar, phone: str | None = None) -> dict:
    """Sign a citizen in from their own phone (its own client address: the per-address hourly
    limit on codes is real and would otherwise be hit by a test suite's worth of sign-ins)."""
    phone = phone or new_phone()
    address = f"10.{int(phone[-6:-4])}.{int(phone[-4:-2])}.{int(phone[-2:])}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as own:
        r = await own.post("/api/v1/auth/otp", json={"phone": phone})
        assert r.status_code == 202, r.text
    code = app.state.otp.sender.messages(phone)[0]
    r = await client.post("/api/v1/auth/token", json={"phone": phone, "code": code})
    assert r.status_code == 200, r.text
    return {**r.json(), "phone": phone}


async def staff_tokens(
    client: httpx.AsyncClient, role: str, department: str = "", window: str = "", username: str | None = None
) -> dict:
    username = username or f"{role}-{department or window or 'x'}-{new_phone()}"
    if not await Staff.exists(username=username):
        await create_staff(username, STAFF_PASSWORD, role, department=department, window=window)
    r = await client.post("/api/v1/auth/staff/token", json={"username": username, "password": STAFF_PASSWORD})
    assert r.status_code == 200, r.text
    return {**r.json(), "username": username}


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
