"""Facebook Messenger channel: Graph API Send API over the injected aiohttp session.

Window rules (Meta messaging policy): inside 24 h of the user's last message anything may
be sent (messaging_type RESPONSE). From 24 h to 7 days only a human may answer, tagged
HUMAN_AGENT. Beyond 7 days nothing may be sent: the delivery fails permanently with
"messenger_window_closed" and the console reports it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

from bot.channels.base import SendResult, WebhookRejected
from bot.channels.common import (
    UNKNOWN_EVENTS,
    PlatformChannel,
    PlatformSettings,
    event_key,
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
from bot.channels.text_split import shorten
from bot.messages import Button, Delivery, EventKind, Incoming, Reply

WINDOW_CLOSED = "messenger_window_closed"
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# Graph error codes that mean "slow down" rather than "this request is wrong".
_RATE_LIMIT_CODES = {4, 17, 32, 613}
# messaging[i] keys we know and deliberately ignore.
_IGNORED = ("delivery", "read", "optin", "referral", "account_linking", "policy_enforcement")


@dataclass(frozen=True, slots=True)
class MessengerSettings(PlatformSettings):
    app_secret: str
    page_access_token: str
    verify_token: str
    api_base: str = "https://graph.facebook.com"
    graph_version: str = "v21.0"
    get_started_payload: str = "get_started"  # this postback becomes a FOLLOW
    timeout_s: float = 10.0
    text_limit: int = 2000
    quick_reply_limit: int = 13
    title_limit: int = 20
    payload_limit: int = 1000
    default_retry_after_s: float = 60.0
    max_body_bytes: int = 1024 * 1024


class MessengerChannel(PlatformChannel[MessengerSettings]):
    name: ClassVar[str] = "messenger"

    # -- inbound ---------------------------------------------------------------------------

    async def handle_get(self, request: web.Request) -> web.Response:
        q = request.query
        token = q.get("hub.verify_token", "")
        if (
            q.get("hub.mode") == "subscribe"
            and token
            and hmac.compare_digest(token.encode(), self.settings.verify_token.encode())
        ):
            return web.Response(text=q.get("hub.challenge", ""), content_type="text/plain")
        return web.Response(status=403, text="forbidden")

    async def verify(self, request: web.Request, body: bytes) -> None:
        given = request.headers.get("X-Hub-Signature-256", "")
        mac = hmac.new(self.settings.app_secret.encode(), body, hashlib.sha256).hexdigest()
        if len(given) != 71 or not hmac.compare_digest(f"sha256={mac}", given.lower()):
            raise WebhookRejected(401, "bad Messenger signature")

    def parse(self, body: bytes) -> list[Incoming]:
        data = load_json(body)
        entries = require(data, "entry")
        if not isinstance(entries, list):
            raise WebhookRejected(400, "entry is not a list")
        if data.get("object") != "page":  # e.g. "instagram": not ours
            UNKNOWN_EVENTS.labels(self.name).inc()
            return []
        out: list[Incoming] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise WebhookRejected(400, "entry items must be objects")
            messaging = require(entry, "messaging") if "standby" not in entry else []
            if not isinstance(messaging, list):
                raise WebhookRejected(400, "messaging is not a list")
            for event in messaging:
                if (inc := self._parse_event(event)) is not None:
                    out.append(inc)
        return out

    def _parse_event(self, ev: Any) -> Incoming | None:
        sender = require_str(ev, "sender", "id")
        timestamp = ev.get("timestamp")
        common: dict[str, Any] = {
            "platform": self.name,
            "user_id": sender,
            "address": {"page_id": str((ev.get("recipient") or {}).get("id", ""))},
            "occurred_at": from_epoch_ms(timestamp),
        }
        if "message" in ev:
            msg = require(ev, "message")
            if msg.get("is_echo"):
                return None  # our own message, echoed back
            common["event_id"] = event_key(require_str(msg, "mid"))
            if (qr := msg.get("quick_reply")) and qr.get("payload"):
                payload = str(qr["payload"])
                return Incoming(
                    kind=EventKind.POSTBACK, payload=payload, text=msg.get("text", ""), **common
                )
            attachments = msg.get("attachments")
            if attachments:
                first = attachments[0] if isinstance(attachments, list) else {}
                media = "sticker" if msg.get("sticker_id") else str(first.get("type", "unknown"))
                return Incoming(kind=EventKind.UNSUPPORTED, media_type=media, **common)
            text = msg.get("text")
            if not isinstance(text, str):
                raise WebhookRejected(400, "message without text or attachments")
            return Incoming(kind=EventKind.TEXT, text=text, **common)
        if "postback" in ev:
            postback = require(ev, "postback")
            payload = require_str(postback, "payload")
            mid = postback.get("mid")
            common["event_id"] = (
                event_key(mid) if mid else event_key(sender, require_str(ev, "timestamp"))
            )
            if payload == self.settings.get_started_payload:
                return Incoming(kind=EventKind.FOLLOW, payload=payload, **common)
            return Incoming(kind=EventKind.POSTBACK, payload=payload, **common)
        for kind, media in (("reaction", "reaction"), ("message_edit", "edit")):
            if kind in ev:
                inner = ev[kind] if isinstance(ev[kind], dict) else {}
                mid = inner.get("mid") or require_str(ev, "timestamp")
                common["event_id"] = event_key(kind, mid, timestamp)
                return Incoming(kind=EventKind.UNSUPPORTED, media_type=media, **common)
        if any(key in ev for key in _IGNORED):
            return None
        UNKNOWN_EVENTS.labels(self.name).inc()
        return None

    # -- outbound --------------------------------------------------------------------------

    def render(self, replies: tuple[Reply, ...]) -> list[dict[str, Any]]:
        """Reply objects -> Send API `message` objects, quick replies on a reply's last part."""
        out: list[dict[str, Any]] = []
        for part, buttons in message_parts(replies, self.settings.text_limit):
            message: dict[str, Any] = {"text": part}
            quick = self._quick_replies(buttons) if buttons else []
            if quick:
                message["quick_replies"] = quick
            out.append(message)
        return out

    def _quick_replies(self, buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
        s = self.settings
        kept = kept_buttons(self.name, buttons, s.payload_limit, s.quick_reply_limit)
        return [
            {"content_type": "text", "title": shorten(b.label, s.title_limit), "payload": b.payload}
            for b in kept
        ]

    def messaging_type(self, delivery: Delivery, now: datetime | None = None) -> dict[str, str]:
        """The messaging_type (and tag) this delivery may use; {} if it may not be sent."""
        seen = delivery.user_last_seen
        if seen is None:
            return {}
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        age = (now or datetime.now(UTC)) - seen
        if age <= STANDARD_WINDOW:
            return {"messaging_type": "RESPONSE"}
        if delivery.sender == "volunteer" and age <= HUMAN_AGENT_WINDOW:
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        return {}

    async def send(self, delivery: Delivery) -> SendResult:
        """One Send API call per part; a retry starts at the first part Meta did not take."""
        mtype = self.messaging_type(delivery)
        if not mtype:
            log.info("messenger: window closed for a %s reply", delivery.sender)
            return SendResult(ok=False, permanent=True, reason=WINDOW_CLOSED)
        parts = self.render(delivery.replies)
        for index in range(delivery.parts_sent, len(parts)):
            body = {"recipient": {"id": delivery.user_id}, **mtype, "message": parts[index]}
            result = await self._post(body)
            if not result.ok:
                return replace(result, parts_sent=index)
        return SendResult(ok=True, parts_sent=len(parts))

    async def _post(self, payload: dict[str, Any]) -> SendResult:
        s = self.settings
        url = f"{s.api_base.rstrip('/')}/{s.graph_version}/me/messages"
        try:
            async with self.http.post(
                url,
                params={"access_token": s.page_access_token},
                json=payload,
                timeout=aiohttp.ClientTimeout(total=s.timeout_s),
            ) as resp:
                status, text = resp.status, await resp.text()
                retry_after = retry_after_header(resp.headers.get("Retry-After"))
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("messenger: send failed: %s", type(exc).__name__)
            # The Send API has no idempotency key: after a timeout, sending again could
            # deliver the message twice.
            return SendResult(ok=False, uncertain=may_have_arrived(exc), reason="messenger_network")
        if 200 <= status < 300:
            return SendResult(ok=True)
        error = _graph_error(text)
        code = error.get("code")
        reason = f"messenger_http_{status}: {error.get('message', '')}"[:250]
        if status == 429 or code in _RATE_LIMIT_CODES:
            return SendResult(
                ok=False, retry_after=retry_after or s.default_retry_after_s, reason=reason
            )
        if code == 10 and error.get("error_subcode") == 2018278:  # outside the allowed window
            return SendResult(ok=False, permanent=True, reason=WINDOW_CLOSED)
        return result_for_status(self.name, status, retry_after, reason)


def _graph_error(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}
