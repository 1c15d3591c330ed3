"""Erasure on request: delete_my_data and /delete, confirmed first."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Reply
from bot.storage.models import AuditEvent, Case, Contact, Conversation, Message, utcnow
from handlers.base import Turn, on_intent, on_postback, postback_argument


@on_intent("delete_my_data")
@on_postback("delete")
async def delete_my_data(turn: Turn) -> list[Reply]:
    if postback_argument(turn) == "confirm":
        return await erase(turn)
    buttons = (turn.button("delete_yes", "delete:confirm"), turn.button("delete_no", "menu"))
    return [Reply(turn.ui("delete_confirm_ask"), buttons)]


async def erase_contact(session: AsyncSession, contact: Contact, actor: str) -> None:
    """Delete the contact; the database cascades to conversations and messages, and cases
    keep no link to the person."""
    session.add(AuditEvent(actor=actor, action="erase_contact", target=f"contact:{contact.id}"))
    await session.delete(contact)
    await session.flush()


async def erase(turn: Turn) -> list[Reply]:
    session, contact = turn.session, turn.contact
    open_case = (
        await session.execute(
            select(Case).where(Case.contact_id == contact.id, Case.status != "closed").limit(1)
        )
    ).scalar_one_or_none()
    turn.erased = True
    if open_case is None:
        await erase_contact(session, contact, actor="contact")
        return [Reply(turn.ui("deleted"))]
    # The helper of the open case still needs the case conversation and a way to reply;
    # everything else goes now, the rest when the case closes (handlers.escalation).
    await session.execute(
        delete(Message).where(
            Message.conversation_id.in_(
                select(Conversation.id).where(
                    Conversation.contact_id == contact.id,
                    Conversation.id != open_case.conversation_id,
                )
            )
        )
    )
    contact.province = contact.sector = None
    contact.erase_requested_at = utcnow()
    session.add(
        AuditEvent(
            actor="contact",
            action="erase_requested",
            target=f"contact:{contact.id}",
            detail={"kept_for_case": open_case.id},
        )
    )
    return [Reply(turn.ui("deleted_kept_for_case"))]
