"""Sending text messages: sign-in codes, and notifications for citizens whose phone takes no push
(api/notifications). Development writes them to the log (phone masked) and to an in-memory inbox
read by ``GET /api/v1/dev/sms``; production plugs a real SMS gateway into ``SmsSender``."""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

from api.core.settings import Settings
from api.identity.ids import mask_phone

log = logging.getLogger("zhengwu.sms")


class SmsUnconfigured(RuntimeError):
    """No gateway to send through: the notification waits (it is not the message's fault)."""


class SmsSender(Protocol):
    async def send_code(self, phone: str, code: str) -> None: ...

    async def send_text(self, phone: str, text: str) -> None: ...


class DevelopmentSender:
    """Keeps the last messages per process (development runs one worker)."""

    def __init__(self, keep: int = 200) -> None:
        self.inbox: deque[tuple[str, str]] = deque(maxlen=keep)
        self.texts: deque[tuple[str, str]] = deque(maxlen=keep)

    async def send_code(self, phone: str, code: str) -> None:
        self.inbox.append((phone, code))
        log.warning("development SMS to %s: 您的验证码是 %s，5 分钟内有效。", mask_phone(phone), code)

    async def send_text(self, phone: str, text: str) -> None:
        self.texts.append((phone, text))
        log.info("development SMS to %s: %s", mask_phone(phone), text)

    def messages(self, phone: str) -> list[str]:
        return [code for p, code in reversed(self.inbox) if p == phone]

    def texts_to(self, phone: str) -> list[str]:
        """The notifications sent to a phone, newest first."""
        return [text for p, text in reversed(self.texts) if p == phone]


class UnconfiguredSender:
    """Production without a gateway: refuse clearly rather than pretend to send."""

    async def send_code(self, phone: str, code: str) -> None:
        raise RuntimeError("no SMS gateway is configured for production")

    async def send_text(self, phone: str, text: str) -> None:
        raise SmsUnconfigured("no SMS gateway is configured for production")


def sms_sender(settings: Settings) -> SmsSender:
    """The sender a process uses: none configured in production (messages wait, said once in the
    log), the development inbox otherwise."""
    return UnconfiguredSender() if settings.production else DevelopmentSender()
