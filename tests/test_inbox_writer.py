"""Group commit of webhook requests (bot.inbox.InboxWriter): requests that arrive together
share one commit, each returns only once its events are stored, a redelivery is still
dropped, and one failing request fails alone. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func, select

from bot import inbox
from bot.inbox import InboxWriter
from bot.messages import EventKind, Incoming
from bot.services import Services
from bot.storage.models import InboxEvent
from tests.support import services_of


def writer_of(services: Services) -> InboxWriter:
    return InboxWriter(services.db, services.vault, services.settings.pseudonym_key)


def request(n: int = 1, event_id: str | None = None) -> list[Incoming]:
    """One webhook request's events (LINE may send several in one request)."""
    return [
        Incoming(
            platform="line",
            event_id=event_id or uuid.uuid4().hex,
            user_id=uuid.uuid4().hex,
            kind=EventKind.TEXT,
            text="hello",
        )
        for _ in range(n)
    ]


async def stored_rows(services: Services) -> int:
    async with services.db() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def count_commits(services: Services) -> list[int]:
    commits = [0]

    def on_commit(_conn: object) -> None:
        commits[0] += 1

    event.listen(services.engine.sync_engine, "commit", on_commit)
    return commits


async def test_requests_that_arrive_together_share_one_commit(chat: TestClient) -> None:
    services = services_of(chat)
    writer = writer_of(services)
    commits = count_commits(services)
    requests = [request(n % 3 + 1) for n in range(30)]
    counts = await asyncio.gather(*(writer.accept(events) for events in requests))
    assert counts == [len(events) for events in requests]
    assert await stored_rows(services) == sum(counts)
    assert commits[0] < len(requests)


async def test_a_request_alone_is_written_at_once(chat: TestClient) -> None:
    services = services_of(chat)
    assert await writer_of(services).accept(request(2)) == 2
    assert await stored_rows(services) == 2


async def test_a_redelivery_in_the_same_commit_is_stored_once(chat: TestClient) -> None:
    services = services_of(chat)
    writer = writer_of(services)
    first, again = request(event_id="same"), request(event_id="same")
    counts = await asyncio.gather(writer.accept(first), writer.accept(again))
    assert counts == [1, 0]
    assert await stored_rows(services) == 1
    assert await writer.accept(request(event_id="same")) == 0  # and in a later one


async def test_a_failing_request_fails_alone(chat: TestClient) -> None:
    services = services_of(chat)
    writer = writer_of(services)
    broken = [Incoming("line", None, "u1", EventKind.TEXT, "hi")]  # type: ignore[arg-type]
    results = await asyncio.gather(
        writer.accept(request()),
        writer.accept(broken),
        writer.accept(request(2)),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], Exception)
    assert await stored_rows(services) == 3


async def test_a_client_that_hangs_up_does_not_stop_the_others(chat: TestClient) -> None:
    services = services_of(chat)
    writer = writer_of(services)
    gone = asyncio.create_task(writer.accept(request()))
    staying = asyncio.create_task(writer.accept(request(2)))
    await asyncio.sleep(0)  # both are queued
    gone.cancel()
    assert await staying == 2
    with pytest.raises(asyncio.CancelledError):
        await gone
    # Its events were already on their way: stored, and a redelivery would be dropped.
    assert await stored_rows(services) == 3


async def test_the_worker_waits_for_the_requests_queued_before_it_not_after(
    chat: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """settled(): the embedded worker lets queued webhooks go first, but cannot starve."""
    services = services_of(chat)
    writer = writer_of(services)
    gates: list[asyncio.Event] = []
    real_store = inbox.store

    async def gated_store(db: object, requests: list) -> list[int]:
        gate = asyncio.Event()
        gates.append(gate)
        await gate.wait()
        return await real_store(db, requests)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "store", gated_store)
    first = asyncio.create_task(writer.accept(request()))
    await until(lambda: len(gates) == 1)  # its commit is on its way
    settled = asyncio.create_task(writer.settled())
    later = asyncio.create_task(writer.accept(request()))
    await asyncio.sleep(0.05)
    assert not settled.done()
    gates[0].set()
    await asyncio.wait_for(settled, 10)
    assert first.done() and not later.done()  # `later` came after: not waited for
    await until(lambda: len(gates) == 2)
    gates[1].set()
    assert await later == 1


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")
