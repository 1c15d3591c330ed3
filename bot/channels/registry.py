"""Build the configured channels: an explicit table, nothing registers itself on import."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.channels.base import Channel
from bot.channels.line import LineChannel, LineSettings
from bot.channels.messenger import MessengerChannel, MessengerSettings
from bot.channels.telegram import TelegramChannel, TelegramSettings

log = logging.getLogger("bot.channels")

# platform -> (channel class, settings class, secrets that must all be set to enable it)
CHANNELS: dict[str, tuple[type[Channel], type[Any], tuple[str, ...]]] = {
    "line": (LineChannel, LineSettings, ("channel_secret", "channel_access_token")),
    "telegram": (TelegramChannel, TelegramSettings, ("bot_token", "webhook_secret")),
    "messenger": (
        MessengerChannel,
        MessengerSettings,
        ("app_secret", "page_access_token", "verify_token"),
    ),
}

# Secrets come only from the environment: config key -> environment variable.
SECRET_ENV: dict[tuple[str, str], str] = {
    ("line", "channel_secret"): "LINE_CHANNEL_SECRET",
    ("line", "channel_access_token"): "LINE_CHANNEL_ACCESS_TOKEN",
    ("telegram", "bot_token"): "TELEGRAM_BOT_TOKEN",
    ("telegram", "webhook_secret"): "TELEGRAM_WEBHOOK_SECRET",
    ("messenger", "app_secret"): "MESSENGER_APP_SECRET",
    ("messenger", "page_access_token"): "MESSENGER_PAGE_ACCESS_TOKEN",
    ("messenger", "verify_token"): "MESSENGER_VERIFY_TOKEN",
}


def platform_config(config: dict[str, Any], platform: str) -> dict[str, Any]:
    """The `channels.<platform>` section of the service config ({} if absent)."""
    channels = config.get("channels") or {}
    section = channels.get(platform) or {}
    return dict(section)


def build_channels(
    config: dict[str, Any], http: aiohttp.ClientSession, db: Any = None
) -> dict[str, Channel]:
    """Build every platform whose secrets are all set; skip the others (logged)."""
    built: dict[str, Channel] = {}
    for platform, (channel_cls, settings_cls, secrets) in CHANNELS.items():
        section = platform_config(config, platform)
        missing = [key for key in secrets if not section.get(key)]
        if missing:
            log.info("channel %s disabled: %s not set", platform, ", ".join(missing))
            continue
        settings = settings_cls.from_dict(section)
        if platform == "line":
            built[platform] = LineChannel(settings, http, db, counter=_line_counter(db))
        else:
            built[platform] = channel_cls(settings, http, db)  # type: ignore[call-arg]
    return built


def _line_counter(db: Any) -> Any:
    """The database-backed usage counter when there is a database, else in-memory."""
    if db is None:
        return None
    try:
        from bot.channels.counters import SqlCounter
    except ImportError:
        return None
    return SqlCounter(db)
