"""Web Push: VAPID keys (RFC 8292), checking a browser's subscription before it is kept, and sending
with pywebpush's ``webpush_async`` (aes128gcm, RFC 8291) through a client that can reach only
public addresses.

Nothing a citizen sends may make the server call an address of the operator's network: an
endpoint must be ``https`` on a host whose every address is public (checked when it is subscribed
and again, by the connector's resolver, on every connection: a DNS answer that changes later is
caught too), redirects are not followed, and literal IP endpoints are checked each send. Origins
the operator lists in ``ZHENGWU_PUSH_ALLOW_ORIGINS`` (a test push service, a private relay) are
the only exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

from api.core.errors import RuleViolation

#: RFC 8291 §4 / RFC 8030 §7.2: push services accept 4096 bytes of encrypted body, which leaves
#: this much plaintext after the aes128gcm header (86), tag (16) and padding delimiter (1).
MAX_PAYLOAD = 3993
#: How long a push service keeps a message for an offline phone (seconds).
TTL = 2 * 24 * 3600
SEND_TIMEOUT = 10.0
RESOLVE_TIMEOUT = 3.0


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def application_server_key(private_key: str) -> str:
    """The public key browsers subscribe with (``applicationServerKey``): the uncompressed P-256 point."""
    public = Vapid02.from_raw(private_key.encode()).public_key
    return b64url(public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def generate_keys() -> tuple[str, str]:
    """(private, public) for ``zhengwu vapid-keys``: the raw base64url private key and its public key."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    return private, application_server_key(private)


# --------------------------------------------------------------------------- which addresses


def public_address(text: str) -> bool:
    """Whether an IP address is on the public Internet (not loopback, private, link-local, shared,
    reserved, multicast, or an IPv4 one of those written as IPv6)."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local)


def _origin(scheme: str, host: str, port: int | None) -> str:
    default = {"https": 443, "http": 80}.get(scheme)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port and port != default else "")


class BadSubscription(RuleViolation):
    def __init__(self, message: str, detail: str, field: str = "endpoint") -> None:
        super().__init__(message, detail, field)


@dataclass(frozen=True, slots=True)
class CheckedEndpoint:
    endpoint: str
    origin: str
    host: str
    port: int


def parse_endpoint(endpoint: Any, allowed: frozenset[str]) -> CheckedEndpoint:
    """The form of an endpoint, without resolving it: https (or an allowed origin), a host, no
    credentials, at most 1024 characters."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 1024:
        raise BadSubscription("推送订阅地址无效", "endpoint must be a URL of at most 1024 characters")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise BadSubscription("推送订阅地址无效", "endpoint is not a URL") from None
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None or any(c.isspace() for c in endpoint):
        raise BadSubscription("推送订阅地址无效", "endpoint needs a host and no credentials")
    origin = _origin(parts.scheme, host, port)
    if origin not in allowed and parts.scheme != "https":
        raise BadSubscription("推送订阅地址必须使用 HTTPS", "endpoint must be https")
    return CheckedEndpoint(endpoint, origin, host, port or (443 if parts.scheme == "https" else 80))


async def check_endpoint(endpoint: Any, allowed: frozenset[str]) -> CheckedEndpoint:
    """``parse_endpoint``, then resolve the host: every address must be public (or the origin
    allowed). A host that does not resolve is refused too: the browser's push service always does."""
    checked = parse_endpoint(endpoint, allowed)
    if checked.origin in allowed:
        return checked
    try:
        ipaddress.ip_address(checked.host)
        addresses = [checked.host]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(checked.host, checked.port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT)
        except (OSError, TimeoutError, UnicodeError):
            raise BadSubscription("推送服务地址无法解析", f"cannot resolve {checked.host}") from None
        addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(public_address(a) for a in addresses):
        raise BadSubscription("推送订阅地址不能指向内部网络", "endpoint must be on a public address")
    return checked


def check_keys(keys: Any) -> tuple[str, str]:
    """(p256dh, auth) when they are a P-256 public point and a 16-byte secret, in base64url."""
    if not isinstance(keys, dict):
        raise BadSubscription("推送订阅缺少密钥", "keys must hold p256dh and auth", "keys")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    try:
        point = b64url_decode(p256dh) if isinstance(p256dh, str) and len(p256dh) <= 100 else b""
        secret = b64url_decode(auth) if isinstance(auth, str) and len(auth) <= 32 else b""
        if len(point) != 65:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError):
        raise BadSubscription("推送订阅的密钥无效", "keys.p256dh must be an uncompressed P-256 point",
                              "keys.p256dh") from None
    if len(secret) != 16:
        raise BadSubscription("推送订阅的密钥无效", "keys.auth must be 16 bytes", "keys.auth")
    return b64url(point), b64url(secret)


# --------------------------------------------------------------------------- sending


class PublicOnlyResolver(AbstractResolver):
    """Resolves like the system, and refuses a host with any address that is not public, unless
    its (host, port) is an allowed origin's."""

    def __init__(self, allowed: frozenset[tuple[str, int]]) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allowed = allowed

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if (host.lower(), port) not in self._allowed and not all(public_address(r["host"]) for r in found):
            # errno and text: aiohttp shows the text (strerror) in the error it raises
            raise OSError(errno.EACCES, f"{host} resolves to an address that is not public")
        return found

    async def close(self) -> None:
        await self._inner.close()


class _NoRedirects:
    """What pywebpush needs of a session (``post``), never following a redirect: a push service
    has no reason to send one, and following it could lead inside the operator's network."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def post(self, url: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self._session.post(url, allow_redirects=False, **kwargs)


@dataclass(frozen=True, slots=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class Sent:
    """A push service's answer: ``status`` (0 = no answer: refused, timed out, unreachable)."""

    status: int
    retry_after: float | None = None  # seconds, from a 429's or 503's Retry-After
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:  # RFC 8030 §7.3: the subscription expired or was unsubscribed
        return self.status in (404, 410)


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def fit_payload(title: str, body: str, url: str, tag: str, notification_id: int) -> bytes:
    """The JSON a service worker shows (title, body, url, tag, id), the body shortened until it
    fits in MAX_PAYLOAD bytes; the full text waits in the message centre."""
    def encode(text: str) -> bytes:
        return msgspec.json.encode({"title": title, "body": text, "url": url, "tag": tag, "id": notification_id})

    raw = encode(body)
    if len(raw) <= MAX_PAYLOAD:
        return raw
    cut = len(body)
    while cut > 0 and len(raw) > MAX_PAYLOAD:
        cut = max(0, cut - max(1, (len(raw) - MAX_PAYLOAD) // 3 + 1))  # CJK: 3 bytes a character
        raw = encode(body[:cut] + "…")
    return raw


class PushSender:
    """Sends Web Push messages with one VAPID key; owns an aiohttp session (one per event loop)."""

    def __init__(self, private_key: str, subject: str, allowed_origins: tuple[str, ...] = (),
                 timeout: float = SEND_TIMEOUT) -> None:
        self.vapid = Vapid02.from_raw(private_key.encode())
        self.subject = subject
        self.allowed = frozenset(allowed_origins)
        hosts = set()
        for origin in allowed_origins:
            parts = urlsplit(origin)
            hosts.add(((parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)))
        self._allowed_hosts = frozenset(hosts)
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver(self._allowed_hosts), limit=100,
                                             ttl_dns_cache=60)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def send(self, target: PushTarget, payload: bytes, *, urgency: str, topic: str,
                   ttl: int = TTL) -> Sent:
        try:
            checked = parse_endpoint(target.endpoint, self.allowed)
            ipaddress.ip_address(checked.host)
            literal = True
        except BadSubscription as exc:
            return Sent(0, error=f"endpoint refused: {exc.detail}")
        except ValueError:
            literal = False
        if literal and checked.origin not in self.allowed and not public_address(checked.host):
            return Sent(0, error="endpoint refused: not a public address")
        try:
            response = await webpush_async(
                {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}},
                data=payload.decode(), vapid_private_key=self.vapid,
                # A fresh dict for every send: pywebpush writes `aud` (the endpoint's origin) and `exp`
                # into it, and a reused one would carry one push service's audience to another.
                vapid_claims={"sub": self.subject},
                ttl=ttl, timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Urgency": urgency, "Topic": topic},
                aiohttp_session=_NoRedirects(self._client()),  # type: ignore[arg-type]
            )
        except WebPushException as exc:
            status = exc.status_code or 0
            retry = retry_after_seconds(exc.retry_after) if status in (429, 503) else None
            return Sent(status, retry, f"push service answered {status}" if status else str(exc.message)[:200])
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return Sent(0, error=f"{type(exc).__name__}: {str(exc)[:200]}")
        status = response.status  # type: ignore[union-attr]
        if 300 <= status < 400:  # a redirect, not followed
            return Sent(status, error=f"push service redirected ({status})")
        return Sent(status)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
