"""Build the configured channels: an explicit table, nothing registers itself on import."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from bot.channels.base import Channel
from bot.channels.counters import SqlCounter, UsageCounter

log = logging.getLogger("bot.channels")

ChannelClasses = tuple[type[Channel], type[Any]]  # (channel class, settings class)


# Each platform's module is imported only when the platform is configured: the Telegram
# library alone costs about 17 MB of memory and 0.2 s of start-up that a process serving
# only the web chat (or only LINE) would pay for nothing.
def _line() -> ChannelClasses:
    from bot.channels.line import LineChannel, LineSettings

    return LineChannel, LineSettings


def _telegram() -> ChannelClasses:
    from bot.channels.telegram import TelegramChannel, TelegramSettings

    return TelegramChannel, TelegramSettings


def _messenger() -> ChannelClasses:
    from bot.channels.messenger import MessengerChannel, MessengerSettings

    return MessengerChannel, MessengerSettings


# platform -> (what loads its classes, secrets that must all be set to enable it)
CHANNELS: dict[str, tuple[Callable[[], ChannelClasses], tuple[str, ...]]] = {
    "line": (_line, ("channel_secret", "access_token")),
    "telegram": (_telegram, ("bot_token", "secret_token")),
    "messenger": (_messenger, ("app_secret", "page_access_token", "verify_token")),
}

# Secrets come only from the environment: config key -> environment variable
# (the same names as bot.config.ENV_ALIASES).
SECRET_ENV: dict[tuple[str, str], str] = {
    ("line", "channel_secret"): "LINE_CHANNEL_SECRET",
    ("line", "access_token"): "LINE_CHANNEL_ACCESS_TOKEN",
    ("telegram", "bot_token"): "TELEGRAM_BOT_TOKEN",
    ("telegram", "secret_token"): "TELEGRAM_SECRET_TOKEN",
    ("messenger", "app_secret"): "MESSENGER_APP_SECRET",
    ("messenger", "page_access_token"): "MESSENGER_PAGE_ACCESS_TOKEN",
    ("messenger", "verify_token"): "MESSENGER_VERIFY_TOKEN",
}


def platform_config(config: Mapping[str, Any], platform: str) -> dict[str, Any]:
    """The `<platform>` section, from the whole config tree or its `channels` section."""
    channels = config.get("channels", config) or {}
    section = channels.get(platform) or {}
    return dict(section)


def build_channels(
    config: Mapping[str, Any], http: aiohttp.ClientSession, db: Any = None
) -> dict[str, Channel]:
    """Build every platform whose secrets are all set; skip the others (logged).

    `config` is the whole settings tree or just its `channels` section.
    """
    built: dict[str, Channel] = {}
    for platform, (load, secrets) in CHANNELS.items():
        section = platform_config(config, platform)
        missing = [key for key in secrets if not section.get(key)]
        if missing:
            log.info("channel %s disabled: %s not set", platform, ", ".join(missing))
            continue
        channel_cls, settings_cls = load()
        settings = settings_cls.from_dict(section)
        if platform == "line":
            built[platform] = channel_cls(settings, http, db, counter=_line_counter(db))  # type: ignore[call-arg]
        else:
            built[platform] = channel_cls(settings, http, db)  # type: ignore[call-arg]
    return built


def _line_counter(db: Any) -> UsageCounter | None:
    """The database-backed usage counter when there is a database, else in-memory."""
    return SqlCounter(db) if db is not None else None
