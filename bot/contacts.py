"""Finding the contact and the open conversation for an incoming event."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Vault, pseudonym
from bot.messages import Incoming
from bot.outbox import Recipient
from bot.storage.leases import upsert
from bot.storage.models import Contact, Conversation, utcnow


async def contact_for(session: AsyncSession, vault: Vault, key: bytes, event: Incoming) -> Contact:
    """The contact, created on first contact; locked so one contact's turns run one by one.

    One upsert (which takes the row lock, like SELECT ... FOR UPDATE) instead of a select
    and an update: the latest address and last-seen time are written either way.
    """
    values = {
        "platform": event.platform,
        "pseudonym": pseudonym(key, event.platform, event.user_id),
        "address_enc": vault.encrypt_json({"user_id": event.user_id, "address": event.address}),
        "last_seen_at": utcnow(),
    }
    return await upsert(
        session, Contact, values, ["platform", "pseudonym"], ["address_enc", "last_seen_at"]
    )


# Built once, run with parameters (bot.storage.leases says why).
LATEST_CONVERSATION = (
    select(Conversation)
    .where(Conversation.contact_id == bindparam("contact_id"))
    .order_by(Conversation.id.desc())
    .limit(1)
)


async def conversation_for(session: AsyncSession, contact: Contact) -> Conversation:
    parameters = {"contact_id": contact.id}
    conversation = (await session.execute(LATEST_CONVERSATION, parameters)).scalar_one_or_none()
    if conversation is None:
        conversation = Conversation(contact_id=contact.id, handler="bot")
        session.add(conversation)
        await session.flush()
    return conversation


def recipient_of(vault: Vault, contact: Contact) -> Recipient:
    stored = vault.decrypt_json(contact.address_enc) if contact.address_enc else {}
    return Recipient(
        pseudonym=contact.pseudonym,
        user_id=stored.get("user_id", ""),
        address=stored.get("address", {}),
        language=contact.language or "en",
        contact_id=contact.id,
        last_seen=contact.last_seen_at,
    )
