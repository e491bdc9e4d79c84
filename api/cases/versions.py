"""What the back office reads of a case's item version on every move and every case response — its
number and its joint departments (并联审批) — kept in memory per version.

A case is filed under a published version, and a version is immutable once published (superseding
or retiring it changes its status only), so what is kept never goes stale; a draft is never kept.
Kept per database too: one process may talk to several (the tests switch between SQLite and
PostgreSQL), and version ids are only unique within one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from api.catalog.models import ServiceItemVersion

KEPT = 4096  # versions (a city has about 6,000 items; the busy ones are what matters)


@dataclass(frozen=True, slots=True)
class VersionFacts:
    number: int
    joint_departments: tuple[str, ...]  # () for an item one department decides alone


_kept: OrderedDict[tuple[Any, int], VersionFacts] = OrderedDict()


def _database(conn: BaseDBAsyncClient) -> Any:
    while isinstance(conn, TransactionalDBClient) and hasattr(conn, "_parent"):
        conn = conn._parent  # a transaction's client: the database's own
    return getattr(conn, "filename", None) or (getattr(conn, "host", None), getattr(conn, "port", None),
                                               getattr(conn, "database", None))


async def facts(version_id: int, conn: BaseDBAsyncClient | None = None) -> VersionFacts | None:
    """The version's number and joint departments (None: no such version)."""
    conn = conn or Tortoise.get_connection("default")
    key = (_database(conn), version_id)
    found = _kept.get(key)
    if found is not None:
        _kept.move_to_end(key)
        return found
    row = await ServiceItemVersion.filter(id=version_id).using_db(conn).first().values(
        "number", "status", "joint_departments")
    if row is None:
        return None
    found = VersionFacts(int(row["number"]), tuple(row["joint_departments"] or ()))
    if row["status"] != "draft":
        _kept[key] = found
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return found
