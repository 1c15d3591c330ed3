"""Choosing the language: the user's explicit choice always wins over detection."""

from __future__ import annotations

from bot.messages import Reply
from handlers.base import Turn, on_intent, on_postback, postback_argument
from handlers.menus import language_buttons, show_menu
from handlers.onboarding import privacy_notice_due
from nlu.types import LANGUAGES


@on_intent("change_language")
@on_postback("language")
async def ask_language(turn: Turn) -> list[Reply]:
    return [Reply(turn.ui("choose_language"), language_buttons(turn))]


@on_postback("lang")
async def set_language(turn: Turn) -> list[Reply]:
    chosen = postback_argument(turn)
    if chosen not in LANGUAGES:
        return await ask_language(turn)
    turn.contact.language = chosen
    turn.contact.language_chosen = True
    turn.language = chosen
    # Someone who only taps buttons still reads the privacy notice in their language.
    privacy_notice_due(turn)
    return [Reply(turn.ui("language_set")), *await show_menu(turn)]
