"""aiosqlite behind SQLAlchemy with one thread hand-off per statement instead of four.

aiosqlite runs every call on its own thread: SQLAlchemy's adapter makes four of them per
statement (open a cursor, execute, fetch, close), each a queue put, a thread wake-up and a
wake-up of the event loop. Here the four run together in one call on that thread: 2.0 of
19.3 M instructions fewer per button event in the worker, and the kernel's share of the
wake-ups besides (docs/benchmarks.md, "One call per statement").

It subclasses SQLAlchemy's adapter and calls aiosqlite's `Connection._execute`, neither
of which is public: pyproject.toml bounds both versions, and tests/test_sqlite_driver.py
fails if either changes under it.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)


def _run(
    conn: sqlite3.Connection, many: bool, operation: str, parameters: Any
) -> tuple[Any, list[Any], int, Any]:
    """On aiosqlite's thread: the whole statement, and what the cursor would be asked."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneCallCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # Not the parent's: it opens an aiosqlite cursor, a hand-off of its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = {}
        self._rows = collections.deque()
        self._description = None
        self._rowcount = -1
        self._lastrowid = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    async def _call(self, many: bool, operation: Any, parameters: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            description, rows, self._rowcount, self._lastrowid = await self._connection._execute(
                _run, self._connection._conn, many, operation, parameters
            )
        self._description = description
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._call(False, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._call(True, operation, seq_of_parameters)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()


class OneCallConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneCallCursor


class OneCallDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return OneCallConnection(self, adapted._connection)


def dbapi() -> OneCallDBAPI:
    return OneCallDBAPI(aiosqlite, sqlite3)
