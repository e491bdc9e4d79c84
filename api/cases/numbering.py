"""Case numbers, query codes and promised completion dates: pure calculations (no ORM, no HTTP).

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
import functools
import hashlib
import hmac
import re

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
NUMBER_RE = re.compile(r"\d{20}")
CODE_RE = re.compile(r"\d{6}")
MAX_SEQUENCE = 999_999


def china_day(at: dt.datetime) -> dt.date:
    return at.astimezone(CHINA).date()


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


@functools.lru_cache(maxsize=1)
def _china_calendar():  # -> holidays.HolidayBase
    import holidays

    # Public holidays and the adjusted weekend workdays (调休) the State Council announces.
    return holidays.China(years=range(2020, 2040))


def is_working_day(day: dt.date) -> bool:
    return bool(_china_calendar().is_working_day(day))


def promised_date(start: dt.datetime, limit: int, unit: str) -> dt.date:
    """The day a promised limit ends. The start day itself is not counted (行政许可法 §82 style
    counting); ``working_day`` skips weekends and Chinese public holidays and counts adjusted
    weekend workdays; a limit of 0 (即办件) ends the same day."""
    day = china_day(start)
    if limit <= 0:
        return day
    if unit == "natural_day":
        return day + dt.timedelta(days=limit)
    left = limit
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day
