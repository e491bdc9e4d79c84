"""Sending sign-in codes. Development writes them to the log (phone masked) and to an in-memory
inbox read by ``GET /api/v1/dev/sms``; production plugs a real SMS gateway into ``SmsSender``."""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

from api.identity.ids import mask_phone

log = logging.getLogger("zhengwu.sms")


class SmsSender(Protocol):
    async def send_code(self, phone: str, code: str) -> None: ...


class DevelopmentSender:
    """Keeps the last messages per process (development runs one worker)."""

    def __init__(self, keep: int = 200) -> None:
        self.inbox: deque[tuple[str, str]] = deque(maxlen=keep)

    async def send_code(self, phone: str, code: str) -> None:
        self.inbox.append((phone, code))
        log.warning("development SMS to %s: 您的验证码是 %s，5 分钟内有效。", mask_phone(phone), code)

    def messages(self, phone: str) -> list[str]:
        return [code for p, code in reversed(self.inbox) if p == phone]


class UnconfiguredSender:
    """Production without a gateway: refuse clearly rather than pretend to send."""

    async def send_code(self, phone: str, code: str) -> None:
        raise RuntimeError("no SMS gateway is configured for production")
