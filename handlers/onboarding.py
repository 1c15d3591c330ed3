"""First contact: welcome, language choice and the short privacy notice."""

from __future__ import annotations

from bot.messages import Reply
from bot.storage.models import utcnow
from handlers.base import Turn
from handlers.language import language_buttons


def privacy_notice_due(turn: Turn) -> None:
    """Say once, in the user's language, what is stored and why."""
    if turn.contact.notice_shown_at is None:
        turn.contact.notice_shown_at = utcnow()
        turn.notices.append("privacy_notice")


async def welcome(turn: Turn) -> list[Reply]:
    turn.contact.notice_shown_at = turn.contact.notice_shown_at or utcnow()
    return [
        Reply(f"{turn.ui('welcome')}\n\n{turn.ui('privacy_notice')}"),
        Reply(turn.ui("choose_language"), language_buttons(turn)),
    ]
