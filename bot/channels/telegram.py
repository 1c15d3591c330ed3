"""Telegram Bot API channel, with python-telegram-bot v22 as a library only.

`Update.de_json` parses, `telegram.Bot` sends (over the service's aiohttp session via
`AiohttpRequest`, base URL a setting). No polling, no PTB web server, no Application.

Pacing: at most one message per second per chat, enforced in this process only. With
several worker processes two of them could each send to the same chat in one second;
Telegram then answers 429 and the outbox retries after `retry_after`.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import aiohttp
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import SendResult, WebhookRejected
from bot.channels.common import (
    UNKNOWN_EVENTS,
    PlatformChannel,
    PlatformSettings,
    kept_buttons,
    load_json,
    log,
    message_parts,
)
from bot.channels.telegram_request import AiohttpRequest
from bot.channels.text_split import shorten, utf8_len
from bot.messages import Button, Delivery, EventKind, Incoming, Reply

# Commands that are buttons in disguise; /start is FOLLOW, every other command is text.
COMMAND_POSTBACKS = {"/language": "language", "/delete": "delete"}
# Message fields -> Incoming.media_type, checked in order.
_MEDIA_FIELDS = (
    ("sticker", "sticker"),
    ("photo", "image"),
    ("animation", "video"),
    ("video", "video"),
    ("video_note", "video"),
    ("voice", "audio"),
    ("audio", "audio"),
    ("document", "file"),
    ("venue", "location"),
    ("location", "location"),
    ("contact", "contact"),
    ("poll", "poll"),
    ("dice", "dice"),
)


@dataclass(frozen=True, slots=True)
class TelegramSettings(PlatformSettings):
    bot_token: str
    secret_token: str  # the secret_token given to setWebhook (see webhook_setup)
    api_base: str = "https://api.telegram.org"
    timeout_s: float = 10.0
    text_limit: int = 4096  # UTF-16 code units, after entity parsing (we send plain text)
    label_limit: int = 40  # Telegram documents none; long labels wrap badly on small phones
    callback_data_limit: int = 64  # bytes
    max_buttons: int = 13
    per_chat_interval_s: float = 1.0
    max_body_bytes: int = 1024 * 1024


class TelegramChannel(PlatformChannel[TelegramSettings]):
    name: ClassVar[str] = "telegram"

    def __init__(self, settings: TelegramSettings, http: aiohttp.ClientSession, db: Any = None):
        super().__init__(settings, http, db)
        request = AiohttpRequest(http, settings.timeout_s)
        base = settings.api_base.rstrip("/")
        self.bot = Bot(
            settings.bot_token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=request,
            get_updates_request=request,
        )
        self._last_sent: dict[str, float] = {}
        self._chat_locks: dict[str, asyncio.Lock] = {}

    # -- inbound ---------------------------------------------------------------------------

    async def verify(self, request: web.Request, body: bytes) -> None:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        expected = self.settings.secret_token
        if not given or not hmac.compare_digest(expected.encode(), given.encode()):
            raise WebhookRejected(401, "bad Telegram secret token")

    def parse(self, body: bytes) -> list[Incoming]:
        data = load_json(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise WebhookRejected(400, "missing update_id")
        try:
            # PTB is lenient (a message without `chat` parses to chat=None), so a missing
            # field may only show when we read it: both steps map to 400.
            update = Update.de_json(data, self.bot)
            incoming = self._from_update(update)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise WebhookRejected(400, f"malformed update: {type(exc).__name__}") from exc
        if incoming is None:
            return []
        return [incoming]

    def _from_update(self, update: Update) -> Incoming | None:
        common: dict[str, Any] = {"platform": self.name, "event_id": str(update.update_id)}
        if update.message is not None:
            return self._from_message(update.message, common)
        if update.edited_message is not None:
            return self._unsupported(update.edited_message, "edit", common)
        if (query := update.callback_query) is not None:
            chat_id = query.message.chat.id if query.message is not None else query.from_user.id
            address = {"chat_id": chat_id, "callback_query_id": query.id}
            if query.data is None:  # a game button: nothing we offer
                kind, media = EventKind.UNSUPPORTED, "callback_game"
            else:
                kind, media = EventKind.POSTBACK, ""
            return Incoming(
                user_id=str(query.from_user.id),
                kind=kind,
                payload=query.data or "",
                media_type=media,
                address=address,
                **common,
            )
        if (reaction := update.message_reaction) is not None:
            user = reaction.user.id if reaction.user else reaction.chat.id
            return Incoming(
                user_id=str(user),
                kind=EventKind.UNSUPPORTED,
                media_type="reaction",
                address={"chat_id": reaction.chat.id},
                occurred_at=reaction.date,
                **common,
            )
        if (member := update.my_chat_member) is not None:
            if member.chat.type == "private" and member.new_chat_member.status == "kicked":
                return Incoming(
                    user_id=str(member.from_user.id),
                    kind=EventKind.UNFOLLOW,
                    address={"chat_id": member.chat.id},
                    occurred_at=member.date,
                    **common,
                )
            return None  # unblocked, or membership changes in groups: nothing to do
        UNKNOWN_EVENTS.labels(self.name).inc()
        return None

    def _from_message(self, message: Message, common: dict[str, Any]) -> Incoming:
        if message.chat.type != "private":
            return self._unsupported(message, "group", common)
        text = message.text
        if text is None:
            media = next((m for f, m in _MEDIA_FIELDS if getattr(message, f, None)), "unknown")
            return self._unsupported(message, media, common)
        fields = self._message_fields(message)
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            command = command.split("@", 1)[0].lower()
            if command == "/start":
                return Incoming(kind=EventKind.FOLLOW, payload=rest.strip(), **fields, **common)
            if command in COMMAND_POSTBACKS:
                payload = COMMAND_POSTBACKS[command]
                return Incoming(kind=EventKind.POSTBACK, payload=payload, **fields, **common)
        return Incoming(kind=EventKind.TEXT, text=text, **fields, **common)

    def _unsupported(self, message: Message, media: str, common: dict[str, Any]) -> Incoming:
        return Incoming(
            kind=EventKind.UNSUPPORTED, media_type=media, **self._message_fields(message), **common
        )

    @staticmethod
    def _message_fields(message: Message) -> dict[str, Any]:
        user = message.from_user.id if message.from_user else message.chat.id
        return {
            "user_id": str(user),
            "address": {"chat_id": message.chat.id},
            "occurred_at": message.date,
        }

    # -- outbound --------------------------------------------------------------------------

    def render(self, replies: tuple[Reply, ...]) -> list[tuple[str, InlineKeyboardMarkup | None]]:
        """Reply objects -> (text, keyboard) per message; the keyboard on a reply's last part."""
        return [
            (part, self._keyboard(buttons) if buttons else None)
            for part, buttons in message_parts(replies, self.settings.text_limit)
        ]

    def _keyboard(self, buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
        s = self.settings
        # callback_data is limited in bytes, not characters
        kept = kept_buttons(self.name, buttons, s.callback_data_limit, s.max_buttons, utf8_len)
        if not kept:
            return None
        rows = [
            [InlineKeyboardButton(shorten(b.label, s.label_limit), callback_data=b.payload)]
            for b in kept
        ]
        return InlineKeyboardMarkup(rows)

    async def send(self, delivery: Delivery) -> SendResult:
        """One sendMessage per part; a retry starts at the first part Telegram did not take."""
        chat_id = delivery.address.get("chat_id") or delivery.user_id
        query_id = delivery.address.get("callback_query_id")
        # The outbox claim counts an attempt before the send: 1 is the first.
        if query_id and delivery.attempts <= 1:
            await self.answer_callback(str(query_id))
        parts = self.render(delivery.replies)
        for index in range(delivery.parts_sent, len(parts)):
            text, keyboard = parts[index]
            await self._pace(str(chat_id))
            failure = await self._send_part(chat_id, text, keyboard)
            if failure is not None:
                return replace(failure, parts_sent=index)
        return SendResult(ok=True, parts_sent=len(parts))

    async def _send_part(
        self, chat_id: int | str, text: str, keyboard: InlineKeyboardMarkup | None
    ) -> SendResult | None:
        """None if Telegram took the message, else what went wrong."""
        try:
            await self.bot.send_message(chat_id=chat_id, text=text, reply_markup=keyboard)
        except RetryAfter as exc:
            return SendResult(ok=False, retry_after=_seconds(exc), reason="telegram_429")
        except TimedOut:
            # sendMessage has no idempotency key: sending again could show it twice.
            return SendResult(ok=False, uncertain=True, reason="telegram_timeout")
        except BadRequest as exc:
            return SendResult(ok=False, permanent=True, reason=f"telegram_400: {exc.message}")
        except NetworkError as exc:  # 5xx and connection errors (after the 4xx subclasses)
            return SendResult(ok=False, reason=f"telegram_network: {exc.message}")
        except TelegramError as exc:  # 401/403/404/409: token, blocked, ...
            reason = f"telegram_{type(exc).__name__.lower()}: {exc.message}"
            return SendResult(ok=False, permanent=True, reason=reason)
        return None

    async def answer_callback(self, query_id: str) -> None:
        """Stop the spinner on the tapped button; failures (query too old) do not matter."""
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("telegram: answerCallbackQuery failed: %s", exc.message)

    async def _pace(self, chat_id: str) -> None:
        """Wait until at least `per_chat_interval_s` has passed since the last send to chat."""
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            wait = self._last_sent.get(chat_id, 0.0) + self.settings.per_chat_interval_s - now
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_sent[chat_id] = time.monotonic()
        if len(self._last_sent) > 10_000:
            self._forget_idle_chats()

    def _forget_idle_chats(self) -> None:
        cutoff = time.monotonic() - self.settings.per_chat_interval_s
        for chat in [c for c, t in self._last_sent.items() if t < cutoff]:
            self._last_sent.pop(chat, None)
            lock = self._chat_locks.get(chat)
            if lock is not None and not lock.locked():
                self._chat_locks.pop(chat, None)


def _seconds(exc: RetryAfter) -> float:
    """retry_after in seconds (PTB 22 warns that the int will become a timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return float(wait if isinstance(wait, int | float) else wait.total_seconds())
