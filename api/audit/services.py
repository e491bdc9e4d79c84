"""Writing, reading and verifying the audit trail.

``record`` takes the caller's transaction connection on purpose: an audit entry is written in
the same transaction as the change it describes, so there is never a change without its entry
(nor an entry for a change that was rolled back).
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass
from typing import Any

import msgspec
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from api.audit.chain import CHAINS, GENESIS, chain_of, entry_hash, safe_json
from api.audit.models import AuditChainHead, AuditEntry
from api.core import caller
from api.core.errors import InvalidInput


def _full(value: Any) -> Any:
    # Every field, defaults included (structs may omit them when encoded): an auditor reading
    # "before" must see that a phone number was empty, not wonder whether it was recorded.
    if isinstance(value, msgspec.Struct):
        return {f: _full(getattr(value, f)) for f in value.__struct_fields__}
    if isinstance(value, dict):
        return {k: _full(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_full(v) for v in value]
    return value


def _json(value: Any) -> Any:
    # Datetimes and tuples become plain JSON values that both databases store alike, and that
    # hash alike when read back (api/audit/chain.py).
    return None if value is None else safe_json(msgspec.json.decode(msgspec.json.encode(_full(value))))


async def _role_of(actor: str, who: caller.Caller | None, conn: BaseDBAsyncClient) -> str:
    if who is not None and who.subject == actor and who.role:
        return who.role  # the request's principal, as the guard authenticated it
    kind, _, raw = actor.partition(":")
    if actor == "system" or kind == "citizen":
        return kind
    if kind == "staff" and raw.isascii() and raw.isdigit():
        # Outside a request (CLI, tests): the account's role now. Staff is identity's model, above
        # audit; Tortoise knows it by name (as identity's own check_assignment does for catalog).
        staff = await Tortoise.apps["models"]["Staff"].get_or_none(id=int(raw), using_db=conn)
        return staff.role if staff is not None else ""
    return ""


async def record(
    conn: BaseDBAsyncClient, actor: str, action: str, target_type: str, target_code: str,
    before: Any = None, after: Any = None, *, role: str | None = None, client: str | None = None,
) -> AuditEntry:
    """Append an entry to a chain inside the caller's transaction (``conn``).

    ``role`` defaults to the role the request's principal signed in with when ``actor`` is that
    principal (``system`` / ``citizen`` / the staff account's role otherwise); ``client`` to the
    request's client address ("" outside a request: CLI, worker).

    The chain is the one this transaction already writes to, else ``chain_of`` the target
    (api/audit/chain.py): a transaction locks one chain's head, never two, so two transactions
    never wait for each other's heads (no deadlock). The head row is updated *first*, returning
    the predecessor's ``seq`` and ``hash`` in the same statement: concurrent writers of one chain
    queue on it and each sees the head its predecessor committed, so no two entries share a
    predecessor. Writers of other chains do not wait.

    * PostgreSQL (READ COMMITTED, Tortoise's default): the UPDATE takes the row's lock, held to
      commit; a second writer's UPDATE waits, then applies to the committed row and returns it.
    * SQLite: Tortoise's ``in_transaction`` sends a plain (deferred) ``BEGIN``, not ``BEGIN
      IMMEDIATE``, but it keeps one connection per process behind an asyncio lock, so the
      transactions of one process run one at a time. Across processes (a CLI beside the server)
      SQLite has one writer at a time and is serialisable: the UPDATE takes the write lock (or
      waits for it, up to the driver's 5 s busy timeout), and a transaction whose snapshot went
      stale meanwhile fails with "database is locked" (a 503 through the API) — never a fork.

    The head stays locked from here to the commit: call ``record`` last in the transaction, and
    keep the work after it short. Two statements on PostgreSQL (the entry and the new head in
    one), three on SQLite.
    """
    who = caller.current()
    if role is None:
        role = await _role_of(actor, who, conn)
    if client is None:
        client = who.client if who is not None else ""
    before, after = _json(before), _json(after)
    transaction = _outermost(conn)
    chain = _chains.get(transaction) if transaction is not None else None
    if chain is None:
        chain = chain_of(target_type, target_code)
        if transaction is not None:
            _chains[transaction] = chain
    dialect = conn.capabilities.dialect  # settings accept only SQLite and PostgreSQL URLs
    rows = await conn.execute_query_dict(_ADVANCE[dialect], [chain])
    if not rows:
        raise RuntimeError(f"the head row of audit chain {chain} is missing (zhengwu migrate creates it)")
    fields: dict[str, Any] = {
        "seq": int(rows[0]["seq"]), "at": dt.datetime.now(dt.UTC), "actor": actor, "role": role[:20],
        "action": action, "target_type": target_type, "target_code": target_code, "before": before, "after": after,
        "client": client[:64], "prev_hash": rows[0]["hash"],
    }
    digest = entry_hash(**fields)
    meta = AuditEntry._meta.fields_map
    values = [chain, *(meta[name].to_db_value(fields[name], AuditEntry) for name in _ENTRY_FIELDS), digest]
    if dialect == "postgres":
        done = await conn.execute_query_dict(_APPEND_POSTGRES, [*values, digest, chain])
        entry_id = int(done[0]["id"])
    else:
        entry_id = int(await conn.execute_insert(_INSERT_SQLITE, values))
        await conn.execute_query(_HEAD_SQLITE, [digest, chain])
    entry = AuditEntry(id=entry_id, chain=chain, hash=digest, **fields)
    entry._saved_in_db = True
    return entry


#: The transaction each chain number was taken by: one chain per transaction (see ``record``).
_chains: weakref.WeakKeyDictionary[BaseDBAsyncClient, int] = weakref.WeakKeyDictionary()
_ENTRY_FIELDS = ("seq", "at", "actor", "role", "action", "target_type", "target_code", "before", "after", "client",
                 "prev_hash")
_COLUMNS = ", ".join(f'"{c}"' for c in ("chain", *_ENTRY_FIELDS, "hash"))
_ADVANCE = {  # the next seq and the predecessor's hash, the head row locked
    "postgres": "UPDATE audit_chain_head SET seq = seq + 1 WHERE id = $1 RETURNING seq, hash",
    "sqlite": "UPDATE audit_chain_head SET seq = seq + 1 WHERE id = ? RETURNING seq, hash",
}
_APPEND_POSTGRES = (
    f"WITH entry AS (INSERT INTO audit_entry ({_COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, 14))}) "
    "RETURNING id) UPDATE audit_chain_head SET hash = $14 WHERE id = $15 RETURNING (SELECT id FROM entry) AS id"
)
_INSERT_SQLITE = f"INSERT INTO audit_entry ({_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_HEAD_SQLITE = "UPDATE audit_chain_head SET hash = ? WHERE id = ?"


def _outermost(conn: BaseDBAsyncClient) -> BaseDBAsyncClient | None:
    """The transaction ``conn`` belongs to (a savepoint's client has its transaction's as parent);
    None outside a transaction."""
    if not isinstance(conn, TransactionalDBClient):
        return None
    while isinstance(getattr(conn, "_parent", None), TransactionalDBClient):
        conn = conn._parent  # type: ignore[attr-defined]
    return conn


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class Break:
    """The first entry of a chain that does not verify, and why."""

    entry_id: int | None  # None: the chain's head row disagrees with its last entry (or is missing)
    chain: int
    seq: int
    problem: str  # "hash mismatch" | "previous-hash mismatch" | "sequence gap" | "head mismatch" | "unknown chain"
    detail: str


@dataclass(frozen=True, slots=True)
class Verdict:
    entries: int  # how many entries verify (in a broken chain: those before its break)
    breaks: list[Break]  # the first break of each broken chain, in chain order

    @property
    def broken(self) -> Break | None:
        return self.breaks[0] if self.breaks else None


def _fields(e: AuditEntry) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "role": e.role, "action": e.action,
            "target_type": e.target_type, "target_code": e.target_code, "before": e.before, "after": e.after,
            "client": e.client, "prev_hash": e.prev_hash}


def _recomputed(e: AuditEntry) -> str | None:
    try:
        return entry_hash(**_fields(e))
    except (ValueError, TypeError, OverflowError):  # a value edited in that no entry could hold
        return None


def _check(e: AuditEntry, seq: int, prev_hash: str) -> Break | None:
    if _recomputed(e) != e.hash:
        return Break(e.id, e.chain, e.seq, "hash mismatch", "the entry was changed after it was written")
    if e.prev_hash != prev_hash:
        what = (f"entries {seq}–{e.seq - 1} are missing before it" if e.seq > seq
                else "it does not follow the entry before it")
        return Break(e.id, e.chain, e.seq, "previous-hash mismatch", what)
    if e.seq != seq:  # linked right but numbered wrong: renumbered by hand
        return Break(e.id, e.chain, e.seq, "sequence gap", f"expected seq {seq}")
    return None


async def _walk(conn: BaseDBAsyncClient, chain: int, head: AuditChainHead | None,
                batch: int) -> tuple[int, Break | None]:
    """(entries that verify, the chain's first break) along one chain, from its first entry."""
    seq, prev_hash, count = 1, GENESIS, 0
    while True:
        rows = await AuditEntry.filter(chain=chain, seq__gte=seq).using_db(conn).order_by("seq").limit(batch)
        for e in rows:
            broken = _check(e, seq, prev_hash)
            if broken is not None:
                return count, broken
            seq, prev_hash, count = e.seq + 1, e.hash, count + 1
        if len(rows) < batch:
            break
    if head is None or (head.seq, head.hash) != (seq - 1, prev_hash):
        said = "it has no head row" if head is None else f"its head says seq {head.seq}"
        return count, Break(None, chain, seq - 1, "head mismatch",
                            f"the chain ends at seq {seq - 1} but {said}: entries removed from its end, or the "
                            "head changed by hand")
    return count, None


async def verify(batch: int = 1000) -> Verdict:
    """Walk every chain in order from its first entry, in one consistent snapshot of the table."""
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            # One snapshot for heads and entries: entries committed while we read are not half seen.
            await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        heads = {h.id: h for h in await AuditChainHead.all().using_db(conn)}
        chains = sorted(set(heads) | set(range(1, CHAINS + 1)))
        total, breaks = 0, []
        for chain in chains:
            count, broken = await _walk(conn, chain, heads.get(chain), batch)
            total += count
            if broken is not None:
                breaks.append(broken)
        stray = await AuditEntry.exclude(chain__in=chains).using_db(conn).order_by("chain", "seq").first()
        if stray is not None:  # an entry moved to a chain number that no writer uses
            breaks.append(Break(stray.id, stray.chain, stray.seq, "unknown chain",
                                f"there is no chain {stray.chain}"))
        return Verdict(total, breaks)


async def entries(
    target_type: str | None = None, target_code: str | None = None, limit: int = 50,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Newest first. Keyset pagination on the id, which rises with insertion order (``at`` may tie)."""
    query = AuditEntry.all()
    if target_type is not None:
        query = query.filter(target_type=target_type)
    if target_code is not None:
        query = query.filter(target_code=target_code)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(limit)


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[AuditEntry]
    next_cursor: str | None  # the last entry's id, when older entries remain


async def page(target_type: str | None, target_code: str | None, limit: int, cursor: str | None) -> Page:
    """``limit`` entries older than ``cursor`` (from the previous page), newest first."""
    before_id: int | None = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 10):
            raise InvalidInput("分页参数无效，请从第一页重新开始", "invalid cursor", "cursor")
        before_id = int(cursor)
    rows = await entries(target_type, target_code, limit + 1, before_id)  # one more: is there a next page?
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more and rows else None)
