"""`bot webhooks set --platform ... --url ...`: point a platform at our webhook URL.

Each returns the text to print for the operator. The CLI wiring lives in bot/cli.py.
"""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp
from telegram import Bot
from telegram.error import TelegramError

from bot.channels.registry import SECRET_ENV, platform_config
from bot.channels.telegram_request import AiohttpRequest

TELEGRAM_UPDATES = [
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "message_reaction",
]
MESSENGER_FIELDS = "messages, messaging_postbacks, message_reactions, message_edits"


class WebhookSetupError(Exception):
    """The platform refused the webhook, or the settings are incomplete."""


async def set_webhook(
    platform: str, url: str, config: dict[str, Any], http: aiohttp.ClientSession
) -> str:
    """Register `url` (https, ending in /webhooks/<platform>) with the platform."""
    if not url.startswith("https://"):
        raise WebhookSetupError("the webhook URL must start with https://")
    section = platform_config(config, platform)
    if platform == "telegram":
        return await _telegram(url, section, http)
    if platform == "line":
        return await _line(url, section, http)
    if platform == "messenger":
        return _messenger(url, section)
    raise WebhookSetupError(f"unknown platform {platform!r}")


async def _telegram(url: str, section: dict[str, Any], http: aiohttp.ClientSession) -> str:
    token = _need(section, "telegram", "bot_token")
    secret = secrets.token_urlsafe(48)  # 64 chars of A-Z a-z 0-9 _ -
    request = AiohttpRequest(http, float(section.get("timeout_s", 10.0)))
    base = str(section.get("api_base", "https://api.telegram.org")).rstrip("/")
    bot = Bot(token, base_url=f"{base}/bot", request=request, get_updates_request=request)
    try:
        await bot.set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=TELEGRAM_UPDATES,
            max_connections=40,
        )
    except TelegramError as exc:
        raise WebhookSetupError(f"Telegram refused setWebhook: {exc.message}") from exc
    env = SECRET_ENV[("telegram", "secret_token")]
    return (
        f"Telegram now sends updates to {url}.\n"
        f"Put this secret in the environment of every web process, then restart them:\n"
        f"  {env}={secret}\n"
        "Until then every Telegram update is refused (401) and Telegram retries it."
    )


async def _line(url: str, section: dict[str, Any], http: aiohttp.ClientSession) -> str:
    token = _need(section, "line", "access_token")
    base = str(section.get("api_base", "https://api.line.me")).rstrip("/")
    async with http.put(
        f"{base}/v2/bot/channel/webhook/endpoint",
        json={"endpoint": url},
        headers={"Authorization": f"Bearer {token}"},
        timeout=aiohttp.ClientTimeout(total=float(section.get("timeout_s", 10.0))),
    ) as resp:
        if resp.status != 200:
            raise WebhookSetupError(
                f"LINE refused the endpoint ({resp.status}): {await resp.text()}"
            )
    return (
        f"LINE now sends events to {url}.\n"
        "In the LINE Developers console (Messaging API tab) make sure that 'Use webhook' is on,\n"
        "'Webhook redelivery' is on, and that auto-reply and greeting messages are off in the\n"
        "LINE Official Account Manager, so users do not get two answers."
    )


def _messenger(url: str, section: dict[str, Any]) -> str:
    env = SECRET_ENV[("messenger", "verify_token")]
    has_token = bool(section.get("verify_token"))
    token_line = (
        f"the value of {env} in our environment"
        if has_token
        else f"a random string that you also put in {env} (not set yet!)"
    )
    version = section.get("graph_version", "v21.0")
    return "\n".join(
        [
            "Messenger webhooks are set in the Meta App Dashboard (no API call for the app "
            "webhook):",
            "  1. developers.facebook.com -> My Apps -> your app -> Messenger -> "
            "Messenger API Settings.",
            "  2. Section 'Configure webhooks': Callback URL = " + url,
            "     Verify token = " + token_line + ".",
            "     Click 'Verify and save': Meta calls GET " + url + " and we echo hub.challenge.",
            f"  3. Webhook fields: subscribe to {MESSENGER_FIELDS}.",
            "  4. Section 'Generate access tokens': add the Facebook Page, subscribe it to the "
            "app,",
            "     and put the page token in MESSENGER_PAGE_ACCESS_TOKEN; the app secret "
            "(App settings -> Basic)",
            "     goes in MESSENGER_APP_SECRET.",
            "  5. App Review: request pages_messaging, and the Human Agent feature so "
            "volunteers can answer",
            f"     up to 7 days after a user's last message (Graph API {version}).",
        ]
    )


def _need(section: dict[str, Any], platform: str, key: str) -> str:
    value = section.get(key)
    if not value:
        raise WebhookSetupError(f"{SECRET_ENV[(platform, key)]} is not set")
    return str(value)
