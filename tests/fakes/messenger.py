"""Fake Graph API Send API: access token, messaging_type/tag rules and the reply windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer

TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
TAGS = {"HUMAN_AGENT", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"}


class FakeMessenger(FakeServer):
    def __init__(self, page_token: str = "page-token", version: str = "v21.0") -> None:
        super().__init__()
        self.page_token = page_token
        self.version = version
        # psid -> when the user last wrote; the real platform knows this, so the fake does too
        self.last_user_message: dict[str, datetime] = {}
        self.app.router.add_post("/{version}/me/messages", self.send)

    def messages(self) -> list[dict[str, Any]]:
        return [c["json"] for c in self.accepted]

    def delivered(self) -> list[tuple[str, str]]:
        """(PSID, text) of every message accepted."""
        return [(m["recipient"]["id"], m["message"]["text"]) for m in self.messages()]

    def error_body(self, status: int) -> Any:
        return {
            "error": {
                "message": f"scripted {status}",
                "type": "OAuthException",
                "code": 2 if status >= 500 else 100,
                "fbtrace_id": "x",
            }
        }

    def error_body_for(self, status: int, why: str) -> Any:
        code, _, message = why.partition(":")
        code_num, _, sub = code.partition("/")
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": int(code_num),
            "fbtrace_id": "x",
        }
        if sub:
            error["error_subcode"] = int(sub)
        return {"error": error}

    async def send(self, request: web.Request) -> web.Response:
        if request.match_info["version"] != self.version:
            return self.reject(400, "2500:Unknown path components")
        if request.query.get("access_token") != self.page_token:
            return self.reject(400, "190:Invalid OAuth access token.")
        if (scripted := await self.scripted(request)) is not None:
            return scripted
        try:
            data = await request.json()
        except ValueError:
            return self.reject(400, "100:Invalid JSON")
        if (why := self._check(data)) is not None:
            return self.reject(400, why)
        self.record(request, data)
        return web.json_response({"recipient_id": data["recipient"]["id"], "message_id": "m.1"})

    def _check(self, data: Any) -> str | None:
        psid = (data.get("recipient") or {}).get("id")
        if not psid:
            return "100:(#100) The parameter recipient is required"
        mtype, tag = data.get("messaging_type"), data.get("tag")
        if mtype not in TYPES:
            return "100:(#100) messaging_type is required and must be valid"
        if (mtype == "MESSAGE_TAG") != (tag is not None) or (tag is not None and tag not in TAGS):
            return "100:(#100) Tag is required with MESSAGE_TAG and only with it"
        message = data.get("message") or {}
        text = message.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 2000:
            return "100:(#100) Length of param message[text] must be less than or equal to 2000"
        quick = message.get("quick_replies")
        if quick is not None:
            if not isinstance(quick, list) or not 1 <= len(quick) <= 13:
                return "100:(#100) param message[quick_replies] must have at most 13 elements"
            for q in quick:
                if q.get("content_type") != "text" or not 1 <= len(q.get("title", "")) <= 20:
                    return "100:(#100) quick reply title must be 1 to 20 characters"
                if not 1 <= len(q.get("payload", "")) <= 1000:
                    return "100:(#100) quick reply payload must be 1 to 1000 characters"
        seen = self.last_user_message.get(psid)
        age = datetime.now(UTC) - seen if seen else timedelta.max
        allowed = timedelta(hours=24) if tag is None else timedelta(days=7)
        if mtype == "UPDATE" or age > allowed:
            return "10/2018278:(#10) This message is sent outside of allowed window."
        return None
