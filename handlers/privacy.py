"""Erasure on request (delete_my_data and /delete, confirmed first) and the quick exit."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Vault
from bot.messages import Reply
from bot.retention import forget_queue_copies
from bot.storage.models import AuditEvent, Case, Contact, Conversation, Message, utcnow
from handlers.base import Turn, on_intent, on_postback, postback_argument


@on_intent("delete_my_data")
@on_postback("delete")
async def delete_my_data(turn: Turn) -> list[Reply]:
    if postback_argument(turn) == "confirm":
        return await erase(turn)
    buttons = (turn.button("delete_yes", "delete:confirm"), turn.button("delete_no", "menu"))
    return [Reply(turn.ui("delete_confirm_ask"), buttons)]


async def erase_contact(
    session: AsyncSession, contact: Contact, actor: str, *, vault: Vault
) -> None:
    """Delete the contact; the database cascades to conversations and messages, and cases
    keep no link to the person."""
    session.add(AuditEvent(actor=actor, action="erase_contact", target=f"contact:{contact.id}"))
    await forget_queue_copies(session, vault, contact.platform, contact.pseudonym)
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
        await erase_contact(session, contact, actor="contact", vault=turn.services.vault)
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
    await forget_queue_copies(session, turn.services.vault, contact.platform, contact.pseudonym)
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


# Said by someone who must hide the chat now (docs/privacy.md "Quick exit"): exact matches
# only, so "exit permit" stays a question.
QUICK_EXIT_WORDS = frozenset({"quick exit", "exit", "/exit", "quickexit"})


def is_quick_exit(text: str) -> bool:
    return text.casefold().strip(" .!") in QUICK_EXIT_WORDS


@on_postback("exit")
async def quick_exit(turn: Turn) -> list[Reply]:
    """A short neutral reply that says nothing about the topic; any flow is dropped."""
    turn.conversation.flow = None
    turn.notices.clear()
    return [Reply(turn.ui("quick_exit"))]
