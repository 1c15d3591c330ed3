from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web import create_app
from tests.console.support import QuietClassifier, World, build_world
from tests.support import make_settings, services_of


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[TestClient]:
    """The whole app (worker not embedded: tests drain it themselves)."""
    settings = make_settings(
        database_url,
        BOT__SERVICE__EMBEDDED_WORKER="false",
        BOT__CONSOLE__STREAM_SECONDS="1.5",
        BOT__CONSOLE__POLL_SECONDS="0.1",
    )
    app = create_app(settings, classifier=QuietClassifier())
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture
async def world(client: TestClient) -> World:
    return await build_world(services_of(client))
