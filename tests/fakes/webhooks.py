"""The other side of the fakes: secrets, signed webhook headers and the settings that
point the bot at the fake platforms (shared by tests/channels and tests/fault)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

LINE_SECRET = "line-channel-secret"
TELEGRAM_SECRET = "tg-webhook-secret_0123456789"
MESSENGER_APP_SECRET = "messenger-app-secret"
VERIFY_TOKEN = "verify-me"


def signed_headers(platform: str, body: bytes) -> dict[str, str]:
    """The authenticity header the real platform would send with `body`."""
    if platform == "line":
        mac = hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()
        return {"X-Line-Signature": base64.b64encode(mac).decode()}
    if platform == "telegram":
        return {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    mac = hmac.new(MESSENGER_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={mac}"}


def bad_headers(platform: str, body: bytes) -> dict[str, str]:
    """Plausible but wrong authenticity headers."""
    if platform == "line":
        return {"X-Line-Signature": base64.b64encode(b"x" * 32).decode()}
    if platform == "telegram":
        return {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
    return {"X-Hub-Signature-256": "sha256=" + "0" * 64}


def channel_config(fakes: dict[str, Any]) -> dict[str, Any]:
    """A service config section for all three channels, pointed at the fakes."""
    return {
        "channels": {
            "line": {
                "channel_secret": LINE_SECRET,
                "access_token": fakes["line"].access_token,
                "api_base": fakes["line"].url,
                "timeout_s": 0.5,
            },
            "telegram": {
                "bot_token": fakes["telegram"].token,
                "secret_token": TELEGRAM_SECRET,
                "api_base": fakes["telegram"].url,
                "timeout_s": 0.5,
                "per_chat_interval_s": 0.0,
            },
            "messenger": {
                "app_secret": MESSENGER_APP_SECRET,
                "page_access_token": fakes["messenger"].page_token,
                "verify_token": VERIFY_TOKEN,
                "api_base": fakes["messenger"].url,
                "graph_version": fakes["messenger"].version,
                "timeout_s": 0.5,
            },
        }
    }


def channel_environment(fakes: dict[str, Any]) -> dict[str, str]:
    """The environment an operator would set, pointed at the fakes (bot/config.py aliases)."""
    return {
        "LINE_CHANNEL_SECRET": LINE_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": fakes["line"].access_token,
        "LINE_API_BASE": fakes["line"].url,
        "TELEGRAM_BOT_TOKEN": fakes["telegram"].token,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE": fakes["telegram"].url,
        "MESSENGER_APP_SECRET": MESSENGER_APP_SECRET,
        "MESSENGER_PAGE_ACCESS_TOKEN": fakes["messenger"].page_token,
        "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_API_BASE": fakes["messenger"].url,
    }
