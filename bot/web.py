"""The aiohttp application: webhooks, web chat, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select, text

from bot import metrics
from bot.config import Settings
from bot.console import setup_console
from bot.crypto import pseudonym
from bot.logs import get_logger
from bot.outbox import decode_payload
from bot.parse_early import EarlyParses
from bot.pipeline import command_word
from bot.ratelimit import build_limiter, rate_limit_middleware, secure_headers
from bot.runtime import start_services, stop_services
from bot.services import Services
from bot.storage.models import OutboxMessage
from bot.webhooks import make_webhook
from bot.worker import Worker, queue_depths
from nlu.types import LANGUAGES, IntentClassifier

log = get_logger("web")
STATIC = Path(__file__).resolve().parent / "webchat_static"
SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
WEBHOOKS: web.AppKey[dict] = web.AppKey("webhooks", dict)
# How long one event stream stays open; the browser reconnects with Last-Event-ID.
STREAM_SECONDS = 300.0
STREAM_POLL_SECONDS = 0.3


async def platform_webhook(request: web.Request) -> web.StreamResponse:
    name = request.match_info["platform"]
    handler = request.app[WEBHOOKS].get(name) if name != "webchat" else None
    if handler is None:
        raise web.HTTPNotFound(text=f"platform {name!r} is not configured")
    if request.method not in ("GET", "POST"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
    return await handler(request)


async def webchat_messages(request: web.Request) -> web.StreamResponse:
    return await request.app[WEBHOOKS]["webchat"](request)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    report: dict[str, object] = {}
    status = 200
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        report["database"] = "ok"
        report["queues"] = {f"{q}.{s}": n for (q, s), n in (await queue_depths(services)).items()}
    except Exception as exc:
        report["database"] = f"unreachable: {type(exc).__name__}"
        status = 503
    nlu_ok = await services.classifier.healthy()
    metrics.NLU_DEGRADED.set(0 if nlu_ok else 1)
    # The keyword fallback still answers, so a degraded NLU does not fail the check.
    report["nlu"] = "ok" if nlu_ok else "degraded"
    report["status"] = (
        "ok" if status == 200 and nlu_ok else ("degraded" if status == 200 else "down")
    )
    return web.json_response(report, status=status)


async def metrics_view(request: web.Request) -> web.Response:
    await queue_depths(request.app[SERVICES])
    response = web.Response(body=generate_latest(metrics.REGISTRY))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


WEBCHAT_STRINGS = ("webchat_title", "webchat_placeholder", "webchat_send", "webchat_offline")


async def webchat_strings(request: web.Request) -> web.Response:
    content = request.app[SERVICES].content
    keys = (*WEBCHAT_STRINGS, *(f"lang_{lang}" for lang in LANGUAGES))
    return web.json_response({lang: {k: content.ui(lang, k) for k in keys} for lang in LANGUAGES})


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def chat_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the bot's replies to one web chat session, in order."""
    services = request.app[SERVICES]
    session_id = request.query.get("session", "")
    if not 1 <= len(session_id) <= 64:
        raise web.HTTPBadRequest(text="session is required")
    recipient = pseudonym(services.settings.pseudonym_key, "webchat", session_id)
    try:
        last_id = int(request.headers.get("Last-Event-ID") or request.query.get("after") or 0)
    except ValueError:
        raise web.HTTPBadRequest(text="Last-Event-ID must be a number") from None
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    deadline = time.monotonic() + STREAM_SECONDS
    while time.monotonic() < deadline:
        async with services.db() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.payload_enc)
                    .where(
                        OutboxMessage.recipient == recipient,
                        OutboxMessage.platform == "webchat",
                        OutboxMessage.state == "sent",
                        OutboxMessage.id > last_id,
                    )
                    .order_by(OutboxMessage.id)
                )
            ).all()
        for row_id, payload in rows:
            data = decode_payload(services.vault, payload)
            replies = [
                {
                    "text": r.text,
                    "buttons": [{"label": b.label, "payload": b.payload} for b in r.buttons],
                }
                for r in data["replies"]
            ]
            body = json.dumps({"replies": replies}, ensure_ascii=False)
            await response.write(f"id: {row_id}\nevent: replies\ndata: {body}\n\n".encode())
            last_id = row_id
        if not rows:
            await response.write(b": keep-alive\n\n")
        await asyncio.sleep(STREAM_POLL_SECONDS)
    return response


def create_app(settings: Settings, classifier: IntentClassifier | None = None) -> web.Application:
    limiter = build_limiter(settings)
    app = web.Application(
        client_max_size=2 * 1024 * 1024,
        middlewares=[rate_limit_middleware(settings, limiter)],  # per-IP, bot.ratelimit
    )
    app.on_response_prepare.append(secure_headers)

    async def close_limiter(_app: web.Application) -> None:
        await limiter.close()

    app.on_cleanup.append(close_limiter)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        services = await start_services(settings, classifier)
        app[SERVICES] = services
        app[WEBHOOKS] = {
            name: make_webhook(services, channel) for name, channel in services.channels.items()
        }
        stop = asyncio.Event()
        worker_task = None
        if settings.embedded_worker:
            services.early_parses = EarlyParses(services, command_word)
            worker_task = asyncio.create_task(Worker(services).run(stop))
        log.info("web_started", channels=sorted(services.channels))
        yield
        stop.set()
        if worker_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
        if services.early_parses is not None:
            services.early_parses.close()
        await stop_services(services)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_post("/chat/messages", webchat_messages)
    app.router.add_route("*", "/webhooks/{platform}", platform_webhook)
    app.router.add_get("/chat/events", chat_events)
    app.router.add_get("/chat/strings", webchat_strings)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    setup_console(app, settings)
    return app
