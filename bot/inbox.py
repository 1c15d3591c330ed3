"""The durable inbox: every accepted event is stored before the webhook answers."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.crypto import Vault, pseudonym
from bot.messages import EventKind, Incoming
from bot.storage import leases, notify
from bot.storage.models import InboxEvent, utcnow

BUSY_STATE = "processing"  # claimed by a worker, under its lease


# dataclasses.asdict would deep-copy the address, which is encoded right away.
INCOMING_FIELDS = tuple(f.name for f in fields(Incoming))


def encode_event(vault: Vault, event: Incoming) -> bytes:
    data = {name: getattr(event, name) for name in INCOMING_FIELDS}
    data["occurred_at"] = event.occurred_at.isoformat()
    return vault.encrypt_json(data)


def decode_event(vault: Vault, token: bytes) -> Incoming:
    data = vault.decrypt_json(token)
    data["kind"] = EventKind(data["kind"])
    data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
    return Incoming(**data)


def inbox_rows(vault: Vault, key: bytes, events: list[Incoming]) -> list[dict[str, Any]]:
    return [
        {
            "platform": e.platform,
            "event_id": e.event_id,
            "sender": pseudonym(key, e.platform, e.user_id),
            "payload_enc": encode_event(vault, e),
        }
        for e in events
    ]


async def store(db: async_sessionmaker, requests: list[list[dict[str, Any]]]) -> list[int]:
    """Store the rows of several requests in one transaction, dropping redeliveries of a
    known (platform, event id); how many new rows each request brought. An event sent twice
    within the same transaction counts for the first request that had it."""
    rows = [row for request in requests for row in request]
    async with db.begin() as session:
        inserted = await leases.insert_new(session, InboxEvent, rows, ("platform", "event_id"))
        new = {tuple(key) for key in inserted}
        if new and session.bind.dialect.name == "postgresql":
            await session.execute(notify.notify_inbox())
    counts = []
    for request in requests:
        keys = {(row["platform"], row["event_id"]) for row in request}
        counts.append(len(keys & new))
        new -= keys
    return counts


def count_accepted(events: list[Incoming], stored: int) -> None:
    platform = events[0].platform
    metrics.MESSAGES_IN.labels(platform).inc(stored)
    if stored < len(events):
        metrics.DUPLICATES.labels(platform).inc(len(events) - stored)


async def accept(db: async_sessionmaker, vault: Vault, key: bytes, events: list[Incoming]) -> int:
    """Store one request's events in a transaction of their own. Returns new rows."""
    if not events:
        return 0
    [stored] = await store(db, [inbox_rows(vault, key, events)])
    count_accepted(events, stored)
    return stored


Queued = tuple[list[dict[str, Any]], asyncio.Future[int]]  # a request's rows, its answer


class InboxWriter:
    """Stores webhook requests with group commit: the requests that arrive while one commit
    is on its way to disk share the next one. Under load one fsync (3 ms here) serves many
    requests instead of one each, and SQLite's write lock is taken once for them; a request
    that arrives alone is written at once, as before. Each request still returns only after
    the commit that holds its events (a platform that gets no 200 redelivers)."""

    MAX_ROWS = 500  # per statement: well inside SQLite's limit on bound parameters

    def __init__(self, db: async_sessionmaker, vault: Vault, key: bytes) -> None:
        self.db, self.vault, self.key = db, vault, key
        self._waiting: list[Queued] = []
        self._writing: asyncio.Task[None] | None = None
        self._writing_now: list[Queued] = []

    async def accept(self, events: list[Incoming]) -> int:
        """Store one request's events; how many were new."""
        if not events:
            return 0
        stored: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((inbox_rows(self.vault, self.key, events), stored))
        if self._writing is None or self._writing.done():
            # A task of its own: a client that hangs up cancels its request, not the write
            # the other requests wait for.
            self._writing = asyncio.create_task(self._write_waiting())
        count = await stored
        count_accepted(events, count)
        return count

    async def settled(self) -> None:
        """Until the requests waiting now are stored; not those that come later, so the
        caller cannot starve either. The embedded worker lets the webhooks go first: on
        SQLite an insert that finds the write lock taken sleeps in steps of up to 100 ms,
        while the worker, which never sleeps, takes the lock again and again; a queue of
        requests left waiting that way stalled webhooks for seconds."""
        waiting = [stored for _, stored in (*self._writing_now, *self._waiting)]
        if waiting:
            await asyncio.wait(waiting)

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch = self._writing_now = self._take_batch()
            try:
                counts = await store(self.db, [rows for rows, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], error=exc)
                    continue
                # One request's failure must not fail the others: each again on its own.
                for rows, stored in batch:
                    try:
                        [count] = await store(self.db, [rows])
                    except Exception as own:
                        _settle(stored, error=own)
                    else:
                        _settle(stored, count)
                continue
            for (_, stored), count in zip(batch, counts, strict=True):
                _settle(stored, count)
        self._writing_now = []

    def _take_batch(self) -> list[Queued]:
        taken, rows = 0, 0
        for request, _ in self._waiting:
            if taken and rows + len(request) > self.MAX_ROWS:
                break
            taken, rows = taken + 1, rows + len(request)
        batch, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return batch


def _settle(stored: asyncio.Future[int], count: int = 0, error: Exception | None = None) -> None:
    if stored.done():  # its request was cancelled: nobody waits for the answer
        return
    if error is not None:
        stored.set_exception(error)
    else:
        stored.set_result(count)


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


async def mark_done(session: AsyncSession, rows: list[leases.Claimed]) -> bool:
    """Mark handled rows done, one statement per claim; False if a lease was lost."""
    by_lease: dict[datetime, list[int]] = {}
    for row in rows:
        by_lease.setdefault(row.lease_end, []).append(row.row_id)
    done = True
    for lease_end, row_ids in by_lease.items():
        done &= await leases.finish_many(
            session, InboxEvent, row_ids, lease_end, state="done", processed_at=utcnow()
        )
    return done


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
