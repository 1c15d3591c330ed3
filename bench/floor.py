"""The floor: the least the bot's stack costs for the bot's contract, beside the bot.

    python -m bench.floor --database sqlite+aiosqlite:///x.db --port 8099   # web + worker
    python -m bench.floor --database postgresql+asyncpg://... --port 8099 --role web
    python -m bench.floor --database postgresql+asyncpg://... --role worker

A service that keeps the delivery contract of the bot and does nothing else, built from the
same parts (aiohttp, SQLAlchemy with the bot's engine and SQLite settings, asyncpg): the
web chat webhook (`POST /chat/messages`, the load generator's own requests) stores the
event and answers only after a durable commit, with group commit as `bot.inbox.InboxWriter`;
a worker claims stored events in batches with a lease (one commit, as `bot.worker`), then
stores one reply each and marks them done (a second commit). No decryption or encryption,
contacts, conversations, message log, flows, logging or metrics. `bench.run`'s figure
`floor` runs it with the same load as the bot: what lies between the two is the bot's own
work, and the floor is the most any code on these parts could do on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time

from aiohttp import web
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import create_engine, is_sqlite
from bot.storage.leases import dialect_insert

BATCH = 20  # the bot's worker.batch_size
POLL_SECONDS = 0.2  # the bot's worker.poll_interval_seconds
LEASE_SECONDS = 60.0

metadata = MetaData()
floor_inbox = Table(
    "floor_inbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_key", String(200), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("state", String(12), nullable=False, index=True),
    Column("received_at", Float, nullable=False),
    Column("locked_until", Float),
    Column("processed_at", Float),
)
floor_outbox = Table(
    "floor_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_key", String(200), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("stored_at", Float, nullable=False),
)


class Floor:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        self.insert_event = dialect_insert(dialect)(floor_inbox).on_conflict_do_nothing()
        self.insert_reply = dialect_insert(dialect)(floor_outbox).on_conflict_do_nothing()
        due = (
            select(floor_inbox.c.id)
            .where(floor_inbox.c.state == "pending")
            .order_by(floor_inbox.c.id)
            .limit(BATCH)
        )
        if not is_sqlite(str(engine.url)):
            due = due.with_for_update(skip_locked=True)
        self.claim = (
            update(floor_inbox)
            .where(floor_inbox.c.id.in_(due.scalar_subquery()))
            .values(state="processing", locked_until=bindparam("until"))
            .returning(floor_inbox.c.id, floor_inbox.c.event_key, floor_inbox.c.payload)
        )
        self.done = (
            update(floor_inbox)
            .where(floor_inbox.c.id.in_(bindparam("ids", expanding=True)))
            .values(state="done", processed_at=bindparam("now"))
        )
        self.waiting: list[tuple[dict, asyncio.Future[None]]] = []
        self.writing: asyncio.Task[None] | None = None
        self.wakeup = asyncio.Event()

    # --- the webhook ---------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            key = f"{body['session']}:{body['id']}"
            payload = body.get("payload") or body["text"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "bad request"}, status=400)
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        row = {"event_key": key, "payload": payload, "state": "pending"}
        self.waiting.append((row, stored))
        if self.writing is None or self.writing.done():
            self.writing = asyncio.create_task(self.write_waiting())
        await stored
        return web.json_response({"ok": True})

    async def write_waiting(self) -> None:
        """Group commit: the requests that came while one commit was on its way share the
        next one."""
        while self.waiting:
            batch, self.waiting = self.waiting[:500], self.waiting[500:]
            now = time.time()
            try:
                async with self.engine.begin() as conn:
                    rows = [{**row, "received_at": now} for row, _ in batch]
                    await conn.execute(self.insert_event, rows)
            except Exception as exc:
                for _, stored in batch:
                    stored.set_exception(exc)
                continue
            for _, stored in batch:
                if not stored.done():
                    stored.set_result(None)
            self.wakeup.set()

    # --- the worker ----------------------------------------------------------------
    async def work(self) -> None:
        while True:
            handled = await self.handle_batch()
            if handled < BATCH:
                self.wakeup.clear()
                # A wake-up from this process's webhook, else the poll (another process's).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), POLL_SECONDS)

    async def handle_batch(self) -> int:
        async with self.engine.begin() as conn:  # the claim commits on its own, as the bot's
            claimed = (await conn.execute(self.claim, {"until": time.time() + LEASE_SECONDS})).all()
        if not claimed:
            return 0
        async with self.engine.begin() as conn:
            now = time.time()
            replies = [
                {
                    "event_key": key,
                    "body": json.dumps({"text": f"You chose {payload}."}),
                    "stored_at": now,
                }
                for _, key, payload in claimed
            ]
            await conn.execute(self.insert_reply, replies)
            await conn.execute(self.done, {"ids": [row_id for row_id, _, _ in claimed], "now": now})
        return len(claimed)


async def serve(database: str, port: int, role: str) -> None:
    engine = create_engine(database)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    floor = Floor(engine)
    tasks = []
    if role in ("both", "worker"):
        tasks.append(asyncio.create_task(floor.work()))
    if role in ("both", "web"):
        app = web.Application(client_max_size=65536)
        app.router.add_post("/chat/messages", floor.webhook)
        app.router.add_get("/healthz", lambda _: web.json_response({"ok": True}))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    print(json.dumps({"event": "floor_ready", "role": role}), flush=True)
    await asyncio.Event().wait()  # until the benchmark stops the process


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--role", choices=["both", "web", "worker"], default="both")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.database, args.port, args.role))


if __name__ == "__main__":
    main()
