"""The web chat: our own channel, over HTTP POST in and server-sent events out.

Replies are read back from the outbox by the event stream, so any web process can serve
any browser and nothing lives in one process's memory.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar

from aiohttp import web

from bot.channels.base import Channel, SendResult, WebhookRejected
from bot.messages import Delivery, EventKind, Incoming

MAX_ID_CHARS = 64


def _identifier(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise WebhookRejected(400, f"'{field}' must be a string of 1 to {MAX_ID_CHARS} characters")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise WebhookRejected(400, f"'{field}' must be a UUID") from None


class WebChatChannel(Channel):
    name: ClassVar[str] = "webchat"
    delivered_when_stored: ClassVar[bool] = True

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes  # type: ignore[misc]

    async def verify(self, request: web.Request, body: bytes) -> None:
        # Anyone may chat: the session UUID is the identity. Only JSON is accepted.
        if request.content_type != "application/json":
            raise WebhookRejected(415, "send application/json")

    def parse(self, body: bytes) -> list[Incoming]:
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise WebhookRejected(400, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise WebhookRejected(400, "the body must be a JSON object")
        session = _identifier(data.get("session"), "session")
        message_id = _identifier(data.get("id"), "id")
        text, payload = data.get("text"), data.get("payload")
        if payload is not None:
            if not isinstance(payload, str) or len(payload) > 64:
                raise WebhookRejected(400, "'payload' must be a string of at most 64 characters")
            kind, text = EventKind.POSTBACK, ""
        elif data.get("start") is True:
            kind, text, payload = EventKind.FOLLOW, "", ""
        elif isinstance(text, str):
            kind, payload = EventKind.TEXT, ""
        else:
            raise WebhookRejected(400, "send 'text' (a string) or 'payload'")
        return [
            Incoming(
                platform=self.name,
                event_id=f"{session}:{message_id}",
                user_id=session,
                kind=kind,
                text=text,
                payload=payload,
            )
        ]

    async def send(self, delivery: Delivery) -> SendResult:
        # Delivered = stored: the browser's event stream reads sent rows from the outbox.
        return SendResult(ok=True)
