from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.support import chat_client, postgres_available, postgres_database, sqlite_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every storage test runs on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        async with sqlite_database(tmp_path) as url:
            yield url
        return
    async with _postgres() as url:
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with _postgres() as url:
        yield url


@asynccontextmanager
async def _postgres() -> AsyncIterator[str]:
    """A database of its own on the test PostgreSQL; the test is skipped where there is none."""
    reason = await postgres_available()
    if reason:
        pytest.skip(reason)
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[TestClient]:
    """The web chat app (no NLU, worker not embedded) on each database."""
    async with chat_client(database_url) as client:
        yield client
