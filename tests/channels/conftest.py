"""Fixtures for the channel tests: fake platforms, channels pointed at them, payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.channels.base import Channel
from bot.channels.counters import MemoryCounter
from bot.channels.line import LineChannel, LineSettings
from bot.channels.messenger import MessengerChannel, MessengerSettings
from bot.channels.telegram import TelegramChannel, TelegramSettings
from tests.fakes.line import FakeLine
from tests.fakes.messenger import FakeMessenger
from tests.fakes.telegram import FakeTelegram
from tests.fakes.webhooks import channel_config

PAYLOADS = Path(__file__).parent / "payloads"
PLATFORMS = ("line", "telegram", "messenger")


def payload(platform: str, case: str) -> bytes:
    """A recorded webhook body, byte for byte as stored."""
    return (PAYLOADS / platform / f"{case}.json").read_bytes()


def has_payload(platform: str, case: str) -> bool:
    return (PAYLOADS / platform / f"{case}.json").exists()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fakes() -> AsyncIterator[dict[str, Any]]:
    servers: dict[str, Any] = {
        "line": FakeLine(),
        "telegram": FakeTelegram(),
        "messenger": FakeMessenger(),
    }
    for server in servers.values():
        await server.start()
    yield servers
    for server in servers.values():
        await server.stop()


@pytest.fixture
def config(fakes: dict[str, Any]) -> dict[str, Any]:
    return channel_config(fakes)


@pytest.fixture
def channels(config: dict[str, Any], http: aiohttp.ClientSession) -> dict[str, Channel]:
    c = config["channels"]
    return {
        "line": LineChannel(LineSettings.from_dict(c["line"]), http, None, MemoryCounter()),
        "telegram": TelegramChannel(TelegramSettings.from_dict(c["telegram"]), http, None),
        "messenger": MessengerChannel(MessengerSettings.from_dict(c["messenger"]), http, None),
    }


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()
