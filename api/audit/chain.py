"""The audit chains and their hash: what one entry's ``hash`` is computed over, exactly. Pure (no ORM).

The trail is ``CHAINS`` independent hash chains, numbered 1 … ``CHAINS``, so that writers of
unrelated changes do not queue behind one another (each chain has its own head row, which its
writers lock). Every entry belongs to one chain (its ``chain`` column): the chain of the first
entry its transaction wrote, which is ``chain_of(target_type, target_code)`` of that entry's
target — so every entry of one transaction is in one chain, and a transaction locks one head.
Within its chain an entry has its position ``seq`` (1, 2, 3 …) and carries ``prev_hash`` (the
``hash`` of the entry before it in that chain, or ``GENESIS`` for the chain's first) and
``hash``, the SHA-256 (lower-case hex) of the UTF-8 bytes of

    JCS({"seq": …, "at": …, "actor": …, "role": …, "action": …, "target_type": …,
         "target_code": …, "before": …, "after": …, "client": …, "prev_hash": …})

where JCS is the JSON Canonicalization Scheme of RFC 8785 (keys sorted by UTF-16 code units at
every level, no whitespace, strings escaped minimally, numbers written as ECMAScript writes them:
``1.0`` is ``1``) and

* ``seq`` is the entry's position in its chain (1, 2, 3 …; an integer);
* ``at`` is the time in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fraction digits);
* ``before`` / ``after`` are the JSON values stored in those columns (``null`` when absent),
  every number taken as the IEEE double JCS defines numbers as (an integer beyond ±(2^53 − 1)
  as the double nearest to it);
* the other fields are the strings stored in the columns of the same name.

The chain number itself is not hashed, and need not be: an entry moved to another chain (its
``chain`` changed) breaks the links of both. Entries written before there were several chains
(migration 0014) form the beginning of chain 1, unchanged.

Anyone holding a copy of the table can check it with any RFC 8785 implementation and SHA-256,
walking each chain in ``seq`` order.

Why these values survive a round trip through both databases: ``at`` is formatted from the
stored timestamp, which keeps microseconds on both (PostgreSQL ``timestamptz``; SQLite text);
JSONB (PostgreSQL) reorders keys and rewrites numbers (``1e20`` → ``100000000000000000000``,
``-0.0`` → ``0``), but JCS sorts keys and writes a number by its value as a double, so the
stored value hashes alike before and after. Integers beyond ±(2^53 − 1), which JSON readers (the PWA's
among them) cannot hold exactly and JCS refuses, are recorded as their decimal text
(``services.record``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from typing import Any

import rfc8785

GENESIS = "0" * 64  # the prev_hash of each chain's first entry
#: How many chains there are (alembic/versions/0022_queue_scale.py creates their head rows).
CHAINS = 64
SAFE_INTEGER = 2**53 - 1  # RFC 8785 §3.2.2.3 / I-JSON (RFC 7493): integers JSON holds exactly


def timestamp(at: dt.datetime) -> str:
    """``at`` as the chain writes it: UTC, microseconds, ``Z``."""
    if at.tzinfo is None:
        raise ValueError("audit times are timezone-aware")
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    *, seq: int, at: dt.datetime, actor: str, role: str, action: str, target_type: str, target_code: str,
    before: Any, after: Any, client: str, prev_hash: str,
) -> bytes:
    """The bytes an entry's hash is computed over (RFC 8785; see the module's docstring)."""
    return rfc8785.dumps({
        "seq": seq, "at": timestamp(at), "actor": actor, "role": role, "action": action,
        "target_type": target_type, "target_code": target_code, "before": _doubles(before), "after": _doubles(after),
        "client": client, "prev_hash": prev_hash,
    })


def _doubles(value: Any) -> Any:
    # JSON numbers are IEEE doubles to JCS. An integer beyond ±(2^53 − 1) read back from the
    # database was a float when written (record() stores larger integers as text): JSONB gives
    # 1e20 back as 100000000000000000000, whose nearest double is that float again.
    if isinstance(value, int) and not isinstance(value, bool) and not -SAFE_INTEGER <= value <= SAFE_INTEGER:
        return float(value)
    if isinstance(value, dict):
        return {k: _doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_doubles(v) for v in value]
    return value


def chain_of(target_type: str, target_code: str) -> int:
    """The chain (1 … ``CHAINS``) a transaction whose first entry is about this target writes to:
    stable across processes and releases (CRC-32 of the UTF-8 ``type:code``), so that one
    target's entries are normally in one chain, in the order they were written."""
    return 1 + zlib.crc32(f"{target_type}:{target_code}".encode()) % CHAINS


def entry_hash(**fields: Any) -> str:
    """SHA-256 hex of ``canonical(**fields)``."""
    return hashlib.sha256(canonical(**fields)).hexdigest()


def safe_json(value: Any) -> Any:
    """A JSON value JCS can write: integers beyond ±(2^53 − 1) become their decimal text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -SAFE_INTEGER <= value <= SAFE_INTEGER else str(value)
    if isinstance(value, dict):
        return {k: safe_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [safe_json(v) for v in value]
    return value
