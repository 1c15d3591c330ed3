"""The start-up schema check reads the two revisions itself, without importing alembic, and
must answer as alembic does (bot.storage.db)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage import db
from bot.storage.db import (
    SchemaBehind,
    alembic_current_revision,
    alembic_head_revision,
    check_schema,
    create_engine,
    head_revision,
    migrate,
)


def test_head_revision_is_alembics() -> None:
    assert head_revision() == alembic_head_revision() != ""


def test_unusual_migration_files_go_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    for name in ("a", "b"):  # two heads
        (versions / f"{name}.py").write_text(f'revision = "{name}"\ndown_revision = None\n')
    monkeypatch.setattr(db, "MIGRATIONS", tmp_path)
    monkeypatch.setattr(db, "alembic_head_revision", lambda: "asked alembic")
    assert head_revision() == "asked alembic"
    (versions / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    assert head_revision() == "b"
    (versions / "c.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n')  # a merge
    assert head_revision() == "asked alembic"


async def test_current_revision_is_alembics(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        async with engine.connect() as conn:  # no version table yet
            assert await conn.run_sync(db._current_revision) is None
            assert await conn.run_sync(alembic_current_revision) is None
        with pytest.raises(SchemaBehind, match="schema is at nothing"):
            await check_schema(engine)
        await migrate(engine)
        async with engine.connect() as conn:
            current = await conn.run_sync(db._current_revision)
            assert current == await conn.run_sync(alembic_current_revision) == head_revision()
        await check_schema(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        with pytest.raises(
            SchemaBehind, match=f"schema is at 0001, the code needs {head_revision()}"
        ):
            await check_schema(engine)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM alembic_version"))
        async with engine.connect() as conn:
            assert await conn.run_sync(db._current_revision) is None
            assert await conn.run_sync(alembic_current_revision) is None
    finally:
        await engine.dispose()
