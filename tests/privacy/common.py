"""Helpers for the privacy, security and fault tests: a web chat client and the database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.crypto import pseudonym
from bot.outbox import decode_payload
from bot.services import Services
from bot.storage.models import Case, Contact, InboxEvent, Message, OutboxMessage
from bot.web import SERVICES, create_app
from bot.worker import Worker
from tests.support import dead_nlu_url, make_settings


@asynccontextmanager
async def chat_client(database_url: str, **extra: str) -> AsyncIterator[TestClient]:
    settings = make_settings(
        database_url,
        NLU_URL=dead_nlu_url(),
        BOT__SERVICE__EMBEDDED_WORKER="false",
        BOT__PRIVACY__RETENTION_INTERVAL_MINUTES="0",
        **extra,
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


def services_of(client: TestClient) -> Services:
    return client.server.app[SERVICES]


async def say(client: TestClient, session: str, **body: object) -> int:
    body = {"session": session, "id": str(uuid.uuid4()), **body}
    response = await client.post("/chat/messages", json=body)
    return response.status


async def turn(client: TestClient, session: str, **body: object) -> list[str]:
    """Send one message, let the worker handle it, return the texts of the new replies."""
    services = services_of(client)
    async with services.db() as db:
        before = int(await db.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))))
    assert await say(client, session, **body) == 200
    await Worker(services).drain()
    return await replies_to(services, session, after=before)


async def replies_to(services: Services, session: str, after: int = 0) -> list[str]:
    recipient = pseudonym(services.settings.pseudonym_key, "webchat", session)
    async with services.db() as db:
        rows = (
            await db.execute(
                select(OutboxMessage.payload_enc)
                .where(OutboxMessage.recipient == recipient, OutboxMessage.id > after)
                .order_by(OutboxMessage.id)
            )
        ).scalars()
        return [
            r.text for row in rows if row for r in decode_payload(services.vault, row)["replies"]
        ]


async def contact_of(services: Services, session: str) -> Contact | None:
    alias = pseudonym(services.settings.pseudonym_key, "webchat", session)
    async with services.db() as db:
        return (
            await db.execute(select(Contact).where(Contact.pseudonym == alias))
        ).scalar_one_or_none()


async def everything_decrypted(services: Services) -> list[Any]:
    """Every encrypted value in the database, decrypted, plus every plain column: what an
    attacker holding the database and the keys would read."""
    vault = services.vault
    found: list[Any] = []
    async with services.db() as db:
        for model, column in (
            (Contact, Contact.address_enc),
            (Message, Message.text_enc),
            (InboxEvent, InboxEvent.payload_enc),
            (OutboxMessage, OutboxMessage.payload_enc),
            (Case, Case.details_enc),
        ):
            for row in (await db.execute(select(model))).scalars():
                token = getattr(row, column.key)
                if token:
                    found.append(vault.decrypt_text(token))
                plain = {k: v for k, v in vars(row).items() if not k.startswith("_")}
                plain.pop(column.key, None)
                found.append(plain)
    return found
