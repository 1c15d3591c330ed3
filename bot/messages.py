"""Platform-neutral message types: what channels parse into and what handlers answer with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    TEXT = "text"
    POSTBACK = "postback"  # a button, quick reply or callback query: `payload` holds its data
    FOLLOW = "follow"  # added the bot / opened the chat for the first time
    UNFOLLOW = "unfollow"  # blocked or removed the bot
    UNSUPPORTED = "unsupported"  # sticker, image, audio, ...: `media_type` says which


@dataclass(frozen=True, slots=True)
class Incoming:
    platform: str  # "line" | "telegram" | "messenger" | "webchat"
    event_id: str  # unique per platform; the inbox drops a second delivery of the same id
    user_id: str  # raw platform user id: never logged, stored only hashed and encrypted
    kind: EventKind
    text: str = ""
    payload: str = ""
    media_type: str = ""  # for UNSUPPORTED: sticker, image, audio, video, file, location, ...
    reply_token: str | None = None  # LINE reply token, valid for a short time
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Platform-specific addressing the channel needs to answer (e.g. Telegram chat id,
    # Messenger page id). Stored encrypted with the raw id.
    address: dict[str, Any] = field(default_factory=dict)
    redelivery: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    label: str  # already localised; channels shorten it to the platform limit
    payload: str  # postback data, e.g. "topic:wage_minimum", "lang:my", "menu"


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row handed to a channel to send."""

    outbox_id: int
    idempotency_key: str
    platform: str
    user_id: str  # raw id, decrypted for sending only
    address: dict[str, Any]
    replies: tuple[Reply, ...]
    reply_token: str | None
    sender: str  # "bot" or "volunteer"
    language: str
    user_last_seen: datetime | None  # for reply windows (Messenger 24 h / 7 days)
    attempts: int = 0
    parts_sent: int = 0  # parts an earlier attempt got through (SendResult.parts_sent)
