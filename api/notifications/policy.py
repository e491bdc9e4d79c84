"""When and how hard to try: quiet hours, backoff, dead letters, the Topic of a push. Pure."""

from __future__ import annotations

import datetime as dt
import re

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
#: Channel rows (push, SMS) are tried this often before they become dead letters.
MAX_ATTEMPTS = 8
FIRST_BACKOFF = 30.0  # seconds; doubled each try
MAX_BACKOFF = 3600.0
#: How long an unconfigured SMS provider keeps messages waiting between looks (not counted as tries).
SMS_UNCONFIGURED_RETRY = 3600.0
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> dt.time:
    m = _HHMM.match(text)
    if not m:
        raise ValueError(f"not HH:MM: {text!r}")
    return dt.time(int(m.group(1)), int(m.group(2)))


def quiet_until(now: dt.datetime, start: str, end: str) -> dt.datetime | None:
    """The end of the quiet period ``now`` is in (China time), or None outside one. A period from
    22:00 to 07:00 spans midnight; start == end means none."""
    begin, finish = parse_hhmm(start), parse_hhmm(end)
    if begin == finish:
        return None
    local = now.astimezone(CHINA)
    t = local.time()
    spans_midnight = begin > finish
    inside = (t >= begin or t < finish) if spans_midnight else begin <= t < finish
    if not inside:
        return None
    end_day = local.date() + dt.timedelta(days=1) if spans_midnight and t >= begin else local.date()
    return dt.datetime.combine(end_day, finish, tzinfo=CHINA).astimezone(dt.UTC)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed try: 30 s, 1 min, 2 min … at most an hour."""
    return dt.timedelta(seconds=min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, attempts - 1)))


def topic(case_id: int | None, outbox_id: int) -> str:
    """RFC 8030 §5.4 Topic (at most 32 characters of the URL-safe base64 alphabet), used as the
    notification's tag too: a newer message about a case replaces the older one still waiting at the
    push service or shown on the phone, and a message delivered twice (at least once) shows once."""
    return f"case-{case_id}" if case_id is not None else f"n-{outbox_id}"
