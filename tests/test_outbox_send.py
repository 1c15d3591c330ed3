"""What the worker does with a channel's SendResult: a send that may have reached the
platform is dead-lettered as "unknown" and never repeated; a retry resumes after the
parts the platform already took. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Channel, SendResult
from bot.messages import Delivery, Incoming, Reply
from bot.outbox import Recipient, enqueue, expire_interrupted
from bot.services import Services
from bot.storage.models import OutboxMessage, utcnow
from bot.worker import IDEMPOTENT_PLATFORMS, Worker
from tests.support import services_of


class ScriptedChannel(Channel):
    """Answers each send with the next scripted result and keeps what it was given."""

    name: ClassVar[str] = "telegram"

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)
        self.deliveries: list[Delivery] = []

    async def verify(self, request: web.Request, body: bytes) -> None:
        raise AssertionError("not a webhook")

    def parse(self, body: bytes) -> list[Incoming]:
        raise AssertionError("not a webhook")

    async def send(self, delivery: Delivery) -> SendResult:
        self.deliveries.append(delivery)
        return self.results.pop(0)


async def queue_reply(
    session: AsyncSession,
    services: Services,
    platform: str,
    replies: list[Reply],
    reply_token: str | None = None,
) -> None:
    """One outbox row (the reply to inbox event 1) to a test recipient."""
    await enqueue(
        session,
        services.vault,
        key="in:1",
        platform=platform,
        recipient=Recipient("pseudonym", "42", {"chat_id": 42}, "en", None),
        conversation_id=None,
        replies=replies,
        reply_token=reply_token,
    )


async def outbox_row(services: Services, *results: SendResult) -> ScriptedChannel:
    channel = ScriptedChannel(*results)
    services.channels["telegram"] = channel
    async with services.db.begin() as session:
        await queue_reply(
            session, services, "telegram", [Reply("one"), Reply("two"), Reply("three")]
        )
    return channel


async def send_round(services: Services) -> OutboxMessage:
    """One outbox pass with any backoff already over; the row afterwards."""
    async with services.db.begin() as session:
        await session.execute(update(OutboxMessage).values(available_at=utcnow()))
    await Worker(services).send_outbox_once()
    async with services.db() as session:
        return (await session.execute(select(OutboxMessage))).scalar_one()


async def test_uncertain_send_is_dead_lettered_and_never_repeated(chat: TestClient) -> None:
    services = services_of(chat)
    timeout = SendResult(ok=False, uncertain=True, reason="telegram_timeout", parts_sent=1)
    channel = await outbox_row(services, timeout)
    row = await send_round(services)
    assert (row.state, row.last_error, row.parts_sent) == ("unknown", "telegram_timeout", 1)
    await send_round(services)
    assert len(channel.deliveries) == 1


async def test_retry_resumes_after_the_parts_the_platform_took(chat: TestClient) -> None:
    services = services_of(chat)
    channel = await outbox_row(
        services,
        SendResult(ok=False, reason="telegram_network: 502", parts_sent=2),
        SendResult(ok=False, retry_after=1.0, reason="telegram_429"),  # counts no parts
        SendResult(ok=True, parts_sent=3),
    )
    assert (await send_round(services)).parts_sent == 2
    assert (await send_round(services)).parts_sent == 2  # progress never goes back
    assert (await send_round(services)).state == "sent"
    assert [d.parts_sent for d in channel.deliveries] == [0, 2, 2]


@pytest.mark.parametrize(
    ("platform", "reply_token", "parts_sent", "after"),
    [
        ("line", None, 0, "pending"),  # push only: the retry key makes a resend safe
        ("line", "token", 0, "unknown"),  # the first part may have gone by reply token
        ("line", "token", 1, "pending"),  # the token's part was taken; the rest are pushes
        ("webchat", None, 0, "pending"),
        ("telegram", None, 0, "unknown"),  # no idempotent send at all
    ],
)
async def test_a_send_interrupted_by_a_crash_is_retried_only_where_safe(
    chat: TestClient,
    platform: str,
    reply_token: str | None,
    parts_sent: int,
    after: str,
) -> None:
    services = services_of(chat)
    async with services.db.begin() as session:
        await queue_reply(session, services, platform, [Reply("one")], reply_token)
        # The sender died mid-call: the row stays "sending" after its lease ran out.
        await session.execute(
            update(OutboxMessage).values(
                state="sending",
                parts_sent=parts_sent,
                locked_until=utcnow() - timedelta(seconds=1),
            )
        )
    async with services.db.begin() as session:
        assert await expire_interrupted(session, IDEMPOTENT_PLATFORMS) == 1
    async with services.db() as session:
        row = (await session.execute(select(OutboxMessage))).scalar_one()
    assert row.state == after
