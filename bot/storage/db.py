"""Engine, sessions and the schema check that refuses to run on an unmigrated database.

Alembic is imported only to migrate (and where the schema check meets something unusual):
with Mako and Pygments, which it imports, it took ~10 MB and 0.2 s of every start-up, for
two revision strings that the check reads itself (the `alembic_version` row and the
`revision`/`down_revision` lines of the migration files).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.storage import sqlite_driver

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # alembic's default, which migrations/env.py keeps


SQLITE_POOL = 4


class SchemaBehind(Exception):
    pass


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer at a time, so more connections only wait on its lock, and
        # each holds its own page cache (up to 2 MB) and an aiosqlite thread: a few will do.
        engine = create_async_engine(
            url,
            module=sqlite_driver.dbapi(),
            connect_args={"timeout": 30},
            pool_size=SQLITE_POOL,
            max_overflow=0,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            # WAL lets the web process read while the worker writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def alembic_head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("")).get_current_head() or ""


def _literal(node: ast.expr | None) -> object:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return ...  # not a literal: let alembic read it


def _revisions_of(path: Path) -> tuple[object, object]:
    """(revision, down_revision) as assigned at the top of a migration file."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = _literal(node.value)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = _literal(node.value)
    return found.get("revision", ...), found.get("down_revision", ...)


def head_revision() -> str:
    """The revision the code needs: the one head of migrations/versions, as alembic gives it.

    Read from the files' `revision` and `down_revision` literals; anything unusual (no
    file, a value that is not a literal, a merge, several heads, an unknown parent) goes to
    alembic, which answers or raises as it always did."""
    files = sorted((MIGRATIONS / "versions").glob("*.py"))
    revisions: dict[str, object] = {}
    for path in files:
        revision, down = _revisions_of(path)
        if not isinstance(revision, str) or revision in revisions:
            return alembic_head_revision()
        if not (down is None or isinstance(down, str)):
            return alembic_head_revision()
        revisions[revision] = down
    parents = set(revisions.values())
    heads = [r for r in revisions if r not in parents]
    if len(heads) != 1 or not parents <= {None, *revisions}:
        return alembic_head_revision()
    return heads[0]


def alembic_current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _current_revision(conn: Connection) -> str | None:
    """The database's revision, as alembic's MigrationContext reads it: None without the
    version table or without a row; alembic itself where there is more than one row."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        return alembic_current_revision(conn)  # raises: several heads in the database
    return rows[0] if rows else None


async def check_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        current = await conn.run_sync(_current_revision)
    head = head_revision()
    if current != head:
        raise SchemaBehind(
            f"database schema is at {current or 'nothing'}, the code needs {head}:"
            " run `.venv/bin/bot migrate` (or `make migrate`)"
        )


async def migrate(engine: AsyncEngine) -> None:
    from alembic import command

    def _upgrade(conn: Connection) -> None:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
