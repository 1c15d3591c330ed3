"""First contact: welcome, language choice and the short privacy notice."""

from __future__ import annotations

from bot.messages import Reply
from bot.storage.models import utcnow
from handlers.base import Turn
from handlers.menus import language_buttons


def privacy_notice_due(turn: Turn) -> None:
    """Say once, in the user's language, what is stored and why."""
    if turn.contact.notice_shown_at is None:
        turn.contact.notice_shown_at = utcnow()
        turn.notices.append("privacy_notice")


async def welcome(turn: Turn) -> list[Reply]:
    # Before the language is known the notice goes out in English; it counts as shown only
    # in a language the person chose or wrote in, so the first message repeats it then.
    if turn.contact.language:
        turn.contact.notice_shown_at = turn.contact.notice_shown_at or utcnow()
    return [
        Reply(f"{turn.ui('welcome')}\n\n{turn.ui('privacy_notice')}"),
        Reply(turn.ui("choose_language"), language_buttons(turn)),
    ]
