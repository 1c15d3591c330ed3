"""An idle worker asks with one read whether anything is due, instead of claiming (a write
that takes SQLite's lock) five times a second; nothing due is ever left waiting for it.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func, insert, select, update

from bot import inbox
from bot import worker as worker_module
from bot.messages import EventKind, Incoming
from bot.services import Services
from bot.storage.models import InboxEvent, OutboxMessage, utcnow
from bot.worker import Worker
from tests.support import chat_client, services_of
from tests.test_outbox_send import queue_reply


def button(user_id: str, event_id: str | None = None) -> Incoming:
    return Incoming(
        platform="webchat",
        event_id=event_id or f"idle-{user_id}",
        user_id=user_id,
        kind=EventKind.POSTBACK,
        payload="menu",
        occurred_at=utcnow(),
    )


async def store_event(
    services: Services, *, due_in: float, state: str = "pending", event_id: str | None = None
) -> int:
    """An inbox row put straight into the table: no webhook, so no wake-up."""
    event = button(f"u{due_in}-{state}", event_id)
    values = {
        "platform": event.platform,
        "event_id": event.event_id,
        "sender": event.user_id,
        "payload_enc": inbox.encode_event(services.vault, event),
        "state": state,
        "available_at": utcnow() + timedelta(seconds=due_in),
        "locked_until": utcnow() + timedelta(seconds=due_in) if state != "pending" else None,
    }
    async with services.db.begin() as session:
        return int(await session.scalar(insert(InboxEvent).values(values).returning(InboxEvent.id)))


async def row_state(services: Services, row_id: int) -> str:
    async with services.db() as session:
        return str(await session.scalar(select(InboxEvent.state).where(InboxEvent.id == row_id)))


async def test_nothing_is_due_in_empty_queues(chat: TestClient) -> None:
    assert not await Worker(services_of(chat)).work_due()


@pytest.mark.parametrize(
    ("due_in", "state", "due"),
    [
        (-1.0, "pending", True),
        (60.0, "pending", False),  # a retry waiting for its backoff
        (-1.0, "processing", True),  # its worker died: the lease ran out
        (60.0, "processing", False),  # a worker holds it
        (-1.0, "done", False),
        (-1.0, "dead", False),
    ],
)
async def test_an_inbox_row_is_due_when_a_claim_would_take_it(
    chat: TestClient, due_in: float, state: str, due: bool
) -> None:
    services = services_of(chat)
    await store_event(services, due_in=due_in, state=state)
    assert await Worker(services).work_due() is due


@pytest.mark.parametrize(
    ("state", "lease_left", "due"),
    [
        ("pending", None, True),
        ("sending", -1.0, True),  # interrupted mid-send: expire_interrupted must see it
        ("sending", 60.0, False),
        ("sent", None, False),
        ("unknown", None, False),
    ],
)
async def test_an_outbox_row_is_due_when_the_sender_would_act_on_it(
    chat: TestClient, state: str, lease_left: float | None, due: bool
) -> None:
    services = services_of(chat)
    async with services.db.begin() as session:
        await queue_reply(session, services, "telegram", [])
        locked_until = None if lease_left is None else utcnow() + timedelta(seconds=lease_left)
        await session.execute(
            update(OutboxMessage).values(
                state=state, locked_until=locked_until, available_at=utcnow()
            )
        )
    assert await Worker(services).work_due() is due


@asynccontextmanager
async def running_worker(services: Services) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(services).run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def queue_writes(services: Services) -> tuple[list[str], Callable[[], None]]:
    """The UPDATE statements the engine runs on the queues from now on, and an undo."""
    seen: list[str] = []

    def on_statement(_conn, _cursor, statement: str, *_args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE") and (
            " inbox " in statement or " outbox " in statement
        ):
            seen.append(statement)

    sync_engine = services.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", on_statement)
    return seen, lambda: event.remove(sync_engine, "before_cursor_execute", on_statement)


async def wait_until_done(services: Services, row_id: int, seconds: float = 20.0) -> None:
    """A liveness check, not a timing one: the bound only keeps a hang from lasting."""
    for _ in range(int(seconds / 0.05)):
        if await row_state(services, row_id) == "done":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"inbox row {row_id} was never handled")


@asynccontextmanager
async def queue_writes_of_a_settled_worker(services: Services) -> AsyncIterator[list[str]]:
    """A running worker past its first round (which claims without asking), and the
    UPDATE statements on the queues from then until the block ends."""
    async with running_worker(services):
        await asyncio.sleep(services.settings.worker_poll_interval * 2)
        writes, undo = queue_writes(services)
        try:
            yield writes
        finally:
            undo()


async def test_an_idle_worker_claims_nothing(chat: TestClient) -> None:
    services = services_of(chat)
    async with queue_writes_of_a_settled_worker(services) as writes:
        await asyncio.sleep(services.settings.worker_poll_interval * 6)
    assert writes == []


async def test_a_row_that_falls_due_is_handled_without_a_wake_up(chat: TestClient) -> None:
    services = services_of(chat)
    poll = services.settings.worker_poll_interval
    async with running_worker(services):
        await asyncio.sleep(poll * 2)
        row_id = await store_event(services, due_in=poll * 3)  # e.g. a retry's backoff
        assert not services.wakeup.is_set()
        await wait_until_done(services, row_id)
        async with services.db() as session:
            replies = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert replies == 1


async def test_interrupted_sends_are_looked_for_on_a_timer_not_every_round(
    chat: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "INTERRUPTED_SENDS_SECONDS", 3600.0)
    services = services_of(chat)
    worker = Worker(services)
    writes, undo = queue_writes(services)
    try:
        await worker.send_outbox_once()
        first = len(writes)
        await worker.send_outbox_once()
        second = len(writes) - first
    finally:
        undo()
    assert (first, second) == (3, 1)  # expire_interrupted's two UPDATEs, then the claim


async def test_after_a_batch_the_worker_reads_before_it_claims_again(chat: TestClient) -> None:
    """One event: one round of claims, not a second round that finds nothing."""
    services = services_of(chat)
    async with queue_writes_of_a_settled_worker(services) as writes:
        row_id = await store_event(services, due_in=-1.0)
        services.wakeup.set()  # as the webhook does
        await wait_until_done(services, row_id)
        await asyncio.sleep(services.settings.worker_poll_interval * 3)
    claims = [w.split(" SET ")[0] for w in writes if "attempts" in w]
    assert claims == ["UPDATE inbox", "UPDATE outbox"]  # one round: the inbox, then the outbox


async def test_a_senders_next_event_is_handled_without_waiting_for_the_poll(
    database_url: str,
) -> None:
    """The second event waits while the first is busy (one sender's events in order);
    once the first is done, the read after the batch finds it, with a poll of a minute."""
    async with chat_client(database_url, BOT__WORKER__POLL_INTERVAL_SECONDS="60") as client:
        services = services_of(client)
        async with running_worker(services):
            await asyncio.sleep(0.5)  # the first round: nothing yet, then a minute's wait
            first = await store_event(services, due_in=-1.0, event_id="first")
            second = await store_event(services, due_in=-1.0, event_id="second")  # same sender
            services.wakeup.set()
            await wait_until_done(services, first)
            await wait_until_done(services, second, seconds=20.0)
