"""Finding the contacts and their open conversations for incoming events."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Vault, pseudonym
from bot.messages import Incoming
from bot.outbox import Recipient
from bot.storage.leases import upsert_many
from bot.storage.models import Contact, Conversation, utcnow

SenderKey = tuple[str, str]  # (platform, user id) of an incoming event


def sender_of(event: Incoming) -> SenderKey:
    return event.platform, event.user_id


async def contacts_for(
    session: AsyncSession, vault: Vault, key: bytes, events: list[Incoming]
) -> dict[SenderKey, Contact]:
    """The contacts of these events' senders, created on first contact, in one upsert.

    The upsert takes the rows' locks (as SELECT ... FOR UPDATE would), so one contact's
    turns run one by one; the rows go in pseudonym order, so two transactions that share
    contacts take their locks in the same order. The latest address and last-seen time are
    written either way.
    """
    now = utcnow()
    rows: dict[SenderKey, dict] = {}
    for event in events:
        rows[sender_of(event)] = {
            "platform": event.platform,
            "pseudonym": pseudonym(key, event.platform, event.user_id),
            "address_enc": vault.encrypt_json({"user_id": event.user_id, "address": event.address}),
            "last_seen_at": now,
        }
    senders = {(row["platform"], row["pseudonym"]): sender for sender, row in rows.items()}
    contacts = await upsert_many(
        session,
        Contact,
        sorted(rows.values(), key=lambda row: row["pseudonym"]),
        ["platform", "pseudonym"],
        ["address_enc", "last_seen_at"],
    )
    return {senders[(contact.platform, contact.pseudonym)]: contact for contact in contacts}


# Built once, run with parameters (bot.storage.leases says why).
LATEST_CONVERSATIONS = select(Conversation).where(
    Conversation.id.in_(
        select(func.max(Conversation.id))
        .where(Conversation.contact_id.in_(bindparam("contact_ids", expanding=True)))
        .group_by(Conversation.contact_id)
    )
)


async def conversations_for(
    session: AsyncSession, contact_ids: list[int]
) -> dict[int, Conversation]:
    """Each contact's latest conversation, by contact id; one is started where none is."""
    if not contact_ids:
        return {}
    found = await session.scalars(LATEST_CONVERSATIONS, {"contact_ids": contact_ids})
    conversations = {conversation.contact_id: conversation for conversation in found}
    started = [
        Conversation(contact_id=contact_id, handler="bot")
        for contact_id in contact_ids
        if contact_id not in conversations
    ]
    if started:
        session.add_all(started)
        await session.flush()  # their ids, for the rows that point to them
        conversations.update((conversation.contact_id, conversation) for conversation in started)
    return conversations


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
