"""What the worker does with a channel's SendResult: a send that may have reached the
platform is dead-lettered as "unknown" and never repeated; a retry resumes after the
parts the platform already took. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import ClassVar

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.channels.base import Channel, SendResult
from bot.messages import Delivery, Incoming, Reply
from bot.outbox import Recipient, enqueue
from bot.services import Services
from bot.storage.models import OutboxMessage, utcnow
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


async def outbox_row(services: Services, *results: SendResult) -> ScriptedChannel:
    channel = ScriptedChannel(*results)
    services.channels["telegram"] = channel
    recipient = Recipient("pseudonym", "42", {"chat_id": 42}, "en", None)
    async with services.db.begin() as session:
        await enqueue(
            session,
            services.vault,
            key="in:1",
            platform="telegram",
            recipient=recipient,
            conversation_id=None,
            replies=[Reply("one"), Reply("two"), Reply("three")],
        )
    return channel


async def send_round(services: Services) -> OutboxMessage:
    """One outbox pass with any backoff already over; the row afterwards."""
    # Imported here: `import bot.worker` first of all hits an import cycle on main
    # (bot.broadcasts -> bot.console -> handlers -> bot.broadcasts); the app imports it later.
    from bot.worker import Worker

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
