"""Several worker processes against one PostgreSQL: every event handled once, every reply
sent once, and a worker killed mid-way loses nothing."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import inbox
from bot.crypto import Vault
from bot.messages import EventKind, Incoming
from bot.storage.db import create_engine, session_factory
from bot.storage.models import InboxEvent, OutboxMessage
from tests.support import (
    TEST_SECRETS,
    dead_nlu_url,
    logged,
    process_environment,
    start_process,
    wait_until,
)

pytestmark = pytest.mark.postgres


def webchat_events(senders: int, per_sender: int) -> list[Incoming]:
    return [
        Incoming(
            platform="webchat",
            event_id=f"s{s}:m{m}",
            user_id=str(uuid.UUID(int=s)),
            kind=EventKind.TEXT,
            text=f"hello {m}",
        )
        for m in range(per_sender)
        for s in range(senders)
    ]


async def counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            done = await db.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.state == "done")
            )
            outbox_total = await db.scalar(select(func.count()).select_from(OutboxMessage))
            sent = await db.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "sent")
            )
        return int(done or 0), int(outbox_total or 0), int(sent or 0)
    finally:
        await engine.dispose()


async def test_two_workers_drain_1000_rows_exactly_once(postgres_url: str, tmp_path: Path) -> None:
    env = process_environment(postgres_url, NLU_URL=dead_nlu_url())
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    workers = [start_process(["-m", "bot.cli", "worker"], env, log) for log in logs]
    try:

        async def both_started() -> bool:
            return all(log.exists() and logged(log, "worker_started", "event") for log in logs)

        # Both workers poll before the rows arrive, so both can take a share.
        await wait_until(both_started, within=120)
        engine = create_engine(postgres_url)
        vault = Vault((TEST_SECRETS["ENCRYPTION_KEYS"],))
        events = webchat_events(senders=200, per_sender=5)
        key = TEST_SECRETS["PSEUDONYM_KEY"].encode()
        assert await inbox.accept(session_factory(engine), vault, key, events) == 1000
        await engine.dispose()

        async def drained() -> bool:
            done, total, sent = await counts(postgres_url)
            return done == 1000 and total == 1000 and sent == 1000

        await wait_until(drained, within=300)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)

    handled = Counter(i for log in logs for i in logged(log, "inbox_event_handled", "inbox_id"))
    sent = Counter(i for log in logs for i in logged(log, "outbox_sent", "outbox_id"))
    assert len(handled) == 1000 and set(handled.values()) == {1}
    assert len(sent) == 1000 and set(sent.values()) == {1}


async def test_worker_killed_between_nlu_and_send_replies_once_after_restart(
    postgres_url: str, tmp_path: Path
) -> None:
    from aiohttp import web

    from tests.support import free_port

    entered = []

    async def hang(request: web.Request) -> web.Response:
        entered.append(True)
        await asyncio.sleep(3600)
        return web.json_response({})

    nlu = web.Application()
    nlu.router.add_post("/model/parse", hang)
    runner = web.AppRunner(nlu, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    engine = create_engine(postgres_url)
    db = session_factory(engine)
    vault = Vault((TEST_SECRETS["ENCRYPTION_KEYS"],))
    event = webchat_events(senders=1, per_sender=1)
    await inbox.accept(db, vault, TEST_SECRETS["PSEUDONYM_KEY"].encode(), event)
    short_lease = {"BOT__WORKER__LEASE_SECONDS": "2", "BOT__NLU__TIMEOUT_SECONDS": "600"}
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_process(
        ["-m", "bot.cli", "worker"],
        process_environment(postgres_url, NLU_URL=f"http://127.0.0.1:{port}", **short_lease),
        first_log,
    )
    try:

        async def inside_nlu() -> bool:
            return bool(entered)

        await wait_until(inside_nlu, within=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    await runner.cleanup()
    assert await counts(postgres_url) == (0, 0, 0)

    second = start_process(
        ["-m", "bot.cli", "worker"],
        process_environment(postgres_url, NLU_URL=dead_nlu_url(), **short_lease),
        second_log,
    )
    try:

        async def replied() -> bool:
            return await counts(postgres_url) == (1, 1, 1)

        await wait_until(replied, within=120)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    async with db() as session:
        attempts = await session.scalar(select(InboxEvent.attempts))
    await engine.dispose()
    assert attempts == 2  # the killed attempt and the one that finished
    assert logged(second_log, "outbox_sent", "outbox_id") == [1]
    assert logged(first_log, "outbox_sent", "outbox_id") == []


async def test_a_worker_in_another_process_is_woken_by_notify(
    postgres_url: str, tmp_path: Path
) -> None:
    """It polls once an hour here, so only the NOTIFY of the storing transaction can wake it."""
    log_path = tmp_path / "worker.log"
    env = process_environment(
        postgres_url, NLU_URL=dead_nlu_url(), BOT__WORKER__POLL_INTERVAL_SECONDS="3600"
    )
    worker = start_process(["-m", "bot.cli", "worker"], env, log_path)
    try:

        async def listening() -> bool:
            return log_path.exists() and logged(log_path, "worker_started", "listening") == [True]

        await wait_until(listening, within=120)
        await asyncio.sleep(1.0)  # its first cycle found nothing and it went idle
        engine = create_engine(postgres_url)
        vault = Vault((TEST_SECRETS["ENCRYPTION_KEYS"],))
        key = TEST_SECRETS["PSEUDONYM_KEY"].encode()
        assert await inbox.accept(session_factory(engine), vault, key, webchat_events(1, 1)) == 1
        await engine.dispose()

        async def replied() -> bool:
            return await counts(postgres_url) == (1, 1, 1)

        await wait_until(replied, within=120)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
