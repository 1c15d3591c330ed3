"""The one webhook endpoint every platform shares: size-bound, verify, parse, store, 200."""

from __future__ import annotations

from aiohttp import web

from bot import metrics
from bot.channels.base import Channel, WebhookRejected
from bot.logs import get_logger
from bot.services import Services

log = get_logger("webhooks")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` without reading all of it."""
    if request.content_length is not None and request.content_length > limit:
        raise WebhookRejected(413, "body too large")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise WebhookRejected(413, "body too large")
    return bytes(body)


def make_webhook(services: Services, channel: Channel) -> web.Handler:
    async def webhook(request: web.Request) -> web.Response:
        if request.method == "GET":
            return await channel.handle_get(request)
        try:
            body = await read_body(request, channel.max_body_bytes)
            await channel.verify(request, body)
            events = channel.parse(body)
        except WebhookRejected as rejected:
            metrics.WEBHOOK_REJECTED.labels(channel.name, str(rejected.status)).inc()
            log.info(
                "webhook_rejected",
                platform=channel.name,
                status=rejected.status,
                reason=rejected.reason,
            )
            return web.json_response({"error": rejected.reason}, status=rejected.status)
        if services.early_parses is not None:
            services.early_parses.ask(events)
        # Answer only once the events are stored: a platform that gets no 200 redelivers.
        stored = await services.inbox_writer.accept(events)
        if stored:
            services.wakeup.set()
        log.info("webhook_accepted", platform=channel.name, events=len(events), stored=stored)
        return web.json_response({"ok": True})

    return webhook
