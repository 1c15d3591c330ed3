"""Fake LINE Messaging API: as strict as the real one about what we send."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer

MESSAGE_KEYS = {"type", "text", "quickReply", "emojis", "quoteToken", "sender"}
ACTION_TYPES = {"postback", "message", "uri"}


class FakeLine(FakeServer):
    def __init__(self, access_token: str = "line-token") -> None:
        super().__init__()
        self.access_token = access_token
        self.reply_tokens: set[str] = set()  # valid, unused reply tokens
        self.token_users: dict[str, str] = {}  # reply token -> the user it answers
        self.retry_keys: set[str] = set()
        self.monthly_limit: int | None = None  # pushes accepted before "monthly limit" 429
        self.pushes = 0
        self.webhook_endpoint = ""
        self.app.router.add_post("/v2/bot/message/reply", self.reply)
        self.app.router.add_post("/v2/bot/message/push", self.push)
        self.app.router.add_put("/v2/bot/channel/webhook/endpoint", self.set_endpoint)

    def issue_reply_token(self, user_id: str = "") -> str:
        token = uuid.uuid4().hex
        self.reply_tokens.add(token)
        self.token_users[token] = user_id
        return token

    def messages(self) -> list[dict[str, Any]]:
        """Every message object accepted, in order, across reply and push calls."""
        return [m for call in self.accepted for m in call["json"].get("messages", [])]

    def delivered(self) -> list[tuple[str, str]]:
        """(user id, text) of every text message accepted, by reply or push."""
        out = []
        for call in self.accepted:
            data = call["json"]
            user = data.get("to") or self.token_users.get(data.get("replyToken", ""), "")
            out += [(user, m["text"]) for m in data.get("messages", [])]
        return out

    async def _common(self, request: web.Request) -> tuple[Any, web.Response | None]:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return None, self.reject(
                401,
                "Authentication failed. Confirm that the access token "
                "in the authorization header is valid.",
            )
        if (scripted := await self.scripted(request)) is not None:
            return None, scripted
        try:
            data = await request.json()
        except ValueError:
            return None, self.reject(400, "The request body has 1 error(s)")
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return None, self.reject(400, "Size must be between 1 and 5")
        for message in messages:
            if (why := self._check_message(message)) is not None:
                return None, self.reject(400, why)
        return data, None

    def _check_message(self, m: Any) -> str | None:
        if not isinstance(m, dict) or m.get("type") != "text" or set(m) - MESSAGE_KEYS:
            return "invalid message object"
        text = m.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 5000:
            return "Length must be between 0 and 5000"
        if "quickReply" in m:
            items = m["quickReply"].get("items")
            if not isinstance(items, list) or not 1 <= len(items) <= 13:
                return "quickReply.items: Size must be between 1 and 13"
            for item in items:
                action = item.get("action", {})
                label = action.get("label", "")
                if item.get("type") != "action" or action.get("type") not in ACTION_TYPES:
                    return "invalid quick reply item"
                if not 1 <= len(label) <= 20:
                    return "label: Length must be between 0 and 20"
                if action.get("type") == "postback":
                    if not 1 <= len(action.get("data", "")) <= 300:
                        return "data: Length must be between 0 and 300"
                    if len(action.get("displayText", "")) > 300:
                        return "displayText: Length must be between 0 and 300"
        return None

    async def reply(self, request: web.Request) -> web.Response:
        data, error = await self._common(request)
        if error is not None:
            return error
        token = data.get("replyToken")
        if token not in self.reply_tokens:
            return self.reject(400, "Invalid reply token")
        self.reply_tokens.discard(token)
        self.record(request, data)
        return web.json_response({"sentMessages": [{"id": "1"} for _ in data["messages"]]})

    async def push(self, request: web.Request) -> web.Response:
        data, error = await self._common(request)
        if error is not None:
            return error
        key = request.headers.get("X-Line-Retry-Key")
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                return self.reject(400, "X-Line-Retry-Key must be a UUID")
            if key in self.retry_keys:
                return self.reject(409, "The retry key is already accepted")
        if not isinstance(data.get("to"), str) or not data["to"]:
            return self.reject(400, "The property, 'to', in the request body is invalid")
        if self.monthly_limit is not None and self.pushes >= self.monthly_limit:
            return self.reject(429, "You have reached your monthly limit.")
        if key is not None:
            self.retry_keys.add(key)
        self.pushes += 1
        self.record(request, data)
        return web.json_response({"sentMessages": [{"id": "1"} for _ in data["messages"]]})

    async def set_endpoint(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self.reject(401, "Authentication failed")
        data = await request.json()
        endpoint = data.get("endpoint", "")
        if not endpoint.startswith("https://") or len(endpoint) > 500:
            return self.reject(400, "Invalid webhook endpoint URL")
        self.webhook_endpoint = endpoint
        self.record(request, data)
        return web.json_response({})
