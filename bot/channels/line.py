"""LINE Messaging API channel: signed webhooks in, reply (free) or push (quota) out.

Plain JSON over the injected aiohttp session (no line-bot-sdk client: it opens its own
session and hides the status codes we map to retries). The API base URL is a setting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

from bot.channels.base import SendResult, WebhookRejected
from bot.channels.common import (
    LINE_PUSH_USED,
    UNKNOWN_EVENTS,
    PlatformChannel,
    PlatformSettings,
    from_epoch_ms,
    kept_buttons,
    load_json,
    log,
    may_have_arrived,
    message_parts,
    require,
    require_str,
    result_for_status,
    retry_after_header,
)
from bot.channels.counters import MemoryCounter, UsageCounter
from bot.channels.text_split import shorten
from bot.messages import Button, Delivery, EventKind, Incoming, Reply

# Namespace for X-Line-Retry-Key UUIDs derived from outbox idempotency keys.
RETRY_KEY_NAMESPACE = uuid.UUID("6f0c3b8e-2a51-5d1c-9a7e-4c1b2d3e4f50")
QUOTA_REASON = "line_push_quota"
_MEDIA = {"image", "video", "audio", "file", "location", "sticker"}


@dataclass(frozen=True, slots=True)
class LineSettings(PlatformSettings):
    channel_secret: str
    access_token: str
    api_base: str = "https://api.line.me"
    monthly_push_quota: int | None = 200  # push messages per month; None = no limit
    quota_warn_ratio: float = 0.8
    quota_utc_offset_hours: int = 7  # month boundary for the quota (Asia/Bangkok)
    reply_token_ttl_s: float = 50.0  # LINE publishes no fixed validity; about a minute
    timeout_s: float = 10.0
    max_messages_per_call: int = 5
    text_limit: int = 5000
    quick_reply_limit: int = 13
    label_limit: int = 20
    postback_data_limit: int = 300
    max_body_bytes: int = 1024 * 1024


class LineChannel(PlatformChannel[LineSettings]):
    name: ClassVar[str] = "line"

    def __init__(
        self,
        settings: LineSettings,
        http: aiohttp.ClientSession,
        db: Any = None,
        counter: UsageCounter | None = None,
    ) -> None:
        super().__init__(settings, http, db)
        self.counter: UsageCounter = counter or MemoryCounter()
        self._warned_period = ""

    # -- inbound ---------------------------------------------------------------------------

    async def verify(self, request: web.Request, body: bytes) -> None:
        signature = request.headers.get("X-Line-Signature", "")
        mac = hmac.new(self.settings.channel_secret.encode(), body, hashlib.sha256).digest()
        if not signature or not hmac.compare_digest(base64.b64encode(mac).decode(), signature):
            raise WebhookRejected(401, "bad LINE signature")

    def parse(self, body: bytes) -> list[Incoming]:
        data = load_json(body)
        events = require(data, "events")
        if not isinstance(events, list):
            raise WebhookRejected(400, "events is not a list")
        # An empty list is LINE's "Verify" button in the console: answer 200.
        return [inc for ev in events if (inc := self._parse_event(ev)) is not None]

    def _parse_event(self, ev: Any) -> Incoming | None:
        etype = require_str(ev, "type")
        event_id = require_str(ev, "webhookEventId")
        source = require(ev, "source")
        stype = require_str(source, "type")
        if etype not in ("message", "postback", "follow", "unfollow"):
            UNKNOWN_EVENTS.labels(self.name).inc()
            return None
        common: dict[str, Any] = {
            "platform": self.name,
            "event_id": event_id,
            "reply_token": ev.get("replyToken") or None,
            "redelivery": bool((ev.get("deliveryContext") or {}).get("isRedelivery")),
            "occurred_at": from_epoch_ms(ev.get("timestamp")),
        }
        if stype != "user":  # group or room: the bot answers one to one only
            user = source.get("userId") or source.get("groupId") or source.get("roomId") or ""
            return Incoming(
                user_id=str(user), kind=EventKind.UNSUPPORTED, media_type="group", **common
            )
        common["user_id"] = require_str(source, "userId")
        if etype == "follow":
            return Incoming(kind=EventKind.FOLLOW, **common)
        if etype == "unfollow":
            return Incoming(kind=EventKind.UNFOLLOW, **common)
        if etype == "postback":
            data = require_str(ev, "postback", "data")
            return Incoming(kind=EventKind.POSTBACK, payload=data, **common)
        mtype = require_str(ev, "message", "type")
        if mtype == "text":
            text = require(ev, "message", "text")
            if not isinstance(text, str):
                raise WebhookRejected(400, "text is not a string")
            return Incoming(kind=EventKind.TEXT, text=text, **common)
        media = mtype if mtype in _MEDIA else mtype or "unknown"
        return Incoming(kind=EventKind.UNSUPPORTED, media_type=media, **common)

    # -- outbound --------------------------------------------------------------------------

    def render(self, replies: tuple[Reply, ...]) -> list[dict[str, Any]]:
        """Reply objects -> LINE message objects (text parts, quick replies on the last)."""
        messages: list[dict[str, Any]] = []
        for part, buttons in message_parts(replies, self.settings.text_limit):
            msg: dict[str, Any] = {"type": "text", "text": part}
            items = self._quick_reply_items(buttons) if buttons else []
            if items:
                msg["quickReply"] = {"items": items}
            messages.append(msg)
        return messages

    def _quick_reply_items(self, buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
        s = self.settings
        kept = kept_buttons(self.name, buttons, s.postback_data_limit, s.quick_reply_limit)
        return [
            {
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": shorten(b.label, s.label_limit),
                    "data": b.payload,
                    "displayText": shorten(b.label, 300),
                },
            }
            for b in kept
        ]

    async def send(self, delivery: Delivery) -> SendResult:
        """Up to five messages per call (a part): the first by reply token while it is
        fresh, the others, and the first when the token is refused, by push. A retry
        starts at the first part LINE did not take."""
        messages = self.render(delivery.replies)
        n = self.settings.max_messages_per_call
        batches = [messages[i : i + n] for i in range(0, len(messages), n)]
        token = delivery.reply_token if self._token_fresh(delivery) else None
        for index in range(delivery.parts_sent, len(batches)):
            if index == 0 and token:
                result = await self._reply(token, batches[0])
                if result is None:
                    log.info("line: reply token rejected, falling back to push")
                    result = await self._push(delivery, batches[0], index)
            else:
                result = await self._push(delivery, batches[index], index)
            if not result.ok:
                return replace(result, parts_sent=index)
        return SendResult(ok=True, parts_sent=len(batches))

    async def _reply(self, token: str, batch: list[dict[str, Any]]) -> SendResult | None:
        """Send by reply token; None if LINE refused the token (expired): push instead."""
        answer = await self._post("/v2/bot/message/reply", {"replyToken": token, "messages": batch})
        if answer.may_have_arrived:
            # Unlike push, reply has no retry key, and a token LINE took is refused the next
            # time: the push fallback would deliver the messages a second time.
            return SendResult(ok=False, uncertain=True, reason="line_reply_timeout")
        if answer.status == 400 and "reply token" in _message(answer.body).lower():
            return None
        return self._result(answer)

    def _token_fresh(self, delivery: Delivery) -> bool:
        if not delivery.reply_token:
            return False
        seen = delivery.user_last_seen
        if seen is None:
            return True  # unknown age: try it; an invalid token falls back to push
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        age = (datetime.now(UTC) - seen).total_seconds()
        return age <= self.settings.reply_token_ttl_s

    async def _push(
        self, delivery: Delivery, batch: list[dict[str, Any]], index: int
    ) -> SendResult:
        s = self.settings
        period = self.period()
        if (
            s.monthly_push_quota is not None
            and await self.counter.get(self.name, period) >= s.monthly_push_quota
        ):
            log.warning("line: monthly push quota reached, not pushing")
            return SendResult(ok=False, permanent=True, reason=QUOTA_REASON)
        key = delivery.idempotency_key if index == 0 else f"{delivery.idempotency_key}#{index}"
        retry_key = str(uuid.uuid5(RETRY_KEY_NAMESPACE, key))
        # A push that got no answer is simply retried: the retry key makes it safe.
        answer = await self._post(
            "/v2/bot/message/push",
            {"to": delivery.user_id, "messages": batch},
            {"X-Line-Retry-Key": retry_key},
        )
        if answer.status == 409:  # this retry key was accepted before: already delivered
            return SendResult(ok=True)
        if 200 <= answer.status < 300:
            await self._count_push(period)
            return SendResult(ok=True)
        if answer.status == 429 and "monthly limit" in _message(answer.body).lower():
            return SendResult(ok=False, permanent=True, reason=QUOTA_REASON)
        return self._result(answer)

    async def _count_push(self, period: str) -> None:
        total = await self.counter.add(self.name, period, 1)
        quota = self.settings.monthly_push_quota
        if not quota:
            return
        LINE_PUSH_USED.set(total / quota)
        if total >= quota * self.settings.quota_warn_ratio and self._warned_period != period:
            self._warned_period = period
            log.warning("line: %d of %d monthly push messages used (%s)", total, quota, period)

    def period(self, now: datetime | None = None) -> str:
        """The quota month, e.g. "2025-03", in the configured time zone."""
        tz = timezone(timedelta(hours=self.settings.quota_utc_offset_hours))
        return (now or datetime.now(UTC)).astimezone(tz).strftime("%Y-%m")

    def _result(self, answer: Answer) -> SendResult:
        reason = f"line_http_{answer.status}" if answer.status else "line_network"
        detail = _message(answer.body)
        if detail:
            reason = f"{reason}: {detail[:200]}"
        retry_after = retry_after_header(answer.headers.get("Retry-After"))
        return result_for_status(self.name, answer.status or 599, retry_after, reason)

    async def _post(
        self, path: str, payload: dict[str, Any], extra: dict[str, str] | None = None
    ) -> Answer:
        """POST to the API; a network error or timeout is an Answer with status 0."""
        headers = {"Authorization": f"Bearer {self.settings.access_token}"}
        headers.update(extra or {})
        url = self.settings.api_base.rstrip("/") + path
        try:
            async with self.http.post(
                url,
                json=payload,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
            ) as resp:
                return Answer(resp.status, await resp.text(), dict(resp.headers))
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("line: %s failed: %s", path, type(exc).__name__)
            return Answer(0, may_have_arrived=may_have_arrived(exc))


@dataclass(frozen=True, slots=True)
class Answer:
    """LINE's answer to one call; status 0 when there was none."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    may_have_arrived: bool = False  # no answer, and LINE may have carried the call out


def _message(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    return str(data.get("message", "")) if isinstance(data, dict) else ""
