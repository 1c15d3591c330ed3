"""A claimed batch is handled with a fixed number of statements, whatever its size: the
first reads and the writes are done once for all its events (bot/batch.py). Each event
still gets exactly one reply, and its conversation logs the question before the answer.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func, select

from bot import batch as batch_module
from bot.crypto import pseudonym
from bot.inbox import InboxWriter
from bot.messages import EventKind, Incoming, Reply
from bot.outbox import Recipient, enqueue
from bot.services import Services
from bot.storage.models import Conversation, InboxEvent, Message, OutboxMessage, utcnow
from bot.worker import Worker
from tests.support import chat_client, services_of

USERS = [f"batch-{n}" for n in range(12)]


@pytest.fixture
async def chat_one_transaction(database_url: str) -> AsyncIterator[TestClient]:
    # However slow the machine, a batch is handled in one transaction (the split after
    # `worker.batch_seconds` would add statements of its own).
    async with chat_client(database_url, BOT__WORKER__BATCH_SECONDS="60") as client:
        yield client


def button(user_id: str, payload: str) -> Incoming:
    return Incoming(
        platform="webchat",
        event_id=uuid.uuid4().hex,
        user_id=user_id,
        kind=EventKind.POSTBACK,
        payload=payload,
        occurred_at=utcnow(),
    )


async def drained_statements(services: Services, users: list[str], payload: str) -> int:
    """One button from each user, stored together; the statements of the drain."""
    writer = InboxWriter(services.db, services.vault, services.settings.pseudonym_key)
    await asyncio.gather(*(writer.accept([button(user, payload)]) for user in users))
    statements = 0

    def on_execute(*_args: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(services.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        await Worker(services).drain()
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", on_execute)
    return statements


async def test_a_batch_of_twelve_costs_the_statements_of_a_batch_of_four(
    chat_one_transaction: TestClient,
) -> None:
    services = services_of(chat_one_transaction)
    await drained_statements(services, USERS, "menu")  # first contact: conversations start
    for_four = await drained_statements(services, USERS[:4], "menu")
    for_twelve = await drained_statements(services, USERS, "menu")
    assert for_four == for_twelve

    async with services.db() as session:
        handled = await session.scalar(select(func.count()).select_from(InboxEvent))
        replies = await session.scalar(select(func.count()).select_from(OutboxMessage))
        keys = await session.scalar(
            select(func.count(func.distinct(OutboxMessage.idempotency_key)))
        )
        conversations = (await session.scalars(select(Conversation.id))).all()
        logs = [
            (
                await session.scalars(
                    select(Message.direction)
                    .where(Message.conversation_id == conversation)
                    .order_by(Message.id)
                )
            ).all()
            for conversation in conversations
        ]
    assert handled == replies == keys == 28
    assert len(conversations) == 12
    # 3 buttons from the first four people, 2 from the others: question, answer, in order.
    assert sorted(len(log) for log in logs) == [4] * 8 + [6] * 4
    assert all(log == ["in", "out"] * (len(log) // 2) for log in logs)


async def test_a_reply_behind_a_waiting_delivery_waits_and_the_others_of_its_batch_are_sent(
    chat_one_transaction: TestClient,
) -> None:
    """The batch's outbox rows go in as one executemany, the waiting one first."""
    services = services_of(chat_one_transaction)
    key = services.settings.pseudonym_key
    users = USERS[:4]
    recipients = [pseudonym(key, "webchat", user) for user in users]
    async with services.db.begin() as session:
        earlier = Recipient(recipients[0], users[0], {}, "en", contact_id=None)
        await enqueue(
            session,
            services.vault,
            key="earlier",
            platform="webchat",
            recipient=earlier,
            conversation_id=None,
            replies=[Reply("An earlier reply, still waiting.")],
        )
    writer = InboxWriter(services.db, services.vault, key)
    for user in users:  # in this order: the waiting person's reply comes first
        await writer.accept([button(user, "menu")])
    assert await Worker(services).process_inbox_once() == len(users)

    async with services.db() as session:
        rows = (await session.execute(select(OutboxMessage.recipient, OutboxMessage.state))).all()
        logged = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "out")
        )
    states = {recipient: sorted(s for r, s in rows if r == recipient) for recipient in recipients}
    assert states[recipients[0]] == ["pending", "pending"]
    assert all(states[recipient] == ["sent"] for recipient in recipients[1:])
    assert logged == len(users) - 1  # a reply is logged once delivered


async def test_a_transaction_cut_by_its_deadline_does_not_read_the_rest_again_and_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no time at all (`worker.batch_seconds` 0), each transaction handles one event.
    The first takes on the whole claim and reads it; the next ones take on one event each,
    so ten events are read 10 + 9 times, not 10 + 9 + ... + 1."""
    read: list[int] = []
    contacts_for = batch_module.contacts_for

    async def counting(session, vault, key, events):  # type: ignore[no-untyped-def]
        read.append(len(events))
        return await contacts_for(session, vault, key, events)

    monkeypatch.setattr(batch_module, "contacts_for", counting)
    async with chat_client(database_url, BOT__WORKER__BATCH_SECONDS="0") as client:
        services = services_of(client)
        users = USERS[:10]
        writer = InboxWriter(services.db, services.vault, services.settings.pseudonym_key)
        await asyncio.gather(*(writer.accept([button(user, "menu")]) for user in users))
        await Worker(services).drain()
        async with services.db() as session:
            replies = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert replies == len(users)
    assert read == [10, 1, 1, 1, 1, 1, 1, 1, 1, 1]
