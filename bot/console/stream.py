"""Live updates by server-sent events. Each stream polls the database about once a second:
no state is shared between processes, so any web process can serve any browser."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy import select

from bot.console import cases, pages
from bot.console.auth import Account, account_for
from bot.console.i18n import t
from bot.console.views import (
    CONFIG,
    SESSION_COOKIE,
    case_id_of,
    language,
    services_of,
    signed_in,
)
from bot.storage.models import Conversation, Volunteer, utcnow


async def open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    return response


def event(name: str, data: object, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, ensure_ascii=False)
    return f"{head}event: {name}\ndata: {body}\n\n".encode()


async def still_signed_in(request: web.Request) -> Account | None:
    services = services_of(request)
    async with services.db.begin() as session:
        return await account_for(
            session, request.app[CONFIG].policy, request.cookies.get(SESSION_COOKIE, "")
        )


# Idle polls between two keep-alive comments (proxies drop silent connections).
KEEP_ALIVE_EVERY = 15


async def poll(
    request: web.Request,
    response: web.StreamResponse,
    seconds: float,
    interval: float,
    tick: Callable[[Account], Awaitable[bool | None]],
) -> web.StreamResponse:
    """Run `tick` every `interval` for `seconds`, while the volunteer is still signed in.
    `tick` says whether it wrote an event (a keep-alive follows long silences), or None
    to end the stream."""
    deadline = time.monotonic() + seconds
    ticks = 0
    while time.monotonic() < deadline:
        current = await still_signed_in(request)
        if current is None:
            await response.write(event("signed_out", {}))
            break
        wrote = await tick(current)
        if wrote is None:
            break
        if not wrote and ticks % KEEP_ALIVE_EVERY == 0:
            await response.write(b": keep-alive\n\n")
        ticks += 1
        await asyncio.sleep(interval)
    return response


def quiet_disconnect(
    handler: Callable[[web.Request, Account], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request, Account], Awaitable[web.StreamResponse]]:
    """A browser that goes away mid-stream is normal, not an error."""

    async def wrapper(request: web.Request, account: Account) -> web.StreamResponse:
        try:
            return await handler(request, account)
        except ConnectionResetError:
            return web.Response(status=499)

    return wrapper


@signed_in
@quiet_disconnect
async def queue_events(request: web.Request, account: Account) -> web.StreamResponse:
    """`queue` events carry the rendered rows of the visible queue whenever they change."""
    services = services_of(request)
    config = request.app[CONFIG]
    lang = language(request)
    async with services.db.begin() as session:
        cases.audit(session, account, "view_queue_live")
    response = await open_stream(request)
    last_html = None

    async def tick(current: Account) -> bool | None:
        nonlocal last_html
        async with services.db() as session:
            rows = await cases.queue(session, current)
        body = str(pages.queue_rows(lang, rows, services.content, utcnow()))
        if body == last_html:
            return False
        await response.write(event("queue", {"html": body, "count": len(rows)}))
        last_html = body
        return True

    return await poll(request, response, config.stream_seconds, config.poll_seconds, tick)


@signed_in
@quiet_disconnect
async def case_events(request: web.Request, account: Account) -> web.StreamResponse:
    """`message` events: new messages of the case's conversation, in order, each with its id
    (the browser resumes with Last-Event-ID); `case` events when the status changes."""
    services = services_of(request)
    config = request.app[CONFIG]
    lang = language(request)
    case_id = case_id_of(request)
    try:
        after = int(request.headers.get("Last-Event-ID") or request.query.get("after") or 0)
    except ValueError:
        raise web.HTTPBadRequest(text="Last-Event-ID must be a number") from None
    async with services.db.begin() as session:
        try:
            await cases.load_case(session, account, case_id)
        except LookupError:
            raise web.HTTPNotFound() from None
        except cases.Forbidden:
            forbidden = True
        else:
            forbidden = False
            cases.audit(session, account, "view_case_live", case_id)
    if forbidden:
        raise web.HTTPForbidden()
    response = await open_stream(request)
    last_state = None

    async def tick(current: Account) -> bool | None:
        nonlocal after, last_state
        async with services.db() as session:
            try:
                case = await cases.load_case(session, current, case_id)
            except (LookupError, cases.Forbidden):
                await response.write(event("gone", {}))
                return None
            items = await cases.messages(session, services, case, after)
            holder = (
                await session.scalar(
                    select(Volunteer.display_name).where(Volunteer.id == case.claimed_by)
                )
                if case.claimed_by
                else None
            )
            handler = (
                await session.scalar(
                    select(Conversation.handler).where(Conversation.id == case.conversation_id)
                )
                if case.conversation_id
                else None
            )
        wrote = False
        for item in items:
            item["who"] = t(lang, f"sender_{item['sender']}")
            item["at_local"] = pages.local(datetime.fromisoformat(item["at"]))
            await response.write(event("message", item, item["id"]))
            after = item["id"]
            wrote = True
        state = (case.status, case.claimed_by, handler)
        if state != last_state:
            if last_state is not None:
                text = pages.status_text(lang, case.status, holder)
                await response.write(event("case", {"status": case.status, "text": text}))
                wrote = True
            last_state = state
        return wrote

    return await poll(request, response, config.stream_seconds, config.poll_seconds, tick)
