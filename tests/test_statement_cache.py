"""Every statement of the hot path (webhook group commit, claim, handling, done) comes from
SQLAlchemy's compiled cache once warmed up: a statement without a cache key (such as a
VALUES of the rows themselves) would be compiled again on every call. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from aiohttp.test_utils import TestClient
from sqlalchemy import event
from sqlalchemy.engine.default import CACHE_HIT

from bot.inbox import InboxWriter
from bot.messages import EventKind, Incoming
from bot.services import Services
from bot.storage.models import utcnow
from bot.worker import Worker
from tests.support import services_of

USERS = [f"cache-{n}" for n in range(4)]


def events_of(user_id: str) -> list[Incoming]:
    """A request with a button and a question from one person."""
    return [
        Incoming(
            platform="webchat",
            event_id=uuid.uuid4().hex,
            user_id=user_id,
            kind=kind,
            text="Where can I get help with my wages?" if kind is EventKind.TEXT else "",
            payload="menu" if kind is EventKind.POSTBACK else "",
            occurred_at=utcnow(),
        )
        for kind in (EventKind.POSTBACK, EventKind.TEXT)
    ]


async def one_round(services: Services, users: list[str]) -> None:
    """Requests that arrive together (one group commit of several rows), then the drain."""
    writer = InboxWriter(services.db, services.vault, services.settings.pseudonym_key)
    stored = await asyncio.gather(*(writer.accept(events_of(user)) for user in users))
    assert stored == [2] * len(users)
    await Worker(services).drain()


async def test_the_hot_path_compiles_nothing_once_warm(chat: TestClient) -> None:
    services = services_of(chat)
    # A batch starts its new contacts' conversations in one INSERT: SQLAlchemy compiles
    # that once for one row and once for several (executemany), so both are warmed up.
    await one_round(services, USERS[:1])  # first contact, alone
    await one_round(services, USERS[:2])  # someone known, someone new
    await one_round(services, USERS[2:])  # more rows in one group commit, two new together

    outcomes: Counter[tuple[int, str]] = Counter()

    def on_execute(_conn, _cursor, statement, _params, context, _many) -> None:  # type: ignore[no-untyped-def]
        outcomes[(context.cache_hit, statement.split("\n", 1)[0][:60])] += 1

    event.listen(services.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        await one_round(services, [*USERS, "cache-new"])
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", on_execute)

    compiled = {key: n for key, n in outcomes.items() if key[0] != CACHE_HIT}
    assert sum(outcomes.values()) > 20
    assert compiled == {}
