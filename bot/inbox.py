"""The durable inbox: every accepted event is stored before the webhook answers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.crypto import Vault, pseudonym
from bot.messages import EventKind, Incoming
from bot.storage import leases, notify
from bot.storage.models import InboxEvent, utcnow

BUSY_STATE = "processing"  # claimed by a worker, under its lease


def encode_event(vault: Vault, event: Incoming) -> bytes:
    data = asdict(event)
    data["occurred_at"] = event.occurred_at.isoformat()
    return vault.encrypt_json(data)


def decode_event(vault: Vault, token: bytes) -> Incoming:
    data = vault.decrypt_json(token)
    data["kind"] = EventKind(data["kind"])
    data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
    return Incoming(**data)


async def accept(db: async_sessionmaker, vault: Vault, key: bytes, events: list[Incoming]) -> int:
    """Store events, dropping redeliveries of a known (platform, event id). Returns new rows."""
    if not events:
        return 0
    rows = [
        {
            "platform": e.platform,
            "event_id": e.event_id,
            "sender": pseudonym(key, e.platform, e.user_id),
            "payload_enc": encode_event(vault, e),
        }
        for e in events
    ]
    async with db.begin() as session:
        statement = leases.insert_ignoring_duplicates(session, InboxEvent, rows)
        stored = len((await session.execute(statement.returning(InboxEvent.id))).all())
        if stored and session.bind.dialect.name == "postgresql":
            await session.execute(notify.notify_inbox())
    platform = events[0].platform
    metrics.MESSAGES_IN.labels(platform).inc(stored)
    if stored < len(events):
        metrics.DUPLICATES.labels(platform).inc(len(events) - stored)
    return stored


async def claim(session: AsyncSession, batch: int, lease: float) -> list[leases.Claimed]:
    # An expired lease means the worker died mid-way: its transaction rolled back, so the
    # event is simply handled again.
    return await leases.claim(
        session,
        InboxEvent,
        busy_state=BUSY_STATE,
        batch=batch,
        lease=lease,
        reclaim_expired=True,
        in_order_of="sender",
    )


async def mark_done(session: AsyncSession, row_id: int, lease_end: datetime) -> bool:
    return await leases.finish(
        session, InboxEvent, row_id, lease_end, state="done", processed_at=utcnow()
    )


async def mark_failed(
    session: AsyncSession,
    row_id: int,
    lease_end: datetime,
    error: str,
    *,
    max_attempts: int,
    base: float,
    cap: float,
) -> str:
    attempts = await session.scalar(select(InboxEvent.attempts).where(InboxEvent.id == row_id))
    attempts = attempts or 1
    if attempts >= max_attempts:
        state, available = "dead", utcnow()
        metrics.DEAD_LETTERS.labels("inbox", error[:40]).inc()
    else:
        state = "pending"
        available = utcnow() + timedelta(seconds=leases.backoff_seconds(attempts, base, cap))
    await leases.finish(
        session,
        InboxEvent,
        row_id,
        lease_end,
        state=state,
        available_at=available,
        last_error=error[:200],
    )
    return state
