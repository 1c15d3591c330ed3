"""A worker that lost an event's lease (it ran out and another worker took the row) must
not commit its handling of that event: no reply from it, the row left to its new owner.
The other events of the same batch are still answered. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot import inbox
from bot.storage.models import InboxEvent, OutboxMessage, utcnow
from bot.worker import Worker, decodable_events
from tests.support import services_of
from tests.test_worker_idle import store_event


async def test_an_event_whose_lease_was_taken_over_is_not_answered(chat: TestClient) -> None:
    services = services_of(chat)
    kept = await store_event(services, due_in=-1.0)
    lost = await store_event(services, due_in=-2.0)
    async with services.db.begin() as session:
        claimed = await inbox.claim(session, batch=10, lease=30)
    assert sorted(row.row_id for row in claimed) == sorted([kept, lost])
    other_lease = utcnow() + timedelta(seconds=99)
    async with services.db.begin() as session:  # another worker reclaimed it
        await session.execute(
            update(InboxEvent).where(InboxEvent.id == lost).values(locked_until=other_lease)
        )
    worker = Worker(services)
    events = decodable_events(services, claimed)
    remaining = claimed
    while remaining:
        remaining = await worker._handle_batch(remaining, events, {})
    async with services.db() as session:
        states = dict((await session.execute(select(InboxEvent.id, InboxEvent.state))).all())
        keys = set((await session.scalars(select(OutboxMessage.idempotency_key))).all())
    assert states == {kept: "done", lost: "processing"}
    assert keys == {f"in:{kept}"}
