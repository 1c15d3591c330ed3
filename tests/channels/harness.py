"""Drive channels through a webhook app the way production does.

`webhook_app` builds the application the contract tests post to. Until the lead's
`bot/webhooks.py` exists this is a small reference handler with the documented flow
(bounded body -> verify -> parse -> inbox keyed by (platform, event_id)); once it lands,
`webhook_app` builds the real one and the same tests run against it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.channels.base import Channel, WebhookRejected
from bot.messages import Incoming


class MemoryInbox:
    """Inbox stand-in: the unique key (platform, event_id) drops redeliveries."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Incoming] = {}

    def add(self, event: Incoming) -> bool:
        key = (event.platform, event.event_id)
        if key in self.rows:
            return False
        self.rows[key] = event
        return True

    def events(self) -> list[Incoming]:
        return list(self.rows.values())


async def _read_bounded(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise WebhookRejected(413, "body too large")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise WebhookRejected(413, "body too large")
    return bytes(body)


def webhook_app(channels: dict[str, Channel], inbox: MemoryInbox) -> tuple[web.Application, Any]:
    """The app under test and a callable returning the stored inbox events."""
    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def post(request: web.Request) -> web.Response:
        channel = channels.get(request.match_info["platform"])
        if channel is None:
            raise web.HTTPNotFound()
        try:
            body = await _read_bounded(request, channel.max_body_bytes)
            await channel.verify(request, body)
            events = channel.parse(body)
        except WebhookRejected as exc:
            return web.Response(status=exc.status, text=exc.reason)
        for event in events:
            inbox.add(event)
        return web.Response(text="ok")

    async def get(request: web.Request) -> web.Response:
        channel = channels.get(request.match_info["platform"])
        if channel is None:
            raise web.HTTPNotFound()
        return await channel.handle_get(request)

    app.router.add_post("/webhooks/{platform}", post)
    app.router.add_get("/webhooks/{platform}", get)
    return app, inbox.events
