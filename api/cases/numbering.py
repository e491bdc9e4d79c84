"""Case numbers and query codes: pure calculations (no ORM, no HTTP). Due dates are the working-day
clock's (``api.workflow.deadlines``).

A case number is ``RRRRRR`` (6-digit region code) + ``YYYYMMDD`` (the day in China, UTC+8) +
``NNNNNN`` (the day's sequence in that region, from the ``case_counter`` row); 20 digits.

The query code (查询码) is 6 digits the applicant needs, with the number, to track a case without
signing in. The database keeps only a keyed hash of number + code (so a leaked table does not reveal
codes without the server key) and a random salt from which the server re-derives the code for the
applicant's own receipt: both need the secret key, so a rotation of ``ZHENGWU_SECRET_KEY`` makes old
receipts show a new code — keep the old key in the environment until the workflow issue adds a
key id to the case if that matters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from api.workflow.deadlines import china_day

NUMBER_RE = re.compile(r"\d{20}")
CODE_RE = re.compile(r"\d{6}")
MAX_SEQUENCE = 999_999
__all__ = ["CODE_RE", "MAX_SEQUENCE", "NUMBER_RE", "case_number", "china_day", "query_code", "query_code_hash"]


def case_number(region: str, day: dt.date, sequence: int) -> str:
    if not (len(region) == 6 and region.isdigit()):
        raise ValueError(f"region must be 6 digits, not {region!r}")
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence out of range: {sequence}")
    return f"{region}{day:%Y%m%d}{sequence:06d}"


def query_code(secret: str, number: str, salt: str) -> str:
    digest = hmac.new(secret.encode(), f"query-code:{number}:{salt}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def query_code_hash(secret: str, number: str, code: str) -> str:
    return hmac.new(secret.encode(), f"query-hash:{number}:{code}".encode(), hashlib.sha256).hexdigest()
