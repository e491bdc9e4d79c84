"""Which exceptions mean "the database cannot be reached right now" (api/core/db.py): those
answer 503 and are logged as an outage; everything else stays a fault of the request or of ours."""

from __future__ import annotations

import errno
import socket
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from tortoise.exceptions import DBConnectionError, OperationalError

from api.core.db import is_database_unavailable


async def test_a_refused_postgresql_connection_is_unavailability() -> None:
    with socket.socket() as s:  # a port nobody listens on: the kernel refuses at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError) as raised:
        await asyncpg.connect(f"postgres://postgres@127.0.0.1:{port}/x", timeout=5)
    assert is_database_unavailable(raised.value)


def test_postgresql_shutting_down_or_starting_up_is_unavailability() -> None:
    for exc in (asyncpg.CannotConnectNowError("the database system is starting up"),
                asyncpg.AdminShutdownError("terminating connection due to administrator command"),
                asyncpg.TooManyConnectionsError("sorry, too many clients already"),
                asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
                asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
                DBConnectionError("Can't establish connection to database zw")):
        assert is_database_unavailable(exc), exc


def test_sqlite_locked_or_unopenable_is_unavailability(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(sqlite3.OperationalError) as raised:
        sqlite3.connect(not_a_dir / "db.sqlite3")
    assert is_database_unavailable(raised.value)
    try:  # Tortoise wraps the driver's error (implicitly chained)
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc)  # noqa: B904 - exactly what tortoise.backends.sqlite does
    except OperationalError as wrapped:
        assert is_database_unavailable(wrapped)


def test_faults_of_the_request_or_of_our_code_are_not_unavailability(tmp_path: Path) -> None:
    assert not is_database_unavailable(OperationalError(sqlite3.OperationalError("no such table: cases")))
    assert not is_database_unavailable(asyncpg.UndefinedTableError('relation "cases" does not exist'))
    assert not is_database_unavailable(asyncpg.QueryCanceledError("canceling statement due to user request"))
    assert not is_database_unavailable(asyncpg.InterfaceError("cannot perform operation: another operation is "
                                                              "in progress"))
    # The same kinds of error raised outside a database driver (the blob store, a web push) are
    # not the database's.
    assert not is_database_unavailable(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    assert not is_database_unavailable(TimeoutError())
    with pytest.raises(OSError) as raised:
        (tmp_path / "missing" / "blob").read_bytes()
    assert not is_database_unavailable(raised.value)


