"""Access requests: everything stored about one contact, decrypted, as JSON-ready data.

A contact is one person on one platform (the pseudonym is per platform), so an export
covers one platform id. Rows that belong to the person but are not linked to the contact
row are found by the pseudonym too: inbox events (sender) and outbox deliveries
(recipient), including ones left after an erasure for an open case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ScalarResult, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import InvalidToken, Vault, pseudonym
from bot.services import Services
from bot.storage.models import (
    AuditEvent,
    Case,
    Contact,
    Conversation,
    InboxEvent,
    Message,
    OutboxMessage,
)

UNREADABLE = "[cannot be decrypted with the current keys]"
Row = TypeVar("Row")


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _text(vault: Vault, token: bytes | None) -> str | None:
    if not token:
        return None
    try:
        return vault.decrypt_text(token)
    except InvalidToken:
        return UNREADABLE


def _json(vault: Vault, token: bytes | None) -> Any:
    if not token:
        return None
    try:
        return vault.decrypt_json(token)
    except InvalidToken:
        return UNREADABLE


async def _rows(session: AsyncSession, model: type[Row], *where: Any) -> ScalarResult[Row]:
    """The model's rows that match `where`, oldest first (the order they were stored in)."""
    statement = select(model).where(*where).order_by(model.id)  # type: ignore[attr-defined]
    return (await session.execute(statement)).scalars()


async def export_contact(services: Services, platform: str, raw_user_id: str) -> dict[str, Any]:
    """All stored data of one contact (see export_contact_from)."""
    return await export_contact_from(
        services.db, services.vault, services.settings.pseudonym_key, platform, raw_user_id
    )


async def export_contact_from(
    db: async_sessionmaker,
    vault: Vault,
    pseudonym_key: bytes,
    platform: str,
    raw_user_id: str,
) -> dict[str, Any]:
    """{"platform", "found", "contact", "conversations", "cases", "inbox", "outbox",
    "audit"}. `found` is False when nothing at all is stored for that id."""
    alias = pseudonym(pseudonym_key, platform, raw_user_id)
    result: dict[str, Any] = {
        "platform": platform,
        "found": False,
        "contact": None,
        "conversations": [],
        "cases": [],
        "inbox": [],
        "outbox": [],
        "audit": [],
    }
    async with db() as session:
        contact = (
            await session.execute(
                select(Contact).where(Contact.platform == platform, Contact.pseudonym == alias)
            )
        ).scalar_one_or_none()
        if contact is not None:
            result["contact"] = {
                "id": contact.id,
                "platform": contact.platform,
                "address": _json(vault, contact.address_enc),
                "language": contact.language,
                "language_chosen": contact.language_chosen,
                "uses_zawgyi": contact.uses_zawgyi,
                "province": contact.province,
                "sector": contact.sector,
                "privacy_notice_shown_at": _time(contact.notice_shown_at),
                "consent_at": _time(contact.consent_at),
                "consent_version": contact.consent_version,
                "active": contact.active,
                "erase_requested_at": _time(contact.erase_requested_at),
                "created_at": _time(contact.created_at),
                "last_seen_at": _time(contact.last_seen_at),
            }
            conversations = await _rows(
                session, Conversation, Conversation.contact_id == contact.id
            )
            for conversation in conversations:
                messages = await _rows(session, Message, Message.conversation_id == conversation.id)
                result["conversations"].append(
                    {
                        "id": conversation.id,
                        "handler": conversation.handler,
                        "flow": conversation.flow,
                        "updated_at": _time(conversation.updated_at),
                        "messages": [
                            {
                                "at": _time(m.created_at),
                                "direction": m.direction,
                                "sender": m.sender,
                                "text": _text(vault, m.text_enc),
                                "intent": m.intent,
                                "language": m.language,
                            }
                            for m in messages
                        ],
                    }
                )
            cases = await _rows(session, Case, Case.contact_id == contact.id)
            result["cases"] = [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "topic": c.intent,
                    "urgent": c.urgent,
                    "status": c.status,
                    "organisation_id": c.organisation_id,
                    "province": c.province,
                    "language": c.language,
                    "sector": c.sector,
                    "details": _json(vault, c.details_enc),
                    "category": c.category,
                    "outcome": c.outcome,
                    "created_at": _time(c.created_at),
                    "claimed_at": _time(c.claimed_at),
                    "closed_at": _time(c.closed_at),
                }
                for c in cases
            ]
            audit = await _rows(
                session,
                AuditEvent,
                or_(
                    AuditEvent.target == f"contact:{contact.id}",
                    AuditEvent.target.in_([f"case:{c['id']}" for c in result["cases"]]),
                ),
            )
            result["audit"] = [
                {"at": _time(a.at), "actor": a.actor, "action": a.action, "target": a.target}
                for a in audit
            ]
        inbox_rows = await _rows(
            session, InboxEvent, InboxEvent.platform == platform, InboxEvent.sender == alias
        )
        result["inbox"] = [
            {
                "received_at": _time(r.received_at),
                "state": r.state,
                "event": _json(vault, r.payload_enc),
            }
            for r in inbox_rows
        ]
        outbox_rows = await _rows(
            session,
            OutboxMessage,
            OutboxMessage.platform == platform,
            OutboxMessage.recipient == alias,
        )
        result["outbox"] = [
            {
                "created_at": _time(r.created_at),
                "sent_at": _time(r.sent_at),
                "state": r.state,
                "sender": r.sender,
                "delivery": _json(vault, r.payload_enc),
            }
            for r in outbox_rows
        ]
    result["found"] = bool(
        result["contact"] or result["inbox"] or result["outbox"] or result["cases"]
    )
    return result
