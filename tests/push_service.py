"""A real Web Push service for tests (RFC 8030), on 127.0.0.1.

It does what a browser vendor's push service does with a message, as far as a sender can tell:
checks the VAPID authorisation (RFC 8292: ``vapid t=JWT, k=key``; the key must be the one the
subscription was made with, the JWT an ES256 token whose ``aud`` is this service's origin, whose
``exp`` is in the future but at most 24 hours away, and whose ``sub`` is a mailto: or https: URL),
requires ``TTL`` and ``Content-Encoding: aes128gcm``, refuses bodies over 4096 bytes (413), and
decrypts the body (RFC 8291) with ``http_ece`` using the subscription's private key, as the
browser would. Each device answers on demand: 201 (kept), 404, 410, 413, 429 with Retry-After (a
given number of times), or holds the request until released (to kill a sender mid-batch).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

MAX_BODY = 4096


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A browser's subscription: what it sends the application server, and its private half."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    server_key: str  # the applicationServerKey it subscribed with
    answer: int = 201  # what the service answers for it
    throttle: int = 0  # this many 429s first (Retry-After: retry_after)
    retry_after: str = "1"
    hold: asyncio.Event | None = None  # requests wait for it (and are recorded on arrival)

    @property
    def keys(self) -> dict[str, str]:
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        return {"p256dh": _b64(point), "auth": _b64(self.auth)}

    def subscription(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``, as the PWA posts it."""
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": self.keys}


@dataclass(frozen=True)
class Received:
    token: str
    payload: dict[str, Any]
    urgency: str | None
    topic: str | None
    ttl: int
    at: float  # time.time() on arrival


@dataclass
class PushService:
    host: str = "127.0.0.1"
    port: int = 0
    devices: dict[str, Device] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (status, why) of bad requests
    answered: dict[int, int] = field(default_factory=dict)  # status → count
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> PushService:
        app = web.Application(client_max_size=MAX_BODY * 4)
        app.router.add_post("/push/{token}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._changed = asyncio.Condition()
        return self

    async def stop(self) -> None:
        for device in self.devices.values():
            if device.hold is not None:
                device.hold.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def device(self, server_key: str, **behaviour: Any) -> Device:
        token = secrets.token_urlsafe(12)
        d = Device(token, f"{self.origin}/push/{token}", ec.generate_private_key(ec.SECP256R1()),
                   secrets.token_bytes(16), server_key, **behaviour)
        self.devices[token] = d
        return d

    def to(self, device: Device) -> list[Received]:
        return [r for r in self.received if r.token == device.token]

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 30.0) -> None:
        """Until ``condition()`` holds after some request, or fail after ``seconds``."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), seconds)

    async def _note(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    def _refuse(self, status: int, why: str) -> web.Response:
        self.refused.append((status, why))
        self.answered[status] = self.answered.get(status, 0) + 1
        return web.Response(status=status, text=why)

    def _check_vapid(self, header: str, device: Device) -> str | None:
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            return f"authorization scheme {scheme!r}, not vapid"
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        if key != device.server_key:
            return "k is not the key this subscription was made with"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
        try:
            claims = jwt.decode(token, public, algorithms=["ES256"], audience=self.origin,
                                options={"require": ["aud", "exp", "sub"]})
        except jwt.PyJWTError as exc:
            return f"bad JWT: {exc}"
        if claims["exp"] > time.time() + 24 * 3600:
            return "exp more than 24 hours ahead"
        sub = str(claims["sub"])
        if not (sub.startswith("mailto:") and "@" in sub) and not sub.startswith("https://"):
            return f"sub {sub!r} is neither mailto: nor https:"
        return None

    async def _push(self, request: web.Request) -> web.Response:
        device = self.devices.get(request.match_info["token"])
        if device is None:
            return self._refuse(404, "no such subscription")
        why = self._check_vapid(request.headers.get("Authorization", ""), device)
        if why:
            return self._refuse(403, why)
        if "TTL" not in request.headers:
            return self._refuse(400, "TTL header missing")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self._refuse(415, "Content-Encoding must be aes128gcm")
        body = await request.read()
        if len(body) > MAX_BODY:
            return self._refuse(413, "payload too large")
        if device.answer in (404, 410, 413):
            self.answered[device.answer] = self.answered.get(device.answer, 0) + 1
            return web.Response(status=device.answer)
        if device.throttle > 0:
            device.throttle -= 1
            self.answered[429] = self.answered.get(429, 0) + 1
            await self._note()
            return web.Response(status=429, headers={"Retry-After": device.retry_after})
        try:
            plain = http_ece.decrypt(body, private_key=device.private_key, auth_secret=device.auth,
                                     version="aes128gcm")
        except Exception as exc:
            return self._refuse(400, f"cannot decrypt: {exc}")
        self.received.append(Received(device.token, json.loads(plain), request.headers.get("Urgency"),
                                      request.headers.get("Topic"), int(request.headers["TTL"]), time.time()))
        await self._note()
        if device.hold is not None:
            await device.hold.wait()
        self.answered[device.answer] = self.answered.get(device.answer, 0) + 1
        return web.Response(status=device.answer, headers={"Location": f"{self.origin}/message/{len(self.received)}"})
