"""Helpers for the privacy, security and fault tests: a web chat client and the database."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.crypto import pseudonym
from bot.services import Services
from bot.storage.models import Case, Contact, InboxEvent, Message, OutboxMessage
from tests import support


def chat_client(database_url: str, **extra: str) -> AbstractAsyncContextManager[TestClient]:
    # The worker the tests drain runs no retention job of its own: they run it themselves,
    # when they mean to.
    return support.chat_client(database_url, BOT__PRIVACY__RETENTION_INTERVAL_MINUTES="0", **extra)


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
