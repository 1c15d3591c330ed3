from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import postgres_available, postgres_database, sqlite_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every storage test runs on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        async with sqlite_database(tmp_path) as url:
            yield url
        return
    reason = await postgres_available()
    if reason:
        pytest.skip(reason)
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    reason = await postgres_available()
    if reason:
        pytest.skip(reason)
    async with postgres_database() as url:
        yield url
