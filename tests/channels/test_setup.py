"""Registry, `bot webhooks set` against the fakes, and the database usage counter."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.counters import SqlCounter
from bot.channels.registry import build_channels
from bot.channels.webhook_setup import WebhookSetupError, set_webhook
from bot.storage.db import create_engine, session_factory

URL = "https://bot.example.org/webhooks/"


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        ({}, ["line", "messenger", "telegram"]),
        ({"line": "access_token"}, ["messenger", "telegram"]),
        ({"telegram": "secret_token", "messenger": "verify_token"}, ["line"]),
    ],
)
def test_build_only_platforms_with_secrets(config, http, drop, expected) -> None:
    channels = {p: dict(section) for p, section in config["channels"].items()}
    for platform, key in drop.items():
        channels[platform][key] = ""
    assert sorted(build_channels({"channels": channels}, http, None)) == expected
    assert sorted(build_channels(channels, http, None)) == expected  # the section alone


def test_settings_from_environment_strings(config, http) -> None:
    section = {**config["channels"]["line"], "monthly_push_quota": "500", "timeout_s": "2.5"}
    line = build_channels({"line": section}, http, None)["line"]
    assert line.settings.monthly_push_quota == 500 and line.settings.timeout_s == 2.5


async def test_set_telegram_webhook(config, http, fakes) -> None:
    text = await set_webhook("telegram", URL + "telegram", config, http)
    hook = fakes["telegram"].webhook
    assert hook["url"] == URL + "telegram"
    assert f"TELEGRAM_SECRET_TOKEN={hook['secret_token']}" in text
    assert "callback_query" in hook["allowed_updates"]


async def test_set_line_webhook(config, http, fakes) -> None:
    text = await set_webhook("line", URL + "line", config, http)
    assert fakes["line"].webhook_endpoint == URL + "line"
    assert URL + "line" in text


async def test_messenger_webhook_prints_dashboard_steps(config, http, fakes) -> None:
    text = await set_webhook("messenger", URL + "messenger", config, http)
    assert URL + "messenger" in text and "MESSENGER_VERIFY_TOKEN" in text
    assert "messaging_postbacks" in text and "Human Agent" in text
    assert fakes["messenger"].accepted == []


@pytest.mark.parametrize(
    ("platform", "url", "config_change"),
    [
        ("telegram", "http://insecure.example/webhooks/telegram", {}),
        ("line", URL + "line", {"access_token": ""}),
        ("whatsapp", URL + "whatsapp", {}),
    ],
)
async def test_set_webhook_refuses(config, http, platform, url, config_change) -> None:
    if config_change:
        config["channels"][platform].update(config_change)
    with pytest.raises(WebhookSetupError):
        await set_webhook(platform, url, config, http)


async def test_set_webhook_reports_platform_refusal(config, http, fakes) -> None:
    fakes["line"].access_token = "another"
    with pytest.raises(WebhookSetupError, match="401"):
        await set_webhook("line", URL + "line", config, http)


async def test_sql_counter_counts_atomically(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        counter = SqlCounter(session_factory(engine))
        assert await counter.get("line", "2026-11") == 0
        totals = await asyncio.gather(*(counter.add("line", "2026-11") for _ in range(10)))
        assert sorted(totals) == list(range(1, 11))
        assert await counter.add("line", "2026-12", 3) == 3
        assert await counter.get("line", "2026-11") == 10
    finally:
        await engine.dispose()
