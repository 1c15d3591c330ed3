"""Engine, sessions and the schema check that refuses to run on an unmigrated database."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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
            url, connect_args={"timeout": 30}, pool_size=SQLITE_POOL, max_overflow=0
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
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head() or ""


def _current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


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
