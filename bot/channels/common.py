"""Helpers shared by the platform channels: settings, JSON loading, rendering replies,
result mapping, metrics."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Generic, Self, TypeVar

import aiohttp
from prometheus_client import Counter, Gauge

from bot.channels.base import Channel, SendResult, WebhookRejected
from bot.channels.text_split import ELLIPSIS, split_text
from bot.messages import Button, Reply
from bot.metrics import REGISTRY, UNKNOWN_EVENTS

log = logging.getLogger("bot.channels")
T = TypeVar("T")

__all__ = ["DROPPED_BUTTONS", "LINE_PUSH_USED", "UNKNOWN_EVENTS"]

LINE_PUSH_USED = Gauge(
    "bot_line_push_quota_used_ratio",
    "Share of the monthly LINE push quota used this month (1.0 = stopped pushing)",
    registry=REGISTRY,
)
DROPPED_BUTTONS = Counter(
    "bot_channel_dropped_buttons_total",
    "Buttons not sent: over the platform's count limit or payload too long",
    ["platform"],
    registry=REGISTRY,
)


def load_json(body: bytes) -> Any:
    """Decode a webhook body, or reject it with 400."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(400, "malformed JSON") from exc


def require(obj: Any, *keys: str) -> Any:
    """Walk nested dicts; reject with 400 if a key is missing or a level is not an object."""
    for key in keys:
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            raise WebhookRejected(400, f"missing field {key!r}")
        obj = obj[key]
    return obj


def require_str(obj: Any, *keys: str) -> str:
    """Like `require`, for a non-empty string or integer id (returned as a string)."""
    value = require(obj, *keys)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise WebhookRejected(400, f"field {keys[-1]!r} is not an id")
    return str(value)


def result_for_status(
    platform: str, status: int, retry_after: float | None, reason: str
) -> SendResult:
    """Map an HTTP status from a platform API to a SendResult (2xx is success)."""
    if 200 <= status < 300:
        return SendResult(ok=True)
    if status == 429:
        return SendResult(ok=False, retry_after=retry_after if retry_after else 1.0, reason=reason)
    if status >= 500:
        return SendResult(ok=False, reason=reason)
    return SendResult(ok=False, permanent=True, reason=reason)


def may_have_arrived(exc: BaseException) -> bool:
    """Whether the platform may have carried out a call that ended in this error: only a
    connection that never opened proves it did not (a timeout or a lost answer does not)."""
    return not isinstance(exc, aiohttp.ClientConnectorError)


def retry_after_header(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds (dates are not used by these APIs)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def settings_from(cls: type[T], section: Mapping[str, Any]) -> T:
    """Build a settings dataclass from a config section, coercing environment strings.

    Unknown keys are ignored; "" or "none" for an optional number means None.
    """
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in section:
            continue
        value, kind = section[f.name], str(f.type)
        if isinstance(value, str) and kind != "str":
            if "None" in kind and value.strip().lower() in ("", "none", "null"):
                value = None
            elif kind.startswith("int"):
                value = int(value)
            elif kind.startswith("float"):
                value = float(value)
        kwargs[f.name] = value
    return cls(**kwargs)


class PlatformSettings:
    """Base of a platform's settings dataclass: built from its config section."""

    __slots__ = ()
    max_body_bytes: int  # each platform's dataclass declares it, with its default

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        return settings_from(cls, d)


S = TypeVar("S", bound=PlatformSettings)


class PlatformChannel(Channel, Generic[S]):
    """A platform reached over the service's shared HTTP session (LINE, Telegram,
    Messenger): what every one of them keeps, so each module holds only its platform."""

    def __init__(self, settings: S, http: aiohttp.ClientSession, db: Any = None) -> None:
        self.settings = settings
        self.http = http
        self.db = db
        self.max_body_bytes = settings.max_body_bytes  # type: ignore[misc]


def from_epoch_ms(value: Any) -> datetime:
    """A platform's timestamp in milliseconds; now if it sent none (or not a number)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return datetime.now(UTC)


def message_parts(
    replies: Iterable[Reply], text_limit: int
) -> Iterator[tuple[str, tuple[Button, ...]]]:
    """(text, buttons) for each message the replies become: long texts split to fit, and
    a reply's buttons on its last part. A reply of buttons alone still needs a message to
    carry them, so its text is an ellipsis."""
    for reply in replies:
        parts = split_text(reply.text, text_limit) or ([ELLIPSIS] if reply.buttons else [])
        for i, part in enumerate(parts):
            yield part, reply.buttons if i == len(parts) - 1 else ()


def kept_buttons(
    platform: str,
    buttons: tuple[Button, ...],
    payload_limit: int,
    max_buttons: int,
    payload_size: Callable[[str], int] = len,
) -> list[Button]:
    """The buttons a platform can take: a payload within its limit, at most `max_buttons`.
    The others are dropped, and counted and logged as such."""
    usable = [b for b in buttons if 0 < payload_size(b.payload) <= payload_limit]
    kept = usable[:max_buttons]
    if len(kept) < len(buttons):
        DROPPED_BUTTONS.labels(platform).inc(len(buttons) - len(kept))
        log.warning("%s: dropped %d buttons", platform, len(buttons) - len(kept))
    return kept


def event_key(*parts: object) -> str:
    """An event id from several parts, hashed if longer than the inbox column (128)."""
    key = ":".join(str(p) for p in parts)
    return key if len(key) <= 128 else hashlib.sha256(key.encode()).hexdigest()
