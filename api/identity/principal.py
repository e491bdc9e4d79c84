"""Who is calling, as the guard resolved it from the access token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

STAFF_ROLES = ("clerk", "officer", "approver", "supervisor", "admin")
ROLES = ("citizen", *STAFF_ROLES)


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # citizen | staff
    id: int
    role: str
    department: str  # staff: their department code ("" otherwise)
    window: str  # clerks: their window code
    jti: str
    token_expires_at: dt.datetime

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.id}"
