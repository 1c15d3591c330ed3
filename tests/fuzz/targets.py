"""The parsers under fuzzing, shared by the hypothesis tests and the atheris harness."""

from __future__ import annotations

import os

from bot.channels.base import Channel, WebhookRejected
from bot.channels.webchat import WebChatChannel
from bot.messages import Incoming

FAKE_SECRETS = {
    "LINE_CHANNEL_SECRET": "fuzz-line-secret-0123456789",
    "LINE_CHANNEL_ACCESS_TOKEN": "fuzz-line-token-0123456789",
    "TELEGRAM_BOT_TOKEN": "123456:fuzz-telegram-token-0123456789",
    "TELEGRAM_SECRET_TOKEN": "fuzz-telegram-secret-0123",
    "MESSENGER_APP_SECRET": "fuzz-messenger-secret-0123",
    "MESSENGER_PAGE_ACCESS_TOKEN": "fuzz-messenger-token-0123",
    "MESSENGER_VERIFY_TOKEN": "fuzz-messenger-verify-0123",
}


def channels() -> dict[str, Channel]:
    """Every channel whose parse can be built without a network: the web chat always, the
    platform channels once bot.channels.registry exists (parse is pure)."""
    found: dict[str, Channel] = {"webchat": WebChatChannel(65536)}
    try:
        from bot.channels.registry import build_channels
        from tests.support import make_settings
    except ImportError:
        return found
    try:
        settings = make_settings("sqlite+aiosqlite:///:memory:", **FAKE_SECRETS)
        found.update(build_channels(settings.raw.get("channels", {}), None, None))
    except Exception as exc:  # report, do not hide: the test names what could not be built
        os.environ.setdefault("FUZZ_CHANNELS_SKIPPED", f"{type(exc).__name__}: {exc}")
    return found


def parse_or_reject(channel: Channel, body: bytes) -> list[Incoming] | None:
    """Events, or None for a 400; any other exception is the bug the fuzzers look for."""
    try:
        events = channel.parse(body)
    except WebhookRejected as rejected:
        if rejected.status != 400:
            raise AssertionError(f"{channel.name}: rejected with {rejected.status}") from None
        return None
    if not isinstance(events, list) or not all(isinstance(e, Incoming) for e in events):
        raise AssertionError(f"{channel.name}: parse returned {type(events).__name__}")
    for event in events:
        if event.platform != channel.name or not isinstance(event.text, str):
            raise AssertionError(f"{channel.name}: malformed event")
    return events
