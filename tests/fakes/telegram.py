"""Fake Telegram Bot API: token in the path, limits checked like the real server."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer

SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram(FakeServer):
    def __init__(self, token: str = "123456:test-token") -> None:
        super().__init__()
        self.token = token
        self.webhook: dict[str, Any] = {}
        self.answered: list[str] = []
        self._message_id = 0
        self.app.router.add_post("/bot{token}/{method}", self.call)

    def messages(self) -> list[dict[str, Any]]:
        return [c["json"] for c in self.accepted if c["path"].endswith("/sendMessage")]

    def delivered(self) -> list[tuple[str, str]]:
        """(chat id, text) of every message accepted."""
        return [(str(m["chat_id"]), m["text"]) for m in self.messages()]

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            }
        return {"ok": False, "error_code": status, "description": f"scripted {status}"}

    def error_body_for(self, status: int, why: str) -> Any:
        return {"ok": False, "error_code": status, "description": why}

    async def call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self.reject(401, "Unauthorized")
        if (scripted := await self.scripted(request)) is not None:
            return scripted
        if request.content_type == "application/json":
            data = await request.json()
        else:  # form fields carry objects as JSON strings, as the real API expects
            data = {k: _maybe_json(v) for k, v in (await request.post()).items()}
        method = request.match_info["method"]
        handler = {
            "sendMessage": self._send_message,
            "answerCallbackQuery": self._answer,
            "setWebhook": self._set_webhook,
        }.get(method)
        if handler is None:
            return self.reject(404, "Not Found")
        return handler(request, data)

    def _send_message(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        if "chat_id" not in data:
            return self.reject(400, "Bad Request: chat_id is empty")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            return self.reject(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            return self.reject(400, "Bad Request: message is too long")
        markup = data.get("reply_markup")
        if markup is not None:
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            if not isinstance(rows, list) or not rows:
                return self.reject(400, "Bad Request: can't parse reply keyboard markup JSON")
            for row in rows:
                for button in row:
                    if not button.get("text"):
                        return self.reject(400, "Bad Request: text buttons are unallowed")
                    data_bytes = len(button.get("callback_data", "").encode())
                    if not 1 <= data_bytes <= 64:
                        return self.reject(400, "Bad Request: BUTTON_DATA_INVALID")
        self.record(request, data)
        self._message_id += 1
        chat = {"id": data["chat_id"], "type": "private"}
        result = {
            "message_id": self._message_id,
            "date": int(time.time()),
            "chat": chat,
            "text": text,
        }
        return web.json_response({"ok": True, "result": result})

    def _answer(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        if not data.get("callback_query_id"):
            return self.reject(400, "Bad Request: query id is empty")
        self.answered.append(str(data["callback_query_id"]))
        self.record(request, data)
        return web.json_response({"ok": True, "result": True})

    def _set_webhook(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        url = data.get("url", "")
        if not url.startswith("https://"):
            return self.reject(400, "Bad Request: bad webhook: HTTPS url must be provided")
        secret = data.get("secret_token")
        if secret is not None and not SECRET_RE.match(secret):
            return self.reject(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = data
        self.record(request, data)
        return web.json_response({"ok": True, "result": True, "description": "Webhook was set"})


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
