"""Access tokens (PyJWT, HS256) and opaque refresh tokens.

Access tokens are short-lived JWTs validated for iss, aud, exp, nbf, iat, jti and sub with a fixed
algorithm allow-list; the ``kid`` header names the signing key so keys can rotate (previous keys
still verify until their tokens expire). Refresh tokens are random strings stored as hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

import jwt

ALGORITHMS = ["HS256"]  # never read the algorithm from the token
AUDIENCE = "zhengwu-api"
ACCESS_TTL = dt.timedelta(minutes=10)
REFRESH_TTL = dt.timedelta(days=30)
LEEWAY = dt.timedelta(seconds=30)


class TokenInvalid(Exception):
    """The token is missing, expired, tampered with, or not one of ours."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: str  # "citizen:12" | "staff:3"
    role: str  # citizen | clerk | officer | approver | supervisor | admin
    jti: str
    expires_at: dt.datetime


def _signing_key(secret: str) -> bytes:
    # Derived, so the raw secret is never used directly for two purposes.
    return hmac.new(secret.encode(), b"zhengwu access token v1", hashlib.sha256).digest()


def key_id(secret: str) -> str:
    return hashlib.sha256(_signing_key(secret)).hexdigest()[:12]


class TokenService:
    def __init__(self, secret: str, issuer: str, previous_secrets: tuple[str, ...] = ()) -> None:
        self.issuer = issuer
        self._current = (key_id(secret), _signing_key(secret))
        previous = [(key_id(s), _signing_key(s)) for s in previous_secrets]
        self._keys = dict([self._current, *previous])

    def issue_access(self, subject: str, role: str, now: dt.datetime | None = None) -> tuple[str, AccessClaims]:
        now = now or dt.datetime.now(dt.UTC)
        jti = uuid.uuid4().hex
        exp = now + ACCESS_TTL
        kid, key = self._current
        token = jwt.encode(
            {"iss": self.issuer, "aud": AUDIENCE, "sub": subject, "role": role, "iat": now, "nbf": now, "exp": exp,
             "jti": jti},
            key, algorithm="HS256", headers={"kid": kid, "typ": "at+jwt"},
        )
        return token, AccessClaims(subject, role, jti, exp)

    def verify_access(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid", ""))
            if key is None or header.get("typ") != "at+jwt":
                raise TokenInvalid("unknown key or token type")
            claims = jwt.decode(
                token, key, algorithms=ALGORITHMS, audience=AUDIENCE, issuer=self.issuer, leeway=LEEWAY,
                options={"require": ["exp", "iat", "nbf", "sub", "aud", "iss", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid(str(exc)) from None
        role = claims.get("role")
        if not isinstance(role, str):
            raise TokenInvalid("no role")
        return AccessClaims(claims["sub"], role, claims["jti"], dt.datetime.fromtimestamp(claims["exp"], dt.UTC))


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
