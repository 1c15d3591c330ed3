"""Choosing the language: the user's explicit choice always wins over detection."""

from __future__ import annotations

from bot.messages import Button, Reply
from handlers.base import Turn, on_intent, on_postback, postback_argument
from handlers.menus import show_menu
from nlu.types import LANGUAGES


def language_buttons(turn: Turn) -> tuple[Button, ...]:
    # Each language name is written in its own script, the same in every ui file.
    return tuple(
        Button(turn.content.ui(lang, f"lang_{lang}"), f"lang:{lang}") for lang in LANGUAGES
    )


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
    return [Reply(turn.ui("language_set")), *await show_menu(turn)]
