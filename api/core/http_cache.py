"""Conditional requests (RFC 9110 §13.1.2): does an ``If-None-Match`` field match an entity tag?"""

from __future__ import annotations

import re

# One list member: an optional weakness prefix and a quoted opaque tag, then a comma or the end.
_MEMBER = re.compile(r'[\s,]*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|$)')


def etag_matches(if_none_match: str, etag: str) -> bool:
    """True if the field names ``etag`` or is ``*``. If-None-Match uses the weak comparison, so
    ``W/"x"`` matches ``"x"``; a malformed field matches nothing (the full answer is sent)."""
    field = if_none_match.strip()
    if field == "*":
        return True
    opaque = etag.removeprefix("W/")
    pos, end = 0, len(field)
    while pos < end:
        member = _MEMBER.match(field, pos)
        if member is None:
            return False
        if member.group(1) == opaque:
            return True
        pos = member.end()
    return False
